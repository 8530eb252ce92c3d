import { MemoryEngine, MemoryHub } from '../../../src/signaling/engine/memory.js';
import { describeEngineConformance } from './conformance.js';

describeEngineConformance('in-memory, instances on one hub', async (count) => {
  const hub = new MemoryHub();
  return Array.from({ length: count }, (_, i) => new MemoryEngine({ hub, instanceId: `m${i}` }));
});
