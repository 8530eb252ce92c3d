import { afterAll, beforeAll } from 'vitest';
import { RedisEngine } from '../../../src/signaling/engine/redis.js';
import { RedisProcess } from '../../helpers/redis.js';
import { describeEngineConformance } from './conformance.js';

let redis: RedisProcess;
beforeAll(async () => {
  redis = await RedisProcess.start();
});
afterAll(async () => {
  await redis?.stop();
});

for (const shardedPubSub of [true, false]) {
  describeEngineConformance(
    `Redis (${shardedPubSub ? 'sharded' : 'global'} pub/sub), each instance with its own connections`,
    (count) =>
      Promise.all(
        Array.from({ length: count }, (_, i) =>
          RedisEngine.start({ url: redis.url, instanceId: `r${i}`, shardedPubSub }),
        ),
      ),
  );
}
