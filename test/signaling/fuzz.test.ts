/**
 * Property-based fuzzing of `engage serve` (the built CLI, in its own process) with fast-check.
 *
 * Invariants, checked against the one server process across every run:
 *   1. the process never exits, never reaches its crash policy, and catches no exception inside;
 *   2. every frame gets exactly the reply the protocol says: one `error` with the right code to the
 *      sender alone, or the relay, untouched but for the sender's channel, to exactly the members that
 *      should get it, in order (room-model.ts);
 *   3. no message crosses rooms: fuzz members hear only each other and the server, observers in
 *      another room hear nothing but their own joins, offers to their channels are unknown-target;
 *   4. a well-behaved pair in another room keeps completing offer/answer throughout;
 *   5. every upgrade gets a real HTTP status, one the protocol allows;
 *   6. the error counts in /metrics equal the errors clients received;
 *   7. once every client has gone the server holds no rooms and no sockets, and Ctrl-C exits 0.
 *
 * Seeded (FUZZ_SEED, a fixed default) and bounded (FUZZ_SCALE, 1 in CI) so that it runs in CI in well
 * under a minute; `npm run fuzz` runs it 20 times longer with a fresh seed. A failure prints the seed
 * and the failing case; FUZZ_SEED=<seed> replays it.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { FAILURE_POINTS } from '../../src/signaling/metrics.js';
import { ERROR_CODES } from '../../src/signaling/protocol.js';
import { ANSWER_SDP, OFFER_SDP, TestClient } from '../helpers/client.js';
import { ServeProcess } from '../helpers/serve-process.js';
import { buildFrame, frameCase } from './fuzz/frames.js';
import { FuzzMember, RoomModel } from './fuzz/room-model.js';
import { runThrowaway, throwawayCase } from './fuzz/throwaways.js';
import { sendUpgrade, upgradeCase } from './fuzz/upgrades.js';

const SEED =
  process.env.FUZZ_SEED === 'random' ? Date.now() % 2 ** 31 : Number(process.env.FUZZ_SEED ?? 8_2024);
const SCALE = Number(process.env.FUZZ_SCALE ?? 1);
const RUNS = { batches: 1000 * SCALE, upgrades: 500 * SCALE, throwaways: 150 * SCALE };
const NAMES = ['fz0', 'fz1', 'fz2'];
/** A test's budget grows with the scale; the CI run takes a fraction of it. */
const timeout = (ms: number) => ms * SCALE + 30_000;

function open(url: string, room: string, name: string): Promise<WebSocket> {
  const ws = new WebSocket(`${url}/room/${room}/?username=${name}`);
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

async function until(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe(`fuzz: engage serve under fast-check (seed ${SEED}, scale ${SCALE})`, () => {
  let serve: ServeProcess;
  let model: RoomModel;
  let observers: TestClient[];
  const foreign: string[] = [];
  const calm = { dances: 0, stop: false, done: Promise.resolve(), failure: undefined as unknown };
  const tally = { throwawayErrors: 0, upgrades: new Map<number, number>() };

  beforeAll(async () => {
    // The rates have tests of their own; here every frame must be judged on its content.
    serve = await ServeProcess.start([
      '--rate',
      '1000000',
      '--broadcast-rate',
      '1000000',
      '--log-level',
      'warn',
    ]);

    // Members join in index order, each after the one before has been heard: the model relies on it.
    const members: FuzzMember[] = [];
    for (const [i, name] of NAMES.entries()) {
      const m = new FuzzMember(await open(serve.url, 'fz', name), i, NAMES);
      m.ws.send(JSON.stringify({ peer: name, action: 'new-join', keyword: {} }));
      await until(() => m.from[i]!.length === 1, `${name}'s join echo`);
      m.channel = m.from[i]![0]!.keyword.receiver_channel_name;
      members.push(m);
    }
    await until(() => members[0]!.from.flat().length === 3, 'the joins to reach fz0');
    for (const m of members) for (const list of m.from) list.length = 0;
    model = new RoomModel(members);

    observers = [];
    for (const name of ['obs0', 'obs1']) {
      const c = await TestClient.connect(serve.url, 'obs', { username: name });
      c.say(name, 'new-join');
      const echo = await c.next((m) => m.action === 'new-join' && m.peer === name);
      foreign.push(echo.keyword.receiver_channel_name);
      observers.push(c);
    }

    // A well-behaved pair in another room does the whole dance, again and again, meanwhile.
    calm.done = (async () => {
      while (!calm.stop) {
        const a = await TestClient.connect(serve.url, 'calm', { username: 'alice' });
        const b = await TestClient.connect(serve.url, 'calm', { username: 'bob' });
        a.say('alice', 'new-join');
        await a.nextAction('new-join', 5000);
        b.say('bob', 'new-join');
        const heard = await a.next((m) => m.action === 'new-join' && m.peer === 'bob', 5000);
        a.say('alice', 'new-offer', {
          sdp: OFFER_SDP,
          receiver_channel_name: heard.keyword.receiver_channel_name,
        });
        const offer = await b.nextAction('new-offer', 5000);
        expect(offer.keyword.sdp).toEqual(OFFER_SDP);
        b.say('bob', 'new-answer', {
          sdp: ANSWER_SDP,
          receiver_channel_name: offer.keyword.receiver_channel_name,
        });
        const answer = await a.nextAction('new-answer', 5000);
        expect(answer.keyword.sdp).toEqual(ANSWER_SDP);
        for (const c of [a, b]) {
          expect(
            c.messages.every((m) => m.peer === 'alice' || m.peer === 'bob'),
            JSON.stringify(c.messages),
          ).toBe(true);
          c.close();
          await c.closed;
        }
        calm.dances++;
      }
    })().catch((err) => {
      calm.failure = err;
    });
  }, 30_000);

  afterAll(() => {
    calm.stop = true;
    serve?.kill();
  });

  it(
    'answers every generated frame exactly as the protocol says, to exactly the members it says',
    async () => {
      const batch = fc.array(fc.tuple(fc.nat(NAMES.length - 1), frameCase), { minLength: 1, maxLength: 16 });
      await fc.assert(
        fc.asyncProperty(batch, async (frames) => {
          for (const [who, c] of frames) model.send(who, buildFrame(c, model.context(who, foreign)));
          await model.verify(15_000);
        }),
        // The model is cumulative: after a failure, shrinking would only replay a broken state.
        { seed: SEED, numRuns: RUNS.batches, endOnFailure: true },
      );
      expect(serve.exit).toBeUndefined();
    },
    timeout(60_000),
  );

  it(
    'answers every generated upgrade request with an HTTP status the protocol allows',
    async () => {
      await fc.assert(
        fc.asyncProperty(upgradeCase, async (c) => {
          const status = await sendUpgrade(serve.http, c);
          tally.upgrades.set(status, (tally.upgrades.get(status) ?? 0) + 1);
          expect(c.allowed, `${c.gen} ${JSON.stringify(c.target)} got ${status}`).toContain(status);
        }),
        { seed: SEED, numRuns: RUNS.upgrades, endOnFailure: true },
      );
      expect(serve.exit).toBeUndefined();
    },
    timeout(60_000),
  );

  it(
    'closes only the sockets the protocol says, with the codes it says, and nobody else hears of them',
    async () => {
      await fc.assert(
        fc.asyncProperty(throwawayCase, async (c) => {
          tally.throwawayErrors += await runThrowaway(serve.url, NAMES, c);
        }),
        { seed: SEED, numRuns: RUNS.throwaways, endOnFailure: true },
      );
      await model.verify(5000);
      expect(serve.exit).toBeUndefined();
    },
    timeout(60_000),
  );

  it(
    'never exited nor reached the crash policy, kept other rooms apart and working, and ends empty',
    async () => {
      calm.stop = true;
      await calm.done;
      expect(calm.failure).toBeUndefined();
      expect(calm.dances).toBeGreaterThan(0);

      // Nothing more arrives late: the fuzz room got exactly what was promised, the observers nothing.
      await new Promise((r) => setTimeout(r, 300));
      model.check();
      expect(observers[0]!.messages.map((m) => [m.peer, m.action])).toEqual([
        ['obs0', 'new-join'],
        ['obs1', 'new-join'],
      ]);
      expect(observers[1]!.messages.map((m) => [m.peer, m.action])).toEqual([['obs1', 'new-join']]);

      expect(serve.exit).toBeUndefined();
      expect((await serve.health()).status).toBe('ok');
      for (const kind of ['exception', 'rejection'])
        expect(await serve.metric(`engage_uncaught_errors_total{kind="${kind}"}`)).toBe(0);
      for (const where of FAILURE_POINTS)
        expect(await serve.metric(`engage_internal_errors_total{where="${where}"}`), where).toBe(0);
      let counted = 0;
      for (const code of ERROR_CODES) counted += await serve.metric(`engage_errors_total{code="${code}"}`);
      expect(counted).toBe(model.errorsReceived + tally.throwawayErrors);

      for (const m of model.members) m.ws.close();
      for (const o of observers) o.close();
      await until(async () => {
        const h = await serve.health();
        return h.rooms === 0 && h.sockets === 0;
      }, 'the server to hold no rooms and no sockets');

      expect(await serve.stop()).toBe(0);
      expect(serve.stderr).not.toMatch(/UNCAUGHT/);
      const loud = serve.stderr
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { level: number; msg: string })
        .filter((l) => l.level >= 50);
      expect(loud).toEqual([]);

      const count = (xs: Array<string | number>) =>
        [...xs.reduce((m, x) => m.set(x, (m.get(x) ?? 0) + 1), new Map<string | number, number>())]
          .map(([k, n]) => `${k} ${n}`)
          .join(', ');
      const relayed = model.framesSent - model.errorsReceived;
      console.log(
        `fuzz: seed ${SEED}: ${model.framesSent} frames in ${RUNS.batches} batches (relayed ${relayed}; ` +
          `${count(model.expectedErrors.flat())}); ${RUNS.upgrades} upgrades (${count([...tally.upgrades].flatMap(([s, n]) => Array(n).fill(s)))}); ` +
          `${RUNS.throwaways} sockets closed or abandoned; ${calm.dances} offer/answer dances in another room`,
      );
    },
    timeout(30_000),
  );
});
