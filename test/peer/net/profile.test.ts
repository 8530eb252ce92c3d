import { describe, expect, it } from 'vitest';
import {
  applyNetPatch,
  CLEAR_PROFILE,
  DEFAULT_QUEUE_MS,
  formatNetProfile,
  isClear,
  NetProfileError,
  parseNetPatch,
  parseNetProfile,
} from '../../../src/peer/net/profile.js';
import { EXIT } from '../../../src/util/errors.js';

describe('network profiles', () => {
  it("parses the issue's example onto the bot's egress, leaving ingress clear", () => {
    const p = parseNetProfile('loss=5%,delay=40ms,jitter=10ms,rate=1mbit,queue=50ms');
    expect(p.out).toEqual({
      lossPct: 5,
      burst: undefined,
      delayMs: 40,
      jitterMs: 10,
      reorder: false,
      rateBps: 1_000_000,
      queueMs: 50,
    });
    expect(isClear(p.in)).toBe(true);
    expect(formatNetProfile(p)).toBe('loss=5%,delay=40ms,jitter=10ms,rate=1mbit,queue=50ms');
  });

  it('direction prefixes apply to the items after them, until the next prefix', () => {
    const p = parseNetProfile('loss=2%,in:loss=10%,delay=30ms,out:delay=5ms');
    expect(p.out).toMatchObject({ lossPct: 2, delayMs: 5 });
    expect(p.in).toMatchObject({ lossPct: 10, delayMs: 30 });
    const both = parseNetProfile('both:delay=50ms');
    expect(both.out.delayMs).toBe(50);
    expect(both.in.delayMs).toBe(50);
    expect(formatNetProfile(both)).toBe('delay=50ms,in:delay=50ms');
  });

  it('reads units: s and ms, kbit/mbit/gbit, fractional values; burst, reorder', () => {
    const p = parseNetProfile('delay=0.1s,jitter=2.5ms,rate=300kbit,loss=0.5%,burst=4,reorder');
    expect(p.out).toMatchObject({
      delayMs: 100,
      jitterMs: 2.5,
      rateBps: 300_000,
      lossPct: 0.5,
      burst: 4,
      reorder: true,
      queueMs: DEFAULT_QUEUE_MS,
    });
    expect(parseNetProfile('rate=1.5mbit').out.rateBps).toBe(1_500_000);
    expect(parseNetProfile('reorder=off').out.reorder).toBe(false);
  });

  it('none clears; a patch keeps what it does not name', () => {
    const base = parseNetProfile('loss=10%,delay=40ms,in:delay=5ms');
    const cleared = applyNetPatch(base, parseNetPatch('loss=0%'));
    expect(cleared.out).toMatchObject({ lossPct: 0, delayMs: 40 });
    expect(cleared.in.delayMs).toBe(5);
    expect(applyNetPatch(base, parseNetPatch('none'))).toEqual(CLEAR_PROFILE);
    expect(formatNetProfile(CLEAR_PROFILE)).toBe('none');
  });

  it.each([
    ['', /empty/],
    ['loss=5', /percentage/],
    ['loss=150%', /percentage/],
    ['delay=40', /unit/],
    ['delay=20s', /at most/],
    ['rate=1mbps', /kbit, mbit/],
    ['rate=10bit', /at least 1kbit/],
    ['speed=1mbit', /unknown network profile key "speed"/],
    ['loss=5%,,delay=1ms', /empty item/],
    ['up:loss=5%', /unknown network profile key "up:loss"/],
    ['loss', /not key=value/],
    ['burst=0.5', /burst/],
    ['loss=60%,burst=1', /bursts of 1: use burst=2/],
  ])('refuses %j with a message that says what to write', (text, message) => {
    let error: unknown;
    try {
      parseNetProfile(text);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(NetProfileError);
    expect((error as NetProfileError).exitCode).toBe(EXIT.usage);
    expect((error as Error).message).toMatch(message);
  });
});
