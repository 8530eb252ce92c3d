import { describe, expect, it } from 'vitest';
import { absSendTimeDelayMs, absSendTimeOf } from '../../src/peer/media-latency.js';
import { SequenceTracker } from '../../src/peer/sequence.js';

describe('sequence tracker', () => {
  it('tells loss before repair (gaps) from loss after it (never arrived), across the 16-bit wrap', () => {
    const t = new SequenceTracker();
    const seqs = [65530, 65531, 65533, 65534, 0, 1, 4, 5];
    for (const s of seqs) t.add(s);
    // 65532, 65535, 2, 3 missing: 4 gaps.
    expect(t.counts).toMatchObject({ expected: 12, received: 8, missedFirst: 4, recovered: 0 });
    // Two retransmissions arrive, one of them twice.
    t.add(65532);
    t.add(2);
    t.add(2);
    expect(t.counts).toMatchObject({
      expected: 12,
      received: 10,
      missedFirst: 4,
      recovered: 2,
      duplicates: 1,
    });
  });

  it('returns extended numbers that keep increasing past the wrap; very old packets are not placed', () => {
    const t = new SequenceTracker();
    expect(t.add(65535)).toBe(65535);
    expect(t.add(0)).toBe(65536);
    expect(t.add(1)).toBe(65537);
    expect(t.add(65534)).toBe(-1); // before the first packet
    const u = new SequenceTracker();
    u.add(0);
    u.add(5000);
    expect(u.add(10)).toBe(-1); // more than the window behind
    expect(u.counts.missedFirst).toBe(4999);
  });
});

describe('abs-send-time', () => {
  it('gives the one-way delay on one clock, across the 64 s wrap, negative for a clock ahead', () => {
    const sent = 1_700_000_063_990; // 10 ms before a 64 s boundary of the 24-bit clock
    const stamp = absSendTimeOf(sent);
    expect(absSendTimeDelayMs(stamp, sent + 50)).toBeCloseTo(50, 1);
    expect(absSendTimeDelayMs(stamp, sent)).toBeCloseTo(0, 1);
    expect(absSendTimeDelayMs(stamp, sent - 20)).toBeCloseTo(-20, 1);
    // Resolution is 1/2^18 s (3.8 µs).
    expect(Math.abs(absSendTimeDelayMs(stamp, sent + 0.5) - 0.5)).toBeLessThan(0.005);
  });
});
