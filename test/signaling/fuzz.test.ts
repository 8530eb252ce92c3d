import { describe, expect, it } from 'vitest';
import { ANSWER_SDP, type Msg, OFFER_SDP, type TestClient } from '../helpers/client.js';
import { useServer } from '../helpers/server.js';

/** Small seeded PRNG so a failing run can be replayed with the printed seed. */
function mulberry32(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Frame = { data: string | Buffer; binary?: boolean };

function randomFrame(rnd: () => number, self: string): Frame {
  const pick = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const randomString = (n: number) =>
    Array.from({ length: n }, () => String.fromCharCode(Math.floor(rnd() * 0xffff))).join('');
  const junkValue = () =>
    pick<unknown>([null, 1, -0.5, true, 'x', [], [1, 'a'], {}, { a: { b: [] } }, randomString(5)]);
  switch (Math.floor(rnd() * 14)) {
    case 0:
      return {
        data: Buffer.from(Array.from({ length: 1 + Math.floor(rnd() * 200) }, () => Math.floor(rnd() * 256))),
        binary: true,
      };
    case 1:
      return { data: randomString(1 + Math.floor(rnd() * 100)) };
    case 2: {
      const valid = JSON.stringify({ peer: self, action: 'x', keyword: { a: 1 } });
      return { data: valid.slice(0, Math.floor(rnd() * (valid.length - 1))) };
    }
    case 3:
      return { data: JSON.stringify(junkValue()) };
    case 4:
      return { data: JSON.stringify({ peer: junkValue(), action: 'new-join', keyword: {} }) };
    case 5:
      return { data: JSON.stringify({ peer: self, action: junkValue(), keyword: {} }) };
    case 6:
      return { data: JSON.stringify({ peer: self, action: 'fuzz', keyword: junkValue() }) };
    case 7:
      return {
        data: JSON.stringify({
          peer: self,
          action: pick(['new-offer', 'new-answer']),
          keyword: {
            sdp: pick<unknown>([junkValue(), { type: junkValue(), sdp: 'v=0' }, { type: 'offer' }]),
          },
        }),
      };
    case 8: // well-formed, but aimed at nobody
      return {
        data: JSON.stringify({
          peer: self,
          action: 'new-offer',
          keyword: {
            sdp: OFFER_SDP,
            receiver_channel_name: pick(['specific.engage!nobody', randomString(10)]),
          },
        }),
      };
    case 9: // someone else's name
      return { data: JSON.stringify({ peer: `not-${self}`, action: 'fuzz', keyword: {} }) };
    case 10:
      return { data: JSON.stringify({ peer: self, action: pick(['peer-left', 'error']), keyword: {} }) };
    case 11:
      return { data: `${'['.repeat(5000)}${']'.repeat(5000)}` };
    case 12:
      return { data: JSON.stringify({ peer: self, action: 'fuzz', keyword: { pad: 'x'.repeat(70_000) } }) };
    default: // valid broadcast with hostile keys: delivered back as an echo
      return {
        data: `{"peer":${JSON.stringify(self)},"action":"fuzz","keyword":{"__proto__":{"polluted":1},"constructor":1}}`,
      };
  }
}

describe('fuzz', () => {
  // The rate limit has its own test; here every frame must be judged on its content.
  const s = useServer({ rate: 1_000_000, broadcastRate: 1_000_000, maxBroadcastBytes: 64 * 1024 });

  it('survives thousands of malformed frames, answers each, and keeps serving another room', async () => {
    const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000);
    const rnd = mulberry32(seed);
    const fuzzers: Array<{ client: TestClient; name: string }> = [];
    for (let i = 0; i < 4; i++) {
      const name = `fuzz${i}`;
      fuzzers.push({ client: await s.connect('fuzzroom', { username: name }), name });
    }

    // A well-behaved pair in another room does the whole dance, again and again, meanwhile.
    let dances = 0;
    const stop = { now: false };
    const pair = (async () => {
      while (!stop.now) {
        const room = `calm-${dances}`;
        const a = await s.join(room, 'alice');
        const b = await s.join(room, 'bob');
        await a.client.next((m) => m.action === 'new-join' && m.peer === 'bob');
        a.client.say('alice', 'new-offer', { sdp: OFFER_SDP, receiver_channel_name: b.channel });
        const offer = await b.client.nextAction('new-offer');
        b.client.say('bob', 'new-answer', {
          sdp: ANSWER_SDP,
          receiver_channel_name: offer.keyword.receiver_channel_name,
        });
        await a.client.nextAction('new-answer');
        a.client.close();
        b.client.close();
        dances++;
      }
    })();

    const perSocket = 1000;
    const sent = await Promise.all(
      fuzzers.map(async ({ client, name }) => {
        for (let i = 0; i < perSocket; i++) {
          const f = randomFrame(rnd, name);
          client.ws.send(f.data, { binary: f.binary ?? false });
          if (i % 50 === 0) await new Promise((r) => setImmediate(r));
        }
        return perSocket;
      }),
    );

    // Each fuzz frame gets exactly one answer on its socket: an error, or the echo of a valid broadcast.
    const own = (name: string) => (m: Msg) => m.action === 'error' || m.peer === name;
    const deadline = Date.now() + 15_000;
    for (const { client, name } of fuzzers) {
      while (client.messages.filter(own(name)).length < perSocket && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    stop.now = true;
    await pair;

    let errors = 0;
    for (const { client, name } of fuzzers) {
      expect(client.ws.readyState, `seed ${seed}: ${name} still open`).toBe(client.ws.OPEN);
      const answers = client.messages.filter(own(name));
      expect(answers.length, `seed ${seed}`).toBe(perSocket);
      for (const m of answers.filter((m) => m.action === 'error')) {
        expect(m.peer).toBe('@server');
        expect([
          'bad-json',
          'bad-envelope',
          'too-large',
          'too-complex',
          'unknown-target',
          'identity-changed',
        ]).toContain(m.keyword.code);
        expect(typeof m.keyword.message).toBe('string');
        errors++;
      }
    }
    expect(sent.reduce((a, b) => a + b, 0)).toBe(4000);
    expect(errors).toBeGreaterThan(2000);
    expect(dances, `seed ${seed}`).toBeGreaterThan(0);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();

    const health = await fetch(`${s.url.replace('ws', 'http')}/healthz`);
    expect(health.status).toBe(200);
    const metrics = await (await fetch(`${s.url.replace('ws', 'http')}/metrics`)).text();
    const counted = [...metrics.matchAll(/^engage_errors_total\{code="[^"]+"\} (\d+)$/gm)].reduce(
      (n, m) => n + Number(m[1]),
      0,
    );
    expect(counted).toBe(errors);
  }, 60_000);
});
