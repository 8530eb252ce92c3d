import { afterEach, describe, expect, it } from 'vitest';
import { SignalingClient } from '../../src/signaling/client.js';
import { TestClient, upgradeStatus } from '../helpers/client.js';
import { RedisProcess } from '../helpers/redis.js';
import { ServeProcess } from '../helpers/serve-process.js';
import { Ledger, type LedgerMember, ledgerMember } from './ledger.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(
  check: () => Promise<boolean> | boolean,
  what: string,
  timeoutMs = 15_000,
): Promise<number> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(25);
  }
  return Date.now() - started;
}

/** Sends from every member every `everyMs` until stopped; the ledger counts each message. */
function sending(ledger: Ledger, members: LedgerMember[], everyMs = 20): () => Promise<void> {
  let stop = false;
  const loop = (async () => {
    while (!stop) {
      for (const m of members) m.send(ledger);
      await sleep(everyMs);
    }
  })();
  return async () => {
    stop = true;
    await loop;
    // Time for the last answers (a command timeout is 1.5 s) to arrive.
    await sleep(2000);
  };
}

describe('failures of a cluster of engage serve --redis processes', () => {
  let redis: RedisProcess | undefined;
  const serves: ServeProcess[] = [];
  const clients: TestClient[] = [];

  async function cluster(ids: string[], extra: string[] = []): Promise<ServeProcess[]> {
    redis = await RedisProcess.start();
    const started = await Promise.all(
      ids.map((id) =>
        ServeProcess.start(['--log-level', 'warn', '--redis', redis!.url, '--instance-id', id, ...extra]),
      ),
    );
    serves.push(...started);
    return started;
  }

  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await Promise.all(serves.splice(0).map((s) => s.kill()));
    await redis?.stop();
    redis = undefined;
  });

  async function join(at: ServeProcess, room: string, name: string): Promise<TestClient> {
    const c = await TestClient.connect(at.url, room);
    clients.push(c);
    c.say(name, 'new-join');
    await c.next((m) => m.action === 'new-join' && m.peer === name, 5000);
    return c;
  }

  it('kill -9 of one instance: its members leave at the others within 5 s, and their names are free', async () => {
    const [a, b, c] = await cluster(['a', 'b', 'c']);
    const ann = await join(a!, 'k', 'ann');
    const bob = await join(b!, 'k', 'bob');
    const cat = await join(c!, 'k', 'cat');
    const dan = await join(c!, 'k', 'dan');
    await ann.next((m) => m.action === 'new-join' && m.peer === 'dan');
    const killedAt = Date.now();
    await c!.kill();
    const arrivals = await Promise.all(
      [ann, bob].flatMap((watcher) =>
        ['cat', 'dan'].map(async (name) => {
          await watcher.next((m) => m.action === 'peer-left' && m.peer === name, 10_000);
          return Date.now() - killedAt;
        }),
      ),
    );
    const slowest = Math.max(...arrivals);
    console.log(`kill -9 to peer-left at both survivors: ${arrivals.join(', ')} ms (slowest ${slowest} ms)`);
    expect(slowest).toBeLessThan(5000);
    // Their names are free again, on either survivor.
    await join(a!, 'k', 'cat');
    await join(b!, 'k', 'dan');
    expect(cat.messages.length + dan.messages.length).toBeGreaterThan(0);
    // And the room carries on across the two that are left.
    ann.say('ann', 'still-here');
    expect((await bob.nextAction('still-here')).peer).toBe('ann');
  }, 30_000);

  it('Ctrl-C of one instance: the rest of each room hears peer-left at once, and it exits 0', async () => {
    const [a, b] = await cluster(['a', 'b']);
    const ann = await join(a!, 's', 'ann');
    const bob = await join(b!, 's', 'bob');
    await ann.next((m) => m.action === 'new-join' && m.peer === 'bob');
    const stoppedAt = Date.now();
    const exited = b!.stop();
    await ann.next((m) => m.action === 'peer-left' && m.peer === 'bob', 5000);
    const after = Date.now() - stoppedAt;
    console.log(`Ctrl-C to peer-left on the other instance: ${after} ms`);
    expect(after).toBeLessThan(2000);
    expect((await bob.closed).code).toBe(1001);
    expect(await exited).toBe(0);
    await join(a!, 's', 'bob');
  }, 30_000);

  it('Redis paused (SIGSTOP) past the instance ttl and resumed: explicit refusals while it is gone, no silent loss, recovery', async () => {
    const [a, b] = await cluster(['a', 'b'], ['--broadcast-rate', '200', '--rate', '400']);
    const members = [
      await ledgerMember(a!.url, 'p', 'ann'),
      await ledgerMember(b!.url, 'p', 'bob'),
      await ledgerMember(b!.url, 'p', 'cy'),
    ];
    clients.push(...members.map((m) => m.client));
    // A bot's client whose socket is open but that joins only once Redis is gone.
    const late = (await SignalingClient.connect({ url: a!.url, room: 'p', name: 'late' })).start();
    const ledger = new Ledger();
    const stop = sending(ledger, members);
    await sleep(1000);
    redis!.pause();
    const pausedAt = Date.now();
    // A load balancer sees it: /healthz 503 on both, upgrades refused with 503.
    const noticed = await until(
      async () => (await a!.healthStatus()) === 503 && (await b!.healthStatus()) === 503,
      'both instances to report 503',
    );
    expect(await upgradeStatus(a!.url, '/room/p/')).toBe(503);
    expect(await a!.health()).toMatchObject({ status: 'unavailable', engine: 'unavailable' });
    const refused = new Promise((resolve) => late.once('refused', (code, _m, ref) => resolve([code, ref])));
    late.join();
    expect(await refused).toEqual(['unavailable', 'new-join']);
    await sleep(Math.max(0, 4000 - (Date.now() - pausedAt)));
    redis!.resume();
    const recovered = await until(
      async () => (await a!.healthStatus()) === 200 && (await b!.healthStatus()) === 200,
      'both instances to recover',
    );
    const recoveredAt = Date.now();
    await sleep(1000);
    await stop();
    // The client tried its join again, and the room heard it once Redis was back.
    await members[0]!.client.next((m) => m.action === 'new-join' && m.peer === 'late', 10_000);
    await late.close();
    const { counts, violations } = ledger.verdict(members);
    console.log(
      `SIGSTOP: 503 after ${noticed} ms, recovered ${recovered} ms after SIGCONT; messages: ${JSON.stringify(counts)}`,
    );
    expect(violations).toEqual([]);
    expect(counts.refused + counts.unconfirmed).toBeGreaterThan(0);
    // Nobody was swept as dead: the pause outlasted the ttl, but every instance waits one out first.
    for (const m of members) {
      expect(m.open, m.name).toBe(true);
      expect(m.client.messages.some((x) => x.action === 'peer-left')).toBe(false);
    }
    // Every message sent once both instances were healthy again was delivered.
    const after = ledger.all.filter((s) => s.at > recoveredAt);
    expect(after.length).toBeGreaterThan(50);
    expect(after.map((s) => ledger.outcome(s))).toEqual(after.map(() => 'delivered'));
  }, 60_000);

  it('Redis restarted empty: refusals while it is down, every member told to rejoin, rejoined under its name', async () => {
    const [a, b] = await cluster(['a', 'b'], ['--broadcast-rate', '200', '--rate', '400']);
    const members = [await ledgerMember(a!.url, 'e', 'ann'), await ledgerMember(b!.url, 'e', 'bob')];
    clients.push(...members.map((m) => m.client));
    const ledger = new Ledger();
    const stop = sending(ledger, members);
    await sleep(500);
    await redis!.kill();
    const downAt = Date.now();
    await until(async () => (await a!.healthStatus()) === 503, 'a to report 503');
    expect(await upgradeStatus(b!.url, '/room/e/')).toBe(503);
    await sleep(1000);
    await redis!.restartEmpty();
    const closes = await Promise.all(members.map((m) => m.client.closed));
    const rejoinAfter = Date.now() - downAt;
    await stop();
    expect(closes.map((c) => c.code)).toEqual([4503, 4503]);
    const { counts, violations } = ledger.verdict(members);
    console.log(
      `restart empty: told to rejoin ${rejoinAfter} ms after the kill; messages: ${JSON.stringify(counts)}`,
    );
    expect(violations).toEqual([]);
    // Back, under the same names, and the room works across both instances again.
    const ann = await join(a!, 'e', 'ann');
    const bob = await join(b!, 'e', 'bob');
    await ann.next((m) => m.action === 'new-join' && m.peer === 'bob');
    bob.say('bob', 'hello');
    expect((await ann.nextAction('hello')).peer).toBe('bob');
    const metrics = await a!.metrics();
    expect(metrics).toMatch(/^engage_engine_resyncs_total\{reason="reset"\} [1-9]/m);
    expect(metrics).toMatch(/^engage_errors_total\{code="rejoin"\} 1$/m);
  }, 60_000);
});
