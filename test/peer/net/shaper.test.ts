import { afterEach, describe, expect, it } from 'vitest';
import { DelayLine } from '../../../src/peer/net/delay-line.js';
import { parseNetProfile } from '../../../src/peer/net/profile.js';
import { NetSchedule } from '../../../src/peer/net/schedule.js';
import { NetShaper } from '../../../src/peer/net/shaper.js';

describe('delay line', () => {
  const lines: DelayLine[] = [];
  afterEach(() => {
    for (const l of lines.splice(0)) l.close();
  });

  it('hands packets on at their time, in order, never early, with one timer', async () => {
    const line = new DelayLine();
    lines.push(line);
    const t0 = performance.now();
    const got: Array<[number, number]> = [];
    for (let i = 0; i < 20; i++) line.push(t0 + 30 + (i % 5), () => got.push([i, performance.now() - t0]));
    expect(line.size).toBe(20);
    await new Promise((r) => setTimeout(r, 120));
    expect(got.map(([i]) => i)).toEqual([
      0, 5, 10, 15, 1, 6, 11, 16, 2, 7, 12, 17, 3, 8, 13, 18, 4, 9, 14, 19,
    ]);
    for (const [i, at] of got) expect(at).toBeGreaterThanOrEqual(30 + (i % 5));
  });

  it('delivers at once when a packet is due and nothing waits; close drops the rest', async () => {
    const line = new DelayLine();
    lines.push(line);
    let n = 0;
    line.push(performance.now() - 1, () => n++);
    expect(n).toBe(1);
    line.push(performance.now() + 20, () => n++);
    line.close();
    line.push(performance.now() - 1, () => n++);
    await new Promise((r) => setTimeout(r, 40));
    expect(n).toBe(1);
  });

  it('a delivery that throws is counted and does not stop the others', async () => {
    const line = new DelayLine();
    lines.push(line);
    let n = 0;
    const due = performance.now() + 5;
    line.push(due, () => {
      throw new Error('socket closed');
    });
    line.push(due, () => n++);
    await new Promise((r) => setTimeout(r, 30));
    expect(n).toBe(1);
    expect(line.deliveryErrors).toBe(1);
  });
});

describe('net shaper', () => {
  const shapers: NetShaper[] = [];
  afterEach(() => {
    for (const s of shapers.splice(0)) s.close();
  });

  it('a clear direction delivers synchronously and counts; the other direction is shaped', () => {
    const shaper = NetShaper.fromText('loss=100%');
    shapers.push(shaper);
    let inbound = 0;
    let outbound = 0;
    expect(shaper.offer('in', 100, () => inbound++)).toBe(true);
    expect(shaper.offer('out', 100, () => outbound++)).toBe(false);
    expect(inbound).toBe(1);
    expect(outbound).toBe(0);
    expect(shaper.stats()).toMatchObject({
      profile: 'loss=100%',
      out: { packets: 1, lost: 1 },
      in: { packets: 1, bytes: 100, lost: 0 },
    });
  });

  it('follows its schedule on a clock it is given, with the same seed giving the same pattern', () => {
    let now = 0;
    const changes: Array<[string, number, number]> = [];
    const run = () => {
      now = 0;
      const shaper = NetShaper.fromText('loss=50%;10s:none', {
        now: () => now,
        seed: 7,
        onChange: (profile, step) => changes.push([profile, step, now]),
      });
      shapers.push(shaper);
      const pattern: boolean[] = [];
      for (let i = 0; i < 200; i++) {
        now = i * 100; // 0 .. 19.9 s
        pattern.push(shaper.offer('out', 100, () => {}));
      }
      return { pattern, stats: shaper.stats() };
    };
    const a = run();
    const b = run();
    expect(a.pattern).toEqual(b.pattern);
    const before = a.pattern.slice(0, 100).filter((x) => !x).length;
    const after = a.pattern.slice(100).filter((x) => !x).length;
    expect(before).toBeGreaterThan(30);
    expect(before).toBeLessThan(70);
    expect(after).toBe(0);
    expect(a.stats).toMatchObject({ profile: 'none', step: 1 });
    // Told once per run, with the first packet at or after 10 s.
    expect(changes).toEqual([
      ['none', 1, 10_000],
      ['none', 1, 10_000],
    ]);
  });

  it("a base (a load test's --net) applies before its schedule's first step", () => {
    let now = 0;
    const shaper = new NetShaper({
      schedule: NetSchedule.parse('5s:loss=10%'),
      base: parseNetProfile('delay=40ms'),
      now: () => now,
    });
    shapers.push(shaper);
    expect(shaper.stats().profile).toBe('delay=40ms');
    now = 6000;
    expect(shaper.stats().profile).toBe('loss=10%,delay=40ms');
  });

  it("counts its schedule from an origin it is given (a load test's start), steps already past in force", () => {
    let now = 12_000;
    const shaper = new NetShaper({
      schedule: NetSchedule.parse('5s:loss=10%;20s:none'),
      now: () => now,
      origin: 0,
    });
    shapers.push(shaper);
    expect(shaper.stats()).toMatchObject({ profile: 'loss=10%', step: 0 });
    now = 20_000;
    expect(shaper.stats()).toMatchObject({ profile: 'none', step: 1 });
  });

  it('after a change to clear, packets still in flight are not overtaken', async () => {
    const shaper = NetShaper.fromText('delay=300ms;50ms:none');
    shapers.push(shaper);
    const order: number[] = [];
    shaper.offer('out', 10, () => order.push(1));
    await new Promise((r) => setTimeout(r, 60));
    // Clear now, but packet 1 is still on its way: packet 2 waits behind it rather than arriving first.
    expect(shaper.stats().profile).toBe('none');
    shaper.offer('out', 10, () => order.push(2));
    expect(order).toEqual([]);
    await new Promise((r) => setTimeout(r, 400));
    expect(order).toEqual([1, 2]);
  });
});
