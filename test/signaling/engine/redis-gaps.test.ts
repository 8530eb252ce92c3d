import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RedisEngine, type RedisEngineOptions } from '../../../src/signaling/engine/redis.js';
import { RedisProcess } from '../../helpers/redis.js';
import { ChildInstance } from './child-instance.js';
import { type Instance, roomName, seat } from './conformance.js';
import { channelId, Inbox, relay } from './inbox.js';

let redis: RedisProcess;
let admin: Redis;
let engines: RedisEngine[] = [];
const children: ChildInstance[] = [];

beforeAll(async () => {
  redis = await RedisProcess.start();
  admin = redis.admin();
});
afterEach(async () => {
  for (const c of children.splice(0)) await c.kill();
  await Promise.all(engines.map((e) => e.close()));
  engines = [];
});
afterAll(async () => {
  await redis?.stop();
});

async function instance(
  instanceId: string,
  options: Partial<RedisEngineOptions> = {},
): Promise<Instance & { engine: RedisEngine }> {
  const engine = await RedisEngine.start({ url: redis.url, instanceId, ...options });
  engines.push(engine);
  return { engine, inbox: new Inbox(engine) };
}

async function counter(
  c: { get(): Promise<{ values: Array<{ value: number; labels: object }> }> },
  labels = {},
) {
  const { values } = await c.get();
  return values.find((v) => JSON.stringify(v.labels) === JSON.stringify(labels))?.value ?? 0;
}

/**
 * Writes one event the way the engine's scripts do (docs/cluster.md, "Room events") but does not publish
 * it: a live event lost on its way, which only the sequence can reveal.
 */
function hide(room: string, from: string, to: string, frame: string, maxlen = 128): Promise<unknown> {
  return admin.eval(
    `local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
     local epoch = redis.call('HGET', KEYS[1], 'epoch')
     local entry = 'v1\\n' .. epoch .. '\\n' .. seq .. '\\nmsg\\nother\\n' .. ARGV[1] .. '\\n' .. ARGV[2] .. '\\n' .. ARGV[3]
     redis.call('XADD', KEYS[2], 'MAXLEN', ARGV[4], seq .. '-0', 'p', entry)
     return seq`,
    2,
    `engage:{room:${room}}:meta`,
    `engage:{room:${room}}:log`,
    from,
    to,
    frame,
    maxlen,
  );
}

async function killSubscriber(instanceId: string): Promise<void> {
  const list = (await admin.call('CLIENT', 'LIST')) as string;
  const line = list.split('\n').find((l) => l.includes(` name=engage:${instanceId}:sub `));
  const id = line?.match(/^id=(\d+)/)?.[1];
  if (!id) throw new Error(`no subscriber connection for ${instanceId} in CLIENT LIST`);
  await admin.call('CLIENT', 'KILL', 'ID', id);
}

describe("Redis engine: gaps in a room's sequence", () => {
  it('a live event lost on its way is noticed at the next one and filled from the stream, in order', async () => {
    const a = await instance('a');
    const b = await instance('b');
    const room = roomName();
    const alice = await seat(a, room, 'alice');
    const bob = await seat(b, room, 'bob');
    expect(await alice.engine.sendTo(room, alice.channel, bob.channel, relay('first'))).toEqual({ ok: true });
    await bob.at.inbox.received(bob.channel, 'first');
    await hide(room, alice.channel, bob.channel, 'hidden one');
    await hide(room, alice.channel, '*', 'hidden two');
    expect(await alice.engine.sendTo(room, alice.channel, bob.channel, relay('after'))).toEqual({ ok: true });
    await bob.at.inbox.received(bob.channel, 'after');
    expect(bob.at.inbox.texts(bob.channel)).toEqual(['first', 'hidden one', 'hidden two', 'after']);
    const replayed = bob.at.inbox.byChannel.get(bob.channel)!.map((r) => r.delivery.replayed);
    expect(replayed).toEqual([false, true, true, true]);
    // alice's instance follows the room too: it filled the broadcast for her.
    await alice.at.inbox.received(alice.channel, 'hidden two');
    expect(await counter(b.engine.metrics.gaps, { outcome: 'detected' })).toBe(1);
    expect(await counter(b.engine.metrics.gaps, { outcome: 'filled' })).toBe(1);
    expect(await counter(b.engine.metrics.gaps, { outcome: 'lost' })).toBe(0);
    expect(b.inbox.resyncs).toEqual([]);
  });

  it('a subscriber connection killed by Redis reads back what was published while it was away', async () => {
    const a = await instance('a');
    const b = await instance('b');
    const room = roomName();
    const alice = await seat(a, room, 'alice');
    const bob = await seat(b, room, 'bob');
    await killSubscriber('b');
    const sent = [];
    for (let i = 0; i < 20; i++)
      sent.push(alice.engine.sendTo(room, alice.channel, bob.channel, relay(`m${i}`)));
    expect((await Promise.all(sent)).every((r) => r.ok)).toBe(true);
    await bob.at.inbox.received(bob.channel, 'm19');
    expect(bob.at.inbox.texts(bob.channel)).toEqual(Array.from({ length: 20 }, (_, i) => `m${i}`));
    // At least the first was published before b's subscriber could be back (it waits 100 ms to redial).
    expect(await counter(b.engine.metrics.replayed)).toBeGreaterThan(0);
    expect(b.inbox.resyncs).toEqual([]);
  });

  it('an instance following many rooms reads every one back after its subscriber was cut, even with few commands in flight', async () => {
    const a = await instance('a');
    const b = await instance('b', { maxInFlight: 8 });
    const pairs = [];
    for (let i = 0; i < 120; i++) {
      const room = roomName();
      pairs.push({ room, alice: await seat(a, room, `alice${i}`), bob: await seat(b, room, `bob${i}`) });
    }
    await killSubscriber('b');
    // One event per room while b is away: each room is quiet afterwards, so only b's read-back finds it.
    await Promise.all(
      pairs.map((p) => p.alice.engine.sendTo(p.room, p.alice.channel, p.bob.channel, relay(`for ${p.room}`))),
    );
    await Promise.all(pairs.map((p) => b.inbox.received(p.bob.channel, `for ${p.room}`, 20_000)));
    expect(b.inbox.resyncs).toEqual([]);
  }, 40_000);

  it('a subscriber that stops reading is cut off by Redis (output buffer limit) and catches up from the stream', async () => {
    await admin.config('SET', 'client-output-buffer-limit', 'pubsub 256kb 0 0');
    const a = await instance('a', { streamLength: 512 });
    const room = roomName();
    const alice = await seat(a, room, 'alice');
    const { child, ready } = await ChildInstance.start({
      url: redis.url,
      instanceId: 'slow',
      members: [{ room, name: 'sloth' }],
      // Paused for as long as the flood takes: a long ttl keeps it from being swept meanwhile.
      engine: { streamLength: 512, instanceTtlMs: 60_000 },
    });
    children.push(child);
    const sloth = ready.members[0].channel as string;
    child.pause();
    // 24 MB of events for a reader that does not read: more than the socket buffers hold, so Redis's own
    // buffer for it passes the limit and Redis drops the connection (what channels_redis loses silently).
    const big = 'x'.repeat(60_000);
    for (let i = 0; i < 400; i++) {
      const r = await alice.engine.sendTo(
        room,
        alice.channel,
        sloth,
        relay(`${String(i).padStart(3, '0')}:${big}`),
      );
      expect(r.ok).toBe(true);
    }
    // Redis frees an over-limit client asynchronously; wait until it is gone.
    for (
      let tries = 0;
      ((await admin.call('CLIENT', 'LIST')) as string).includes('name=engage:slow:sub ');
      tries++
    ) {
      if (tries > 100) throw new Error('Redis never cut off the subscriber that stopped reading');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    child.resume();
    await child.next(
      (m) => m.type === 'delivery' && m.text.startsWith('399:'),
      'the slow instance to deliver the last event',
      30_000,
    );
    const got = child.messages.filter(
      (m) => m.type === 'delivery' && m.to.includes(sloth) && /^\d{3}:/.test(m.text),
    );
    expect(got.map((m) => Number(m.text.slice(0, 3)))).toEqual(Array.from({ length: 400 }, (_, i) => i));
    const replayed = got.filter((m) => m.replayed).length;
    console.info(
      `slow subscriber cut off: ${got.length - replayed} events live, ${replayed} from the stream`,
    );
    expect(replayed).toBeGreaterThan(0);
    expect(child.messages.filter((m) => m.type === 'resync')).toEqual([]);
    // Cut off, it went unavailable (more than once if its command timers fired on waking) and recovered.
    const states = child.messages.filter((m) => m.type === 'state').map((m) => m.state);
    expect(states).toContain('unavailable');
    expect(states.at(-1)).toBe('ready');
    await admin.config('SET', 'client-output-buffer-limit', 'pubsub 32mb 8mb 60');
    void alice;
  }, 60_000);

  it("events the stream no longer holds make the room's sockets on that instance rejoin", async () => {
    const a = await instance('a', { streamLength: 5 });
    const b = await instance('b', { streamLength: 5 });
    const room = roomName();
    const alice = await seat(a, room, 'alice');
    const bob = await seat(b, room, 'bob');
    const unnamed = channelId();
    await b.engine.open(room, unnamed);
    for (let i = 0; i < 10; i++) await hide(room, alice.channel, bob.channel, `hidden ${i}`, 5);
    expect(await alice.engine.sendTo(room, alice.channel, bob.channel, relay('after'))).toEqual({ ok: true });
    await b.inbox.until(() => b.inbox.resyncs.length > 0, 'b to resync');
    expect(b.inbox.resyncs).toEqual([{ room, channels: [bob.channel, unnamed], reason: 'gap' }]);
    expect(await counter(b.engine.metrics.gaps, { outcome: 'lost' })).toBe(1);
    expect(await counter(b.engine.metrics.resyncs, { reason: 'gap' })).toBe(1);
    // Nothing is handed to a socket told to rejoin (it is about to be closed).
    expect(bob.at.inbox.texts(bob.channel)).toEqual([]);
    // Whom the lost events were for is lost with them: a's socket in the room must rejoin as well.
    await a.inbox.until(() => a.inbox.resyncs.length > 0, 'a to resync');
    expect(a.inbox.resyncs).toEqual([{ room, channels: [alice.channel], reason: 'gap' }]);
  });
});

describe('Redis engine: round trip (information only, never asserted)', () => {
  it('measures a relay between two instances and a bare PING on this machine', async () => {
    const a = await instance('a');
    const b = await instance('b');
    const room = roomName();
    const alice = await seat(a, room, 'alice');
    const bob = await seat(b, room, 'bob');
    const relayMs: number[] = [];
    for (let i = 0; i < 300; i++) {
      const t0 = performance.now();
      const arrived = bob.at.inbox.received(bob.channel, `rtt${i}`);
      await alice.engine.sendTo(room, alice.channel, bob.channel, relay(`rtt${i}`));
      await arrived;
      relayMs.push(performance.now() - t0);
    }
    const ping: number[] = [];
    for (let i = 0; i < 300; i++) {
      const t0 = performance.now();
      await admin.ping();
      ping.push(performance.now() - t0);
    }
    const pct = (xs: number[], p: number) =>
      [...xs].sort((x, y) => x - y)[Math.ceil((p / 100) * xs.length) - 1]!;
    console.info(
      `relay a->b via Redis: p50 ${pct(relayMs, 50).toFixed(3)} ms, p99 ${pct(relayMs, 99).toFixed(3)} ms; ` +
        `PING: p50 ${pct(ping, 50).toFixed(3)} ms, p99 ${pct(ping, 99).toFixed(3)} ms (shared 2-core machine)`,
    );
    expect(relayMs).toHaveLength(300);
  });
});
