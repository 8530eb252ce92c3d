import { describe, expect, it } from 'vitest';
import { FrameHasher } from '../../src/peer/frame-catalog.js';

const keyOf = (parts: Uint8Array[], start = 0) => {
  const h = new FrameHasher();
  parts.forEach((p, i) => {
    h.push(p, i === 0 ? start : 0);
  });
  return h.key();
};

describe('FrameHasher', () => {
  const bytes = Uint8Array.from({ length: 1001 }, (_, i) => (i * 131 + 7) & 0xff);

  it('gives a frame the same key however its bytes are split into packets', () => {
    const whole = keyOf([bytes]);
    for (const cuts of [
      [1],
      [2],
      [3],
      [4],
      [5],
      [1, 2],
      [3, 6, 7],
      [500],
      [997, 998, 999, 1000],
      [0, 1001],
    ]) {
      const parts: Uint8Array[] = [];
      let from = 0;
      for (const c of [...cuts, bytes.length]) {
        parts.push(bytes.subarray(from, c));
        from = c;
      }
      expect(keyOf(parts)).toBe(whole);
    }
  });

  it('starts where it is told (a packet after its payload descriptor)', () => {
    const withHeader = new Uint8Array(3 + bytes.length);
    withHeader.set([0x90, 0x80, 0x12], 0);
    withHeader.set(bytes, 3);
    expect(keyOf([withHeader], 3)).toBe(keyOf([bytes]));
  });

  it('sees every one-byte change and every flipped bit, wherever it is', () => {
    const whole = keyOf([bytes]);
    for (let i = 0; i < bytes.length; i++) {
      for (const flip of [0x01, 0x80, 0xff]) {
        const damaged = Uint8Array.from(bytes);
        damaged[i]! ^= flip;
        expect(keyOf([damaged])).not.toBe(whole);
      }
    }
  });

  it('tells frames of different lengths apart, and starts afresh after reset', () => {
    const h = new FrameHasher();
    h.push(bytes.subarray(0, 8));
    const eight = h.key();
    h.reset();
    h.push(bytes.subarray(0, 8));
    expect(h.key()).toBe(eight);
    h.push(new Uint8Array(4));
    expect(h.key()).not.toBe(eight);
    expect(keyOf([new Uint8Array(4)])).not.toBe(keyOf([new Uint8Array(8)]));
  });
});
