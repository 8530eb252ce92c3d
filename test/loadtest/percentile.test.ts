import { describe, expect, it } from 'vitest';
import { percentile, percentileOf, Trend } from '../../src/util/trend.js';

const trendOf = (values: number[]) => {
  const t = new Trend();
  for (const v of values) t.add(v);
  return t;
};

describe('percentile() follows k6 (linear interpolation between closest ranks)', () => {
  // k6's own cases, from grafana/k6 metrics/sink_test.go (TestTrendSink "percentile" and "format").
  it("k6's examples: no values, one value, two values, ten unsorted values", () => {
    expect(percentile([], 95)).toBe(0);
    for (const p of [1, 50, 95, 100]) expect(percentile([10], p)).toBe(10);

    const two = trendOf([5, 10]);
    expect(two.percentile(0)).toBe(5);
    expect(two.percentile(50)).toBe(7.5);
    expect(two.percentile(95)).toBe(5 + (10 - 5) * 0.95);
    expect(two.percentile(99)).toBe(5 + (10 - 5) * 0.99);
    expect(two.percentile(100)).toBe(10);

    const ten = trendOf([0, 100, 30, 80, 70, 60, 50, 40, 90, 20]);
    expect(ten.percentile(0)).toBeCloseTo(0, 9);
    expect(ten.percentile(50)).toBeCloseTo(55, 9);
    expect(ten.percentile(90)).toBeCloseTo(91, 9);
    expect(ten.percentile(95)).toBeCloseTo(95.5, 9);
    expect(ten.percentile(99)).toBeCloseTo(99.1, 9);
    expect(ten.percentile(100)).toBeCloseTo(100, 9);
    // k6's Format(): min 0, max 100, avg 54, med 55, p(90) 91, p(95) 95.5.
    expect(ten.stats()).toMatchObject({ count: 10, min: 0, max: 100, avg: 54 });
    expect(ten.stats().p50).toBeCloseTo(55, 9);
    expect(ten.stats().p90).toBeCloseTo(91, 9);
    expect(ten.stats().p95).toBeCloseTo(95.5, 9);
  });

  it('values computed by hand: rank = p/100 × (n − 1), then interpolate', () => {
    // [1,2,3,4]: p25 → rank 0.75 → 1 + 0.75 × (2 − 1); p75 → rank 2.25 → 3 + 0.25 × (4 − 3).
    expect(percentile([1, 2, 3, 4], 25)).toBe(1.75);
    expect(percentile([1, 2, 3, 4], 75)).toBe(3.25);
    // 1..100: p50 → rank 49.5 → 50.5; p95 → rank 94.05 → 95.05; p99 → rank 98.01 → 99.01.
    const hundred = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(hundred, 50)).toBeCloseTo(50.5, 9);
    expect(percentile(hundred, 95)).toBeCloseTo(95.05, 9);
    expect(percentile(hundred, 99)).toBeCloseTo(99.01, 9);
    // A fractional percentile, as k6's p(99.9): 1..1000 → rank 998.001 → 999.001.
    const thousand = Array.from({ length: 1000 }, (_, i) => i + 1);
    expect(percentile(thousand, 99.9)).toBeCloseTo(999.001, 9);
    // Ties: [3,3,3,9]: p50 → rank 1.5 → 3; p90 → rank 2.7 → 3 + 0.7 × 6 = 7.2.
    expect(percentile([3, 3, 3, 9], 50)).toBe(3);
    expect(percentile([3, 3, 3, 9], 90)).toBeCloseTo(7.2, 9);
    // Negative values, as k6 tests: [-20, -10] → p50 = -15.
    expect(percentileOf([-10, -20], 50)).toBe(-15);
  });

  it('is not nearest-rank: the median of [10, 20] is 15, and p95 of 1..20 lies between 19 and 20', () => {
    expect(percentile([10, 20], 50)).toBe(15);
    // Nearest-rank would say 19; k6 says rank 18.05 → 19.05.
    expect(
      percentile(
        Array.from({ length: 20 }, (_, i) => i + 1),
        95,
      ),
    ).toBeCloseTo(19.05, 9);
  });

  it('percentileOf sorts a copy and leaves its input alone; a Trend sorts again after new samples', () => {
    const input = [40, 10, 30, 20];
    expect(percentileOf(input, 50)).toBe(25);
    expect(input).toEqual([40, 10, 30, 20]);
    const t = trendOf([3, 1]);
    expect(t.percentile(50)).toBe(2);
    t.add(0);
    t.add(10);
    // [0, 1, 3, 10]: rank 1.5 → 2; p(100) is the new maximum.
    expect(t.percentile(50)).toBe(2);
    expect(t.percentile(100)).toBe(10);
    expect(t.stats().min).toBe(0);
  });

  it('refuses a percentile outside 0..100', () => {
    expect(() => percentile([1, 2], 101)).toThrow(RangeError);
    expect(() => percentile([1, 2], -1)).toThrow(/0\.\.100/);
    expect(() => percentile([1, 2], Number.NaN)).toThrow(RangeError);
  });
});
