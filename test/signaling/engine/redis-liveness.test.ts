import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { RedisEngine } from '../../../src/signaling/engine/redis.js';
import { RedisProcess } from '../../helpers/redis.js';
import { ChildInstance } from './child-instance.js';
import { type Instance, joinFrame, roomName, type Seat, seat } from './conformance.js';
import { barrier, Inbox } from './inbox.js';

let redis: RedisProcess;
const engines: RedisEngine[] = [];
const children: ChildInstance[] = [];
/** Each test's instances live under a prefix of their own, so one test's dead never reach the next. */
let prefix = '';

beforeAll(async () => {
  redis = await RedisProcess.start();
});
beforeEach(() => {
  prefix = `engage-${randomBytes(4).toString('hex')}:`;
});
afterEach(async () => {
  for (const c of children.splice(0)) await c.kill();
  await Promise.all(engines.splice(0).map((e) => e.close()));
});
afterAll(async () => {
  await redis?.stop();
});

async function survivor(instanceId: string): Promise<Instance & { engine: RedisEngine }> {
  const engine = await RedisEngine.start({ url: redis.url, instanceId, prefix });
  engines.push(engine);
  return { engine, inbox: new Inbox(engine) };
}

async function swept(engine: RedisEngine): Promise<number> {
  return (await engine.metrics.swept.get()).values[0]?.value ?? 0;
}

function leftNames(s: Seat): string[] {
  return s.at.inbox.texts(s.channel).filter((t) => t.startsWith('left:'));
}

describe('Redis engine: instances that die', () => {
  it('kill -9 of an instance: the survivors sweep it, every member of it leaves once, its names are free', async () => {
    const a = await survivor('a');
    const b = await survivor('b');
    const room = roomName();
    const quiet = roomName();
    const alice = await seat(a, room, 'alice');
    const bob = await seat(b, room, 'bob');
    const { child } = await ChildInstance.start({
      url: redis.url,
      instanceId: 'doomed',
      engine: { prefix },
      members: [
        { room, name: 'carol' },
        { room, name: 'dave' },
        { room: quiet, name: 'erin' },
      ],
    });
    children.push(child);
    expect(await a.engine.holder(room, 'carol')).toBeDefined();

    const killedAt = performance.now();
    await child.kill();
    await Promise.all(
      [alice, bob].flatMap((s) =>
        ['left:carol', 'left:dave'].map((t) => s.at.inbox.received(s.channel, t, 15_000)),
      ),
    );
    const sweptAfterMs = performance.now() - killedAt;
    // Default heartbeat 1 s and ttl 3 s: the promise is "within a few seconds"; the figure is printed.
    console.info(`kill -9 -> peer-left at both survivors after ${Math.round(sweptAfterMs)} ms`);
    expect(sweptAfterMs).toBeLessThan(10_000);

    await barrier(
      alice,
      [alice, bob].map((s) => ({ inbox: s.at.inbox, channel: s.channel })),
    );
    expect(leftNames(alice).sort()).toEqual(['left:carol', 'left:dave']);
    expect(leftNames(bob).sort()).toEqual(['left:carol', 'left:dave']);
    expect(await a.engine.holder(room, 'carol')).toBeUndefined();
    expect(await a.engine.holder(quiet, 'erin')).toBeUndefined();
    expect((await b.engine.members(room)).map((m) => m.name).sort()).toEqual(['alice', 'bob']);
    // Exactly one survivor swept each member.
    expect((await swept(a.engine)) + (await swept(b.engine))).toBe(3);
    // The names can be taken again.
    await seat(b, room, 'carol');
    await seat(a, quiet, 'erin');
  });

  it('an instance that stops (SIGSTOP) past its ttl is swept; when it wakes it learns so and its sockets rejoin', async () => {
    const a = await survivor('a');
    const room = roomName();
    const alice = await seat(a, room, 'alice');
    await alice.engine.join(room, alice.channel, joinFrame('alice'));
    const { child, ready } = await ChildInstance.start({
      url: redis.url,
      instanceId: 'sleepy',
      engine: { prefix },
      members: [{ room, name: 'carol' }],
    });
    children.push(child);
    child.pause();
    await alice.at.inbox.received(alice.channel, 'left:carol', 15_000);
    expect(await a.engine.holder(room, 'carol')).toBeUndefined();
    child.resume();
    const resync = await child.next((m) => m.type === 'resync', 'the woken instance to resync');
    expect(resync).toMatchObject({ room, reason: 'swept', channels: [ready.members[0].channel] });
    expect(resync.token).not.toBe(ready.token);
    // Under its new token it can seat the member again, and the survivor hears it join.
    child.command(`claim ${room} carol`);
    const claimed = await child.next((m) => m.type === 'claimed', 'the re-claim');
    expect(claimed.result).toMatchObject({ ok: true });
    await alice.at.inbox.received(alice.channel, joinFrame('carol'));
  });

  it('an instance that closes releases its members at once, without waiting for a sweep', async () => {
    const a = await survivor('a');
    const room = roomName();
    const alice = await seat(a, room, 'alice');
    const { child, ready } = await ChildInstance.start({
      url: redis.url,
      instanceId: 'polite',
      engine: { prefix },
      members: [{ room, name: 'carol' }],
    });
    children.push(child);
    child.command('close');
    expect(await child.exited()).toBe(0);
    await alice.at.inbox.received(alice.channel, 'left:carol');
    expect(await swept(a.engine)).toBe(0);
    expect(await redis.admin().zscore(`${prefix}{instances}`, ready.token)).toBeNull();
  });
});
