export * from './engine.js';
export { MemoryEngine, MemoryHub } from './memory.js';
export { EngineMetrics } from './metrics.js';
export { RedisEngine, type RedisEngineOptions } from './redis.js';
