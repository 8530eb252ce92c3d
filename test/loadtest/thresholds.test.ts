import { describe, expect, it } from 'vitest';
import {
  checkThresholds,
  type MetricValues,
  parseThreshold,
  parseThresholds,
} from '../../src/loadtest/metrics/thresholds.js';
import { makePlan } from '../../src/loadtest/plan/plan.js';
import { Trend } from '../../src/util/trend.js';

describe('thresholds', () => {
  it('parses k6-style expressions against the metric catalogue', () => {
    expect(parseThreshold('ice_connect_ms:p(95)<500')).toEqual([
      {
        source: 'ice_connect_ms:p(95)<500',
        metric: 'ice_connect_ms',
        aggregation: { p: 95 },
        operator: '<',
        value: 500,
      },
    ]);
    const [a, b] = parseThreshold('join_ms: avg <= 200 , max<1000');
    expect(a).toMatchObject({ aggregation: 'avg', operator: '<=', value: 200 });
    expect(b).toMatchObject({ aggregation: 'max', operator: '<', value: 1000 });
    expect(parseThreshold('links_failed:count==0')[0]).toMatchObject({
      aggregation: 'count',
      operator: '==',
    });
    expect(parseThreshold('generator_cpu_pct:avg<150')[0]).toMatchObject({ aggregation: 'avg' });
  });

  it('always holds a run to no failed bot and no failed link, unless a threshold names that metric', () => {
    expect(parseThresholds([]).map((t) => t.source)).toEqual([
      'bots_failed:count==0',
      'links_failed:count==0',
    ]);
    expect(parseThresholds(['links_failed:count<5', 'join_ms:p(95)<500']).map((t) => t.source)).toEqual([
      'links_failed:count<5',
      'join_ms:p(95)<500',
      'bots_failed:count==0',
    ]);
    // A report's own list (defaults included) parses back to itself: report merge re-reads it.
    const again = parseThresholds(parseThresholds(['join_ms:avg<9']).map((t) => t.source));
    expect(again.map((t) => t.source)).toEqual([
      'join_ms:avg<9',
      'bots_failed:count==0',
      'links_failed:count==0',
    ]);
  });

  it('refuses unknown metrics, wrong aggregations and malformed expressions as usage errors', () => {
    expect(() => parseThreshold('nope_ms:p(95)<1')).toThrow(/unknown metric "nope_ms"/);
    expect(() => parseThreshold('links_failed:p(95)<1')).toThrow(/counter/);
    expect(() => parseThreshold('join_ms:p(101)<1')).toThrow(/percentile/);
    expect(() => parseThreshold('join_ms:fast')).toThrow(/not an expression/);
    expect(() => parseThreshold('join_ms')).toThrow(/METRIC:/);
    expect(() => parseThresholds(['join_ms:avg<1', 'x:avg<1'])).toThrow(
      expect.objectContaining({ exitCode: 2 }),
    );
  });

  it('checks trends, counters and gauges', () => {
    const t = new Trend();
    for (let i = 1; i <= 100; i++) t.add(i);
    const values: MetricValues = {
      trend: () => Object.assign(t.stats(), { percentile: (p: number) => t.percentile(p) }),
      counter: (name) => (name === 'links_failed' ? 0 : 7),
      gauge: () => ({ avg: 50, min: 10, max: 90, last: 60 }),
      durationS: 10,
    };
    const results = checkThresholds(
      [
        'join_ms:p(95)<=95',
        'join_ms:p(95)<95.1',
        'join_ms:avg==50.5',
        'join_ms:med<=50',
        'join_ms:count>=100',
        'links_failed:count==0',
        'chat_sent:rate>0.5',
        'generator_cpu_pct:max<80',
        'generator_cpu_pct:value>=60',
      ].flatMap(parseThreshold),
      values,
    );
    // k6's percentiles of 1..100: p(95) at rank 94.05 is 95.05, the median at rank 49.5 is 50.5.
    expect(results.map((r) => [r.threshold, r.ok, Math.round(r.actual * 1000) / 1000])).toEqual([
      ['join_ms:p(95)<=95', false, 95.05],
      ['join_ms:p(95)<95.1', true, 95.05],
      ['join_ms:avg==50.5', true, 50.5],
      ['join_ms:med<=50', false, 50.5],
      ['join_ms:count>=100', true, 100],
      ['links_failed:count==0', true, 0],
      ['chat_sent:rate>0.5', true, 0.7],
      ['generator_cpu_pct:max<80', false, 90],
      ['generator_cpu_pct:value>=60', true, 60],
    ]);
  });
});

describe('plan', () => {
  it('spreads bots round robin over rooms, joining at the ramp rate', () => {
    const plan = makePlan({ bots: 7, rooms: 3, rampPerS: 2 }, 'abcd');
    expect([...plan.rooms.keys()]).toEqual(['load-abcd-0', 'load-abcd-1', 'load-abcd-2']);
    expect([...plan.rooms.values()].map((r) => r.length)).toEqual([3, 2, 2]);
    expect(plan.bots.map((b) => b.startAtMs)).toEqual([0, 500, 1000, 1500, 2000, 2500, 3000]);
    expect(plan.rampMs).toBe(3000);
    expect(() => makePlan({ bots: 2, rooms: 3, rampPerS: 1 })).toThrow(/more than/);
    expect(() => makePlan({ bots: 0, rooms: 1, rampPerS: 1 })).toThrow();
    expect(() => makePlan({ bots: 2, rooms: 1, rampPerS: 0 })).toThrow(/ramp/);
  });
});
