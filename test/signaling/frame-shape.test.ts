import { afterEach, describe, expect, it, vi } from 'vitest';
import { FRAME_SHAPE } from '../../src/signaling/constants.js';
import { shapeProblem } from '../../src/signaling/frame-shape.js';
import { OFFER_SDP } from '../helpers/client.js';
import { useServer } from '../helpers/server.js';

const arrays = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;
const objects = (depth: number) => `${'{"a":'.repeat(depth - 1)}{}${'}'.repeat(depth - 1)}`;

describe('shapeProblem (the pre-parse measure of a frame)', () => {
  it('counts depth from the outermost value, for arrays and objects alike', () => {
    expect(shapeProblem(arrays(32))).toBeNull();
    expect(shapeProblem(arrays(33))).toEqual({ depth: 33 });
    expect(shapeProblem(objects(32))).toBeNull();
    expect(shapeProblem(objects(33))).toEqual({ depth: 33 });
    // Brackets inside strings, escaped quotes included, are text, not structure.
    expect(shapeProblem(JSON.stringify({ s: `\\"${'['.repeat(100)}`, t: '"{{{{' }))).toBeNull();
    // A string that ends in backslashes ends at the next quote; what follows it is structure again.
    expect(shapeProblem(JSON.stringify({ s: 'a\\\\', t: '\\"' }))).toBeNull();
    expect(shapeProblem(`{"s":"a\\\\","k":${arrays(32)}}`)).toEqual({ depth: 33 });
    expect(shapeProblem(`{"s":"a\\"${arrays(40)}"}`)).toBeNull();
  });

  it('counts object members and array elements at every level, as JSON.parse would build them', () => {
    const count = (v: unknown): number =>
      Array.isArray(v)
        ? v.length + v.reduce((n: number, x) => n + count(x), 0)
        : typeof v === 'object' && v !== null
          ? Object.keys(v).length + Object.values(v).reduce((n: number, x) => n + count(x), 0)
          : 0;
    for (const value of [
      {},
      [],
      [[], [1], { a: [1, 2, { b: null }] }],
      { peer: 'a', action: 'x', keyword: { s: 'a,b,c', n: [1, 2, 3] } },
      [' , ', { ',': ',' }],
    ]) {
      const text = JSON.stringify(value, null, 1);
      const limit = count(value);
      expect(shapeProblem(text, { maxDepth: 32, maxValues: limit }), text).toBeNull();
      if (limit > 0) expect(shapeProblem(text, { maxDepth: 32, maxValues: limit - 1 }), text).not.toBeNull();
    }
    const wide = `[${Array(FRAME_SHAPE.maxValues + 1)
      .fill(0)
      .join(',')}]`;
    expect(shapeProblem(wide)).toEqual({ values: FRAME_SHAPE.maxValues + 1 });
  });

  it('stays linear and recursion-free on a megabyte of brackets', () => {
    expect(shapeProblem('['.repeat(1 << 20), { maxDepth: 1 << 21, maxValues: 1 << 21 })).toBeNull();
  });
});

describe('the frame path', () => {
  const s = useServer({ rate: 10_000, broadcastRate: 10_000 });

  it('relays a frame at the depth limit and refuses one level deeper with too-complex', async () => {
    const a = await s.join('r', 'a');
    // The envelope is level 1 and keyword level 2, so keyword.k may nest 30 more.
    a.client.send(`{"peer":"a","action":"deep","keyword":{"k":${arrays(30)}}}`);
    expect((await a.client.nextAction('deep')).keyword.k).toBeDefined();
    a.client.send(`{"peer":"a","action":"deep","keyword":{"k":${arrays(31)}}}`);
    const err = await a.client.nextError('too-complex');
    expect(err.keyword.message).toMatch(/deeper than 32/);
  });

  it('refuses a frame of more than 4096 values with too-complex, and the socket stays', async () => {
    const a = await s.join('r', 'a');
    const b = await s.join('r', 'b');
    const pad = Array(FRAME_SHAPE.maxValues).fill(0);
    a.client.say('a', 'new-offer', { sdp: OFFER_SDP, receiver_channel_name: b.channel, pad });
    expect((await a.client.nextError('too-complex')).keyword.message).toMatch(/more than 4096 values/);
    a.client.say('a', 'new-offer', { sdp: OFFER_SDP, receiver_channel_name: b.channel, pad: pad.slice(10) });
    expect((await b.client.nextAction('new-offer')).keyword.pad).toHaveLength(FRAME_SHAPE.maxValues - 10);
  });

  it('answers a text frame of invalid UTF-8 with bad-json instead of closing the socket', async () => {
    const a = await s.join('r', 'a');
    a.client.ws.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false });
    expect((await a.client.nextError('bad-json')).keyword.message).toMatch(/UTF-8/);
    a.client.say('a', 'still-here');
    await a.client.nextAction('still-here');
  });

  describe('when the server itself fails on a frame', () => {
    afterEach(() => {
      vi.restoreAllMocks();
    });

    it('answers internal-error, counts it, and keeps the socket and the room', async () => {
      const a = await s.join('r', 'a');
      const b = await s.join('r', 'b');
      // The one fault we cannot make from outside any more: serialising the relay throws.
      vi.spyOn(JSON, 'stringify').mockImplementationOnce(() => {
        throw new RangeError('injected');
      });
      a.client.send('{"peer":"a","action":"boom","keyword":{}}');
      const err = await a.client.nextError('internal-error');
      expect(err.keyword.message).toMatch(/dropped/);
      a.client.say('a', 'after');
      await b.client.nextAction('after');
      const metrics = await (await fetch(`${s.url.replace(/^ws/, 'http')}/metrics`)).text();
      expect(metrics).toMatch(/^engage_internal_errors_total\{where="frame"\} 1$/m);
      expect(metrics).toMatch(/^engage_errors_total\{code="internal-error"\} 1$/m);
    });
  });
});
