import { describe, expect, it } from 'vitest';
import { RunAggregate } from '../../src/loadtest/metrics/aggregate.js';
import { clusterServerSummary } from '../../src/loadtest/metrics/cluster-summary.js';
import { mergeSnapshots, parsePrometheus } from '../../src/loadtest/metrics/server-metrics.js';
import { type LoadtestOptions, resolveSettings } from '../../src/loadtest/plan/options.js';
import { makePlan } from '../../src/loadtest/plan/plan.js';

describe('bots spread over several instances', () => {
  it('puts the members of each room on different instances, and fills the instances evenly', () => {
    for (const [bots, rooms, instances] of [
      [12, 4, 2],
      [12, 2, 2],
      [15, 3, 3],
      [20, 4, 3],
      [50, 10, 2],
      [7, 7, 3],
    ] as const) {
      const plan = makePlan({ bots, rooms, rampPerS: 10, instances }, 'abcd');
      const where = new Map(plan.bots.map((b) => [b.name, b.instance]));
      for (const members of plan.rooms.values()) {
        const used = members.map((m) => where.get(m)!);
        // As many distinct instances as the room has members, up to the instance count.
        expect(new Set(used).size).toBe(Math.min(members.length, instances));
        // And round robin within the room: each instance holds floor or ceil of its share.
        const perInstance = Array.from({ length: instances }, (_, i) => used.filter((u) => u === i).length);
        expect(Math.max(...perInstance) - Math.min(...perInstance)).toBeLessThanOrEqual(1);
      }
      const load = Array.from(
        { length: instances },
        (_, i) => plan.bots.filter((b) => b.instance === i).length,
      );
      expect(Math.max(...load) - Math.min(...load)).toBeLessThanOrEqual(Math.ceil(rooms / instances));
      expect(load.reduce((a, b) => a + b, 0)).toBe(bots);
    }
  });

  it('with 2 rooms on 2 instances, does not put a whole room on one instance (plain round robin would)', () => {
    const plan = makePlan({ bots: 4, rooms: 2, rampPerS: 10, instances: 2 }, 'abcd');
    expect(plan.bots.map((b) => [b.name, b.room, b.instance])).toEqual([
      ['bot-0', 'load-abcd-0', 0],
      ['bot-1', 'load-abcd-1', 1],
      ['bot-2', 'load-abcd-0', 1],
      ['bot-3', 'load-abcd-1', 0],
    ]);
  });

  it('one instance: every bot on it, the plan otherwise as before', () => {
    const plan = makePlan({ bots: 7, rooms: 3, rampPerS: 2 }, 'abcd');
    expect(plan.bots.every((b) => b.instance === 0)).toBe(true);
    expect(plan.bots.map((b) => b.room)).toEqual([0, 1, 2, 0, 1, 2, 0].map((i) => `load-abcd-${i}`));
  });

  it('refuses the same instance twice and a --url that is not a URL', () => {
    const base: LoadtestOptions = {
      bots: 2,
      rooms: 1,
      durationMs: 1000,
      rampPerS: 5,
      graceMs: 1000,
      signalingOnly: true,
      video: 'none',
      audio: 'none',
      thresholds: [],
    };
    expect(() => resolveSettings({ ...base, urls: ['ws://127.0.0.1:1', 'ws://127.0.0.1:1/ws'] })).toThrow(
      /same instance/,
    );
    expect(() => resolveSettings({ ...base, urls: ['nonsense'] })).toThrow(/not a URL/);
    expect(resolveSettings({ ...base, urls: ['ws://127.0.0.1:1', 'ws://127.0.0.1:2'] }).urls).toEqual([
      'ws://127.0.0.1:1',
      'ws://127.0.0.1:2',
    ]);
    expect(resolveSettings({ ...base, urls: [] }).urls).toBeUndefined();
  });
});

/** A /metrics text as engage serve writes it, with the counts given. */
function exposition(o: {
  sockets: number;
  inJoin: number;
  inOffer: number;
  out: number;
  errors?: number;
  buckets: number[];
}) {
  const les = ['0.001', '0.005', '0.01', '+Inf'];
  let cumulative = 0;
  return [
    '# HELP engage_connected_sockets open sockets',
    '# TYPE engage_connected_sockets gauge',
    `engage_connected_sockets ${o.sockets}`,
    `engage_messages_in_total{action="new-join"} ${o.inJoin}`,
    `engage_messages_in_total{action="new-offer"} ${o.inOffer}`,
    `engage_messages_out_total{action="new-offer"} ${o.out}`,
    ...(o.errors ? [`engage_errors_total{code="room-full"} ${o.errors}`] : []),
    ...les.map((le, i) => {
      cumulative += o.buckets[i] ?? 0;
      return `engage_relay_latency_seconds_bucket{le="${le}"} ${cumulative}`;
    }),
  ].join('\n');
}

describe('metrics summed over instances', () => {
  it('sums counters, gauges and histogram buckets series by series', () => {
    const a = parsePrometheus(
      exposition({ sockets: 3, inJoin: 1, inOffer: 2, out: 5, buckets: [10, 0, 0, 0] }),
    );
    const b = parsePrometheus(
      exposition({ sockets: 4, inJoin: 10, inOffer: 20, out: 50, buckets: [0, 0, 0, 10] }),
    );
    const m = mergeSnapshots([a, b]);
    const value = (name: string, labels: Record<string, string> = {}) =>
      m.samples.find((x) => x.name === name && JSON.stringify(x.labels) === JSON.stringify(labels))?.value;
    expect(value('engage_connected_sockets')).toBe(7);
    expect(value('engage_messages_in_total', { action: 'new-join' })).toBe(11);
    expect(value('engage_messages_in_total', { action: 'new-offer' })).toBe(22);
    expect(value('engage_relay_latency_seconds_bucket', { le: '0.001' })).toBe(10);
    expect(value('engage_relay_latency_seconds_bucket', { le: '+Inf' })).toBe(20);
    expect(m.samples).toHaveLength(a.samples.length);
  });

  it('gives each instance its counts and the cluster their sum, from the start of the run to its end', () => {
    const plan = makePlan({ bots: 6, rooms: 2, rampPerS: 10, instances: 2 }, 'abcd');
    const agg = new RunAggregate();
    agg.plan(plan.rooms);
    for (const b of plan.bots) agg.add({ type: 'bot', bot: b.name, room: b.room, state: 'joined' }, 0);
    // bot-1 (instance 1) is refused once and fails.
    agg.add(
      { type: 'count', metric: 'signal_errors', n: 1, bot: 'bot-1', room: 'load-abcd-1', code: 'room-full' },
      0,
    );
    agg.add({ type: 'bot', bot: 'bot-1', room: 'load-abcd-1', state: 'failed', error: 'room-full' }, 0);
    const snap = (o: Parameters<typeof exposition>[0]) => parsePrometheus(exposition(o));
    const views = [
      {
        url: 'ws://127.0.0.1:1',
        before: snap({ sockets: 0, inJoin: 100, inOffer: 0, out: 0, buckets: [5, 0, 0, 0] }),
        after: snap({ sockets: 0, inJoin: 103, inOffer: 4, out: 12, buckets: [15, 0, 0, 0] }),
        peakSockets: 3,
        bots: plan.bots.filter((b) => b.instance === 0).map((b) => b.name),
      },
      {
        url: 'ws://127.0.0.1:2',
        before: snap({ sockets: 0, inJoin: 0, inOffer: 0, out: 0, buckets: [0, 0, 0, 0] }),
        after: snap({ sockets: 1, inJoin: 3, inOffer: 2, out: 8, errors: 1, buckets: [0, 0, 9, 1] }),
        peakSockets: 3,
        bots: plan.bots.filter((b) => b.instance === 1).map((b) => b.name),
      },
    ];
    const s = clusterServerSummary(views, agg, 6);
    expect(s).toMatchObject({ source: 'remote', messagesIn: 12, messagesOut: 20, peakSockets: 6 });
    expect(s.errors).toEqual({ 'room-full': 1 });
    // 20 relays in the run: 10 under 1 ms, 9 under 10 ms, 1 above.
    expect(s.relayLatencyP50Ms).toBe(1);
    // Past the largest bucket there is no bound to give (and JSON has no Infinity).
    expect(s.relayLatencyP99Ms).toBeUndefined();
    expect(s.note).toBe("relay latency p99 above the histogram's largest bucket (10 ms)");
    expect(s.instances).toEqual([
      {
        url: 'ws://127.0.0.1:1',
        bots: 3,
        botsJoined: 3,
        botsFailed: 0,
        signalErrors: 0,
        source: 'remote',
        peakSockets: 3,
        messagesIn: 7,
        messagesOut: 12,
        errors: {},
        relayLatencyP50Ms: 1,
        relayLatencyP99Ms: 1,
      },
      {
        url: 'ws://127.0.0.1:2',
        bots: 3,
        botsJoined: 3,
        botsFailed: 1,
        signalErrors: 1,
        source: 'remote',
        peakSockets: 3,
        messagesIn: 5,
        messagesOut: 8,
        errors: { 'room-full': 1 },
        relayLatencyP50Ms: 10,
        note: "relay latency p99 above the histogram's largest bucket (10 ms)",
      },
    ]);
  });

  it('says which instance the totals miss when one did not answer', () => {
    const plan = makePlan({ bots: 2, rooms: 1, rampPerS: 10, instances: 2 }, 'abcd');
    const agg = new RunAggregate();
    agg.plan(plan.rooms);
    const snap = parsePrometheus(
      exposition({ sockets: 0, inJoin: 1, inOffer: 0, out: 2, buckets: [1, 0, 0, 0] }),
    );
    const views = [
      { url: 'ws://127.0.0.1:1/ws', before: { samples: [] }, after: snap, peakSockets: 1, bots: ['bot-0'] },
      { url: 'ws://127.0.0.1:2/ws', before: snap, after: undefined, peakSockets: undefined, bots: ['bot-1'] },
    ];
    const s = clusterServerSummary(views, agg, 1);
    expect(s.source).toBe('remote');
    expect(s.messagesIn).toBe(1);
    expect(s.note).toBe('the totals cover 1 of 2 instances: no engage_ metrics from ws://127.0.0.1:2/ws');
    expect(s.instances![1]).toEqual({
      url: 'ws://127.0.0.1:2/ws',
      bots: 1,
      botsJoined: 0,
      botsFailed: 0,
      signalErrors: 0,
      source: 'unavailable',
      note: 'no engage_ metrics at http://127.0.0.1:2/metrics at the end',
    });
    const none = clusterServerSummary(
      views.map((v) => ({ ...v, before: undefined })),
      agg,
      undefined,
    );
    expect(none).toMatchObject({
      source: 'unavailable',
      note: "no engage_ metrics at any of the 2 instances' /metrics",
    });
  });
});
