import { describe, expect, it } from 'vitest';
import { formatNetProfile, NetProfileError, parseNetProfile } from '../../../src/peer/net/profile.js';
import { NetSchedule } from '../../../src/peer/net/schedule.js';

const at = (s: NetSchedule, ms: number, base?: string) =>
  formatNetProfile(s.profileAt(ms, base === undefined ? undefined : parseNetProfile(base)));

describe('network schedules', () => {
  it("a load test's schedule: each step changes what it names, from its time on", () => {
    const s = NetSchedule.parse('20s:loss=15%;40s:loss=0%');
    expect(s.changeTimesMs).toEqual([20_000, 40_000]);
    expect(at(s, 0)).toBe('none');
    expect(at(s, 19_999)).toBe('none');
    expect(at(s, 20_000)).toBe('loss=15%');
    expect(at(s, 39_999)).toBe('loss=15%');
    expect(at(s, 40_000)).toBe('none');
    // Over a base (--net), steps keep the keys they do not name.
    expect(at(s, 25_000, 'delay=40ms')).toBe('loss=15%,delay=40ms');
    expect(at(s, 45_000, 'delay=40ms')).toBe('delay=40ms');
  });

  it("combines a share's profile with the run's schedule: the share first at equal times", () => {
    const share = NetSchedule.parse('loss=5%,delay=80ms;30s:none', { untimedFirst: true });
    const run = NetSchedule.parse('20s:loss=15%;30s:loss=2%');
    const s = NetSchedule.combine(share, run);
    expect(s.changeTimesMs).toEqual([20_000, 30_000]);
    expect(at(s, 0)).toBe('loss=5%,delay=80ms');
    expect(at(s, 20_000)).toBe('loss=15%,delay=80ms');
    // At 30 s the share clears everything, then the run's step sets its loss.
    expect(at(s, 30_000)).toBe('loss=2%');
    expect(s.describe()).toBe('loss=5%,delay=80ms;20s:loss=15%,delay=80ms;30s:loss=2%');
  });

  it("join's form: the first step may omit its time; none clears everything", () => {
    const s = NetSchedule.parse('loss=10%,in:delay=20ms;1m30s:none;2m:rate=300kbit', { untimedFirst: true });
    expect(s.steps.map((x) => x.atMs)).toEqual([0, 90_000, 120_000]);
    expect(at(s, 0)).toBe('loss=10%,in:delay=20ms');
    expect(at(s, 100_000)).toBe('none');
    expect(at(s, 120_000)).toBe('rate=300kbit,queue=50ms');
    expect(s.describe()).toBe('loss=10%,in:delay=20ms;90s:none;120s:rate=300kbit,queue=50ms');
    expect(String(s)).toBe('loss=10%,in:delay=20ms;1m30s:none;2m:rate=300kbit');
  });

  it.each([
    ['loss=5%;20s:loss=0%', {}, /needs a time, like 20s:loss=5%/],
    ['loss=5%;loss=0%', { untimedFirst: true }, /only the first step may omit it/],
    ['20s:loss=5%;10s:loss=0%', {}, /must increase/],
    ['20s:loss=5%;;30s:none', {}, /empty step 2/],
    ['20s:loss=5x', {}, /in step "20s:loss=5x": loss takes a percentage/],
    ['10s:loss=60%;20s:burst=1', {}, /in step "20s:burst=1".*bursts of 1/],
  ])('refuses %j', (text, options, message) => {
    expect(() => NetSchedule.parse(text, options)).toThrow(NetProfileError);
    expect(() => NetSchedule.parse(text, options)).toThrow(message);
  });
});
