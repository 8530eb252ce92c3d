import { describe, expect, it } from 'vitest';
import { formatNetProfile, NetProfileError } from '../../../src/peer/net/profile.js';
import { assignNetShares, parseNetShare } from '../../../src/peer/net/shares.js';

describe('load-test shares of a network profile (for engage loadtest --net)', () => {
  it('parses PCT%:PROFILE, a bare profile for every bot, and a schedule per share', () => {
    const s = parseNetShare('25%:loss=10%');
    expect(s.sharePct).toBe(25);
    expect(formatNetProfile(s.schedule.profileAt(0))).toBe('loss=10%');
    expect(parseNetShare('rate=300kbit').sharePct).toBe(100);
    const scheduled = parseNetShare('10%:loss=15%;20s:none');
    expect(scheduled.schedule.changeTimesMs).toEqual([20_000]);
    expect(() => parseNetShare('0%:loss=1%')).toThrow(NetProfileError);
    expect(() => parseNetShare('150%:loss=1%')).toThrow(/at most 100%/);
    expect(() => parseNetShare('25%:loss=x')).toThrow(/percentage/);
  });

  it('gives each share round(pct × n) bots, spread evenly, the same way every time', () => {
    const shares = [parseNetShare('25%:loss=10%'), parseNetShare('10%:rate=300kbit')];
    const a = assignNetShares(20, shares);
    expect(a).toEqual(assignNetShares(20, shares));
    expect(a.filter((g) => g === 0)).toHaveLength(5);
    expect(a.filter((g) => g === 1)).toHaveLength(2);
    expect(a.filter((g) => g === -1)).toHaveLength(13);
    // Spread: the 25% group never has two bots in a row, so round-robin rooms each get some.
    for (let k = 1; k < a.length; k++) expect(a[k] === 0 && a[k - 1] === 0).toBe(false);
    // A quarter of 12 bots is 3; counts add up with largest remainders.
    expect(
      assignNetShares(12, [parseNetShare('25%:loss=5%,delay=80ms')]).filter((g) => g === 0),
    ).toHaveLength(3);
    const thirds = assignNetShares(10, [parseNetShare('33.3%:loss=1%'), parseNetShare('33.3%:loss=2%')]);
    expect(thirds.filter((g) => g === 0).length + thirds.filter((g) => g === 1).length).toBe(7);
    expect(() => assignNetShares(10, [parseNetShare('60%:loss=1%'), parseNetShare('50%:loss=2%')])).toThrow(
      /add up to 110%/,
    );
    expect(assignNetShares(4, [parseNetShare('loss=1%')])).toEqual([0, 0, 0, 0]);
  });
});
