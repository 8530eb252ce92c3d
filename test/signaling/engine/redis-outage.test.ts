import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EngineState } from '../../../src/signaling/engine/engine.js';
import { EngineUnavailableError } from '../../../src/signaling/engine/engine.js';
import { RedisEngine, type RedisEngineOptions } from '../../../src/signaling/engine/redis.js';
import { RedisProcess } from '../../helpers/redis.js';
import { type Instance, joinFrame, roomName, type Seat, seat } from './conformance.js';
import { barrier, Inbox, relay } from './inbox.js';
import { Traffic } from './traffic.js';

// Each test breaks its Redis, so each gets its own.
let redis: RedisProcess;
let engines: RedisEngine[] = [];

beforeEach(async () => {
  redis = await RedisProcess.start();
});
afterEach(async () => {
  redis.resume();
  await Promise.all(engines.map((e) => e.close()));
  engines = [];
  await redis.stop();
});

type Tracked = Instance & { engine: RedisEngine; states: EngineState[] };

async function instance(instanceId: string, options: Partial<RedisEngineOptions> = {}): Promise<Tracked> {
  const engine = await RedisEngine.start({ url: redis.url, instanceId, ...options });
  engines.push(engine);
  const states: EngineState[] = [];
  engine.on('state', (s) => states.push(s));
  return { engine, inbox: new Inbox(engine), states };
}

function reach(engine: RedisEngine, state: EngineState, what: string, ms = 15_000): Promise<void> {
  if (engine.state === state) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    const onState = (s: EngineState) => {
      if (s !== state) return;
      clearTimeout(timer);
      engine.off('state', onState);
      resolve();
    };
    engine.on('state', onState);
  });
}

async function joined(at: Tracked, room: string, name: string): Promise<Seat> {
  const s = await seat(at, room, name);
  await s.engine.join(room, s.channel, joinFrame(name));
  return s;
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('Redis engine: Redis goes away', () => {
  it('Redis paused (SIGSTOP) past the instance ttl, then resumed: refused while gone, nothing lost, no false sweep, recovers by itself', async () => {
    const a = await instance('a');
    const b = await instance('b');
    const room = roomName();
    const alice = await joined(a, room, 'alice');
    const bob = await joined(b, room, 'bob');
    const there = new Traffic(alice, bob, 'ab');
    const back = new Traffic(bob, alice, 'ba');
    there.start();
    back.start();
    await delay(300);

    redis.pause();
    await Promise.all([
      reach(a.engine, 'unavailable', 'a to notice'),
      reach(b.engine, 'unavailable', 'b to notice'),
    ]);
    // While unavailable, calls are refused at once: none waits on (or queues for) the paused Redis.
    const refusals = await Promise.allSettled(
      Array.from({ length: 1000 }, () => a.engine.sendTo(room, alice.channel, bob.channel, relay('never'))),
    );
    expect(refusals.every((r) => r.status === 'rejected' && r.reason instanceof EngineUnavailableError)).toBe(
      true,
    );
    await delay(3500); // beyond the 3 s instance ttl: every deadline lapses while Redis sleeps
    redis.resume();

    await Promise.all([reach(a.engine, 'ready', 'a to recover'), reach(b.engine, 'ready', 'b to recover')]);
    await delay(4000); // past the post-outage grace: a sweep now would be a false one
    await there.stop();
    await back.stop();
    await barrier(
      alice,
      [alice, bob].map((s) => ({ inbox: s.at.inbox, channel: s.channel })),
    );

    for (const [traffic, recipient] of [
      [there, bob],
      [back, alice],
    ] as const) {
      const tally = traffic.account(recipient.at.inbox.texts(recipient.channel), false);
      console.info(`SIGSTOP ${traffic.tag}: ${JSON.stringify(tally)}`);
      expect(tally.pending).toBe(0);
      expect(tally.lost).toBe(0);
      expect(tally.falseRefusals).toBe(0);
      expect(tally.duplicates).toBe(0);
      expect(tally.inOrder).toBe(true);
      expect(tally.refused).toBeGreaterThan(0);
      expect(tally.ok).toBeGreaterThan(0);
      expect(tally.ok + tally.refused).toBe(tally.sent);
    }
    // Nobody was swept, nobody told to rejoin, both still members.
    expect(
      [...alice.at.inbox.texts(alice.channel), ...bob.at.inbox.texts(bob.channel)].filter((t) =>
        t.startsWith('left:'),
      ),
    ).toEqual([]);
    expect([...a.inbox.resyncs, ...b.inbox.resyncs]).toEqual([]);
    expect((await a.engine.members(room)).map((m) => m.name).sort()).toEqual(['alice', 'bob']);
    expect(a.states).toEqual(['unavailable', 'ready']);
    // And it carries on.
    expect(await alice.engine.sendTo(room, alice.channel, bob.channel, relay('after'))).toEqual({ ok: true });
    await bob.at.inbox.received(bob.channel, 'after');
  }, 60_000);

  it('Redis restarted empty: refused while down, members told to rejoin, then rooms work again', async () => {
    const a = await instance('a');
    const b = await instance('b');
    const room = roomName();
    const alice = await joined(a, room, 'alice');
    const bob = await joined(b, room, 'bob');
    const traffic = new Traffic(alice, bob, 'ab');
    traffic.start();
    await delay(300);

    await redis.kill();
    await Promise.all([
      reach(a.engine, 'unavailable', 'a to notice'),
      reach(b.engine, 'unavailable', 'b to notice'),
    ]);
    await delay(500);
    await redis.restartEmpty();
    await Promise.all([reach(a.engine, 'ready', 'a to recover'), reach(b.engine, 'ready', 'b to recover')]);
    await Promise.all([
      a.inbox.until(() => a.inbox.resyncs.length > 0, 'a to resync'),
      b.inbox.until(() => b.inbox.resyncs.length > 0, 'b to resync'),
    ]);
    await traffic.stop();

    expect(a.inbox.resyncs).toEqual([{ room, channels: [alice.channel], reason: 'reset' }]);
    expect(b.inbox.resyncs).toEqual([{ room, channels: [bob.channel], reason: 'reset' }]);
    const tally = traffic.account(bob.at.inbox.texts(bob.channel), true);
    console.info(`restart empty: ${JSON.stringify(tally)}`);
    expect(tally.pending).toBe(0);
    expect(tally.falseRefusals).toBe(0);
    expect(tally.duplicates).toBe(0);
    expect(tally.inOrder).toBe(true);
    expect(tally.ok + tally.refused).toBe(tally.sent);
    expect(tally.refused).toBeGreaterThan(0);
    // Whatever was accepted before the crash and never arrived is covered by bob being told to rejoin;
    // here it is counted, and every message accepted was in fact delivered.
    expect(tally.ok).toBe(tally.delivered - tally.refusedYetDelivered);

    // The server closes the resynced sockets (leave) and the clients rejoin under their old names.
    await alice.engine.leave(room, alice.channel);
    await bob.engine.leave(room, bob.channel);
    const alice2 = await joined(a, room, 'alice');
    const bob2 = await joined(b, room, 'bob');
    expect(await alice2.engine.sendTo(room, alice2.channel, bob2.channel, relay('hello again'))).toEqual({
      ok: true,
    });
    await bob2.at.inbox.received(bob2.channel, 'hello again');
    expect(bob2.at.inbox.texts(bob2.channel)).toContain(joinFrame('bob'));
    expect(alice2.at.inbox.texts(alice2.channel)).toContain(joinFrame('bob'));
  }, 60_000);

  it('bounds what is in flight: past the limit calls are refused, not queued', async () => {
    const a = await instance('a', { maxInFlight: 16 });
    const b = await instance('b');
    const room = roomName();
    const alice = await seat(a, room, 'alice');
    const bob = await seat(b, room, 'bob');
    redis.pause();
    const results = await Promise.allSettled(
      Array.from({ length: 100 }, (_, i) =>
        alice.engine.sendTo(room, alice.channel, bob.channel, relay(`m${i}`)),
      ),
    );
    const reasons = results.map((r) =>
      r.status === 'rejected' ? (r.reason as EngineUnavailableError).reason : 'ok',
    );
    // Up to 16 reached the paused Redis and timed out; the rest were refused on the spot.
    expect(reasons.filter((r) => r === 'overloaded').length).toBeGreaterThanOrEqual(84);
    expect(reasons.filter((r) => r === 'ok')).toEqual([]);
    redis.resume();
    await reach(a.engine, 'ready', 'a to recover');
    // The late ones did nothing when Redis finally ran them.
    await barrier(alice, [{ inbox: bob.at.inbox, channel: bob.channel }]);
    expect(bob.at.inbox.texts(bob.channel).filter((t) => /^m\d+$/.test(t))).toEqual([]);
  }, 30_000);

  it('an instance that closes without reaching Redis leaves nothing stranded: the others sweep what it could not release', async () => {
    const a = await instance('a');
    const c = await instance('c');
    const room = roomName();
    const alice = await joined(a, room, 'alice');
    await joined(c, room, 'carol');
    // Cut c's command connection and close at once: its releases fail on the spot (no offline queue),
    // so it must stay registered; deregistering would strand carol, whom nobody would ever sweep.
    const admin = redis.admin();
    const list = (await admin.call('CLIENT', 'LIST')) as string;
    const id = list
      .split('\n')
      .find((l) => l.includes(' name=engage:c:cmd '))
      ?.match(/^id=(\d+)/)?.[1];
    await admin.call('CLIENT', 'KILL', 'ID', id!);
    await c.engine.close();
    await alice.at.inbox.received(alice.channel, 'left:carol', 20_000);
    expect(await a.engine.holder(room, 'carol')).toBeUndefined();
    // The departure travels by pub/sub and may land before the sweep's own reply is counted.
    for (let tries = 0; (await a.engine.metrics.swept.get()).values[0]?.value !== 1; tries++) {
      if (tries > 100) throw new Error('a never counted the member it swept');
      await delay(50);
    }
    expect(alice.at.inbox.texts(alice.channel).filter((t) => t === 'left:carol')).toHaveLength(1);
  }, 40_000);

  it('start() with no Redis listening fails with a clear error', async () => {
    const url = redis.url;
    await redis.kill();
    await expect(RedisEngine.start({ url, connectTimeoutMs: 1000 })).rejects.toThrow(
      /cannot use Redis at redis:\/\/127\.0\.0\.1/,
    );
    await redis.restartEmpty();
  });

  it('a room recreated under its members (its keys lost) makes them rejoin, and only them', async () => {
    const a = await instance('a');
    const b = await instance('b');
    const room = roomName();
    const steady = roomName();
    const alice = await joined(a, room, 'alice');
    const calm = await joined(b, steady, 'calm');
    await redis.admin().del(`engage:{room:${room}}:meta`);
    // A newcomer's claim recreates the room under a new epoch; alice belonged to the old one. Its join
    // is the new epoch's first event, and that is how the other instances learn of it.
    const newcomer = await joined(b, room, 'newcomer');
    await a.inbox.until(() => a.inbox.resyncs.length > 0, 'a to resync the recreated room');
    expect(a.inbox.resyncs).toEqual([{ room, channels: [alice.channel], reason: 'reset' }]);
    expect(b.inbox.resyncs).toEqual([]);
    expect(await calm.engine.broadcast(steady, calm.channel, relay('still here'))).toEqual({ ok: true });
    await calm.at.inbox.received(calm.channel, 'still here');
    // alice's old claim is gone with the old epoch: her sends are refused with a reason.
    expect(await alice.engine.broadcast(room, alice.channel, relay('x'))).toEqual({
      ok: false,
      reason: 'not-member',
    });
    expect(newcomer.at.inbox.texts(newcomer.channel)).toEqual([joinFrame('newcomer')]);
  });
});
