import { describe, expect, it } from 'vitest';
import { RunAggregate } from '../../src/loadtest/metrics/aggregate.js';
import { parsePrometheus, serverSummary } from '../../src/loadtest/metrics/server-metrics.js';
import { netGroups, resolveNetPlan } from '../../src/loadtest/plan/net-plan.js';
import { makePlan } from '../../src/loadtest/plan/plan.js';

/** The cumulative fields of a link sample, all zero: for tests about the other fields. */
const noCounts = {
  netLossPct: 0,
  packetsExpected: 0,
  packetsLost: 0,
  packetsLostBeforeRepair: 0,
  frames: { received: 0, incomplete: 0, corrupt: 0, freezeCount: 0, freezeMs: 0 },
  latencyMs: [],
};

describe('RunAggregate', () => {
  it('counts each pair once, by its offerer, and never-connected pairs of joined bots as failed', () => {
    const agg = new RunAggregate();
    agg.plan(new Map([['r', ['a', 'b', 'c']]]));
    expect(agg.counters.links_expected).toBe(3);
    for (const bot of ['a', 'b', 'c']) agg.add({ type: 'bot', bot, room: 'r', state: 'joined' }, 0);
    const link = (bot: string, remote: string, pairOwner: boolean) =>
      agg.add({ type: 'link', bot, room: 'r', remote, state: 'connected', pairOwner }, 0);
    link('a', 'b', true);
    link('b', 'a', false);
    link('a', 'c', true);
    link('c', 'a', false);
    link('a', 'b', true); // a repeated report of the same pair
    agg.tick(1, { cpuPct: 50, rssMb: 100, mainLoopLagMs: 2 });
    agg.finish();
    expect(agg.counters.links_connected).toBe(2);
    expect(agg.counters.links_failed).toBe(1);
    expect(agg.timeSeries[0]).toMatchObject({ t: 1, bots: 3, links: 2, cpuPct: 50 });
    const worst = agg.worstBots(1)[0]!;
    expect(worst.linksConnected).toBeLessThan(worst.linksExpected);
  });

  it('keeps signal errors by code, and a failed bot stays failed', () => {
    const agg = new RunAggregate();
    agg.plan(new Map([['r', ['a']]]));
    agg.add({ type: 'count', metric: 'signal_errors', n: 1, bot: 'a', room: 'r', code: 'rate-limited' }, 0);
    agg.add({ type: 'count', metric: 'signal_errors', n: 1, bot: 'a', room: 'r', code: 'rate-limited' }, 0);
    agg.add({ type: 'bot', bot: 'a', room: 'r', state: 'failed', error: 'boom' }, 0);
    agg.add({ type: 'bot', bot: 'a', room: 'r', state: 'left' }, 0);
    expect(agg.signalErrors).toEqual({ 'rate-limited': 2 });
    expect(agg.worstBots()[0]).toMatchObject({ bot: 'a', state: 'failed', error: 'boom' });
  });

  it('counts a video flow as stalled only when video stopped after it had started', () => {
    const agg = new RunAggregate();
    agg.plan(new Map([['r', ['a', 'b']]]));
    const sample = (bot: string, remote: string, videoFps: number) =>
      agg.add(
        {
          type: 'link-sample',
          bot,
          room: 'r',
          remote,
          videoKbps: videoFps * 8,
          audioKbps: 32,
          videoFps,
          lossPct: 0,
          jitterMs: 1,
          rttMs: 1,
          ...noCounts,
        },
        0,
      );
    sample('a', 'b', 0); // not started yet: no stall
    sample('a', 'b', 15);
    sample('a', 'b', 15);
    sample('b', 'a', 15);
    sample('b', 'a', 0); // stopped after it had started
    sample('b', 'a', 15);
    agg.finish();
    expect([agg.counters.video_flows, agg.counters.video_flows_stalled]).toEqual([1, 1]);
  });
});

describe('RunAggregate time series', () => {
  it("takes each second's RTT and jitter percentiles over live links with k6's percentile", () => {
    const agg = new RunAggregate();
    agg.plan(new Map([['r', ['a', 'b', 'c']]]));
    for (const bot of ['a', 'b', 'c']) agg.add({ type: 'bot', bot, room: 'r', state: 'joined' }, 0);
    const flows: Array<[string, string, number]> = [
      ['a', 'b', 10],
      ['b', 'a', 20],
      ['a', 'c', 30],
      ['c', 'a', 40],
    ];
    for (const [bot, remote, rtt] of flows) {
      agg.add({ type: 'link', bot, room: 'r', remote, state: 'connected', pairOwner: bot === 'a' }, 0);
      agg.add(
        {
          type: 'link-sample',
          bot,
          room: 'r',
          remote,
          videoKbps: 100,
          audioKbps: 30,
          videoFps: 15,
          lossPct: 0,
          jitterMs: rtt / 10,
          rttMs: rtt,
          ...noCounts,
        },
        0,
      );
    }
    agg.tick(1, { cpuPct: 10, rssMb: 100, mainLoopLagMs: 1 });
    // RTTs [10, 20, 30, 40]: p50 at rank 1.5 → 25; p95 at rank 2.85 → 30 + 0.85 × 10 = 38.5.
    // Jitter [1, 2, 3, 4]: p95 → 3.85, rounded to 3.9 in the series.
    expect(agg.timeSeries[0]).toMatchObject({ rttP50Ms: 25, rttP95Ms: 38.5, jitterP95Ms: 3.9 });
  });
});

describe('closed links and failed hosts leave the time series', () => {
  const sample = (bot: string, remote: string, videoKbps: number) =>
    ({
      type: 'link-sample',
      bot,
      room: 'r',
      remote,
      videoKbps,
      audioKbps: 30,
      videoFps: 15,
      lossPct: 1,
      jitterMs: 2,
      rttMs: 10,
      ...noCounts,
    }) as const;
  const link = (bot: string, remote: string, state: 'connected' | 'closed' | 'failed', pairOwner: boolean) =>
    ({ type: 'link', bot, room: 'r', remote, state, pairOwner }) as const;
  const tick = (agg: RunAggregate, t: number) => {
    agg.tick(t, { cpuPct: 10, rssMb: 100, mainLoopLagMs: 1 });
    return agg.timeSeries.at(-1)!;
  };
  const meshOfThree = () => {
    const agg = new RunAggregate();
    agg.plan(new Map([['r', ['a', 'b', 'c']]]));
    for (const bot of ['a', 'b', 'c']) agg.add({ type: 'bot', bot, room: 'r', state: 'joined' }, 0);
    for (const [bot, remote, owner] of [
      ['a', 'b', true],
      ['b', 'a', false],
      ['a', 'c', true],
      ['c', 'a', false],
    ] as const) {
      agg.add(link(bot, remote, 'connected', owner), 0);
      agg.add(sample(bot, remote, 100), 0);
    }
    return agg;
  };

  it("drops a closed link's last sample from the sums, and ignores a sample that arrives after it closed", () => {
    const agg = meshOfThree();
    expect(tick(agg, 1)).toMatchObject({ links: 2, videoKbps: 400, audioKbps: 120 });
    agg.add(link('a', 'c', 'closed', true), 0);
    agg.add(link('c', 'a', 'closed', false), 0);
    expect(tick(agg, 2)).toMatchObject({ links: 1, videoKbps: 200, audioKbps: 60 });
    // Stats read as the link closed: a measurement for the trends, not a live link.
    agg.add(sample('c', 'a', 100), 0);
    expect(tick(agg, 3)).toMatchObject({ links: 1, videoKbps: 200 });
    expect(agg.trends.get('video_bitrate_kbps')!.count).toBe(5);
    // A failed link leaves the same way.
    agg.add(link('b', 'a', 'failed', false), 0);
    expect(tick(agg, 4)).toMatchObject({ videoKbps: 100 });
  });

  it("counts a failed host's bots failed with the reason, and takes their links out of the series", () => {
    const agg = meshOfThree();
    agg.add({ type: 'bot', bot: 'b', room: 'r', state: 'left' }, 0);
    // The pool names the bots the host still had: c joined, d was sent but never reported back.
    agg.plan(new Map([['r2', ['d']]]));
    agg.hostFailed(['c', 'd'], 'host 1 (worker thread) failed: Error: boom');
    expect(agg.counters.bots_failed).toBe(2);
    expect(agg.counters.bots_started).toBe(1);
    const bots = agg.worstBots(10);
    expect(bots.filter((b) => b.state === 'failed').map((b) => [b.bot, b.error])).toEqual([
      ['c', 'host 1 (worker thread) failed: Error: boom'],
      ['d', 'host 1 (worker thread) failed: Error: boom'],
    ]);
    // a-c is gone from the live links; c's sample of a is gone from the sums (b left: its sample too).
    expect(tick(agg, 1)).toMatchObject({ links: 1, bots: 1, videoKbps: 200 });
  });
});

describe('server metrics', () => {
  it('reads totals, errors and relay latency quantiles from Prometheus text, as a delta', () => {
    const before = parsePrometheus('engage_messages_in_total{action="new-join"} 2\n');
    const after = parsePrometheus(
      [
        '# HELP x',
        'engage_messages_in_total{action="new-join"} 5',
        'engage_messages_in_total{action="other"} 1',
        'engage_messages_out_total{action="new-join"} 9',
        'engage_errors_total{code="bad-json"} 3',
        'engage_errors_total{code="too-large"} 0',
        'engage_relay_latency_seconds_bucket{le="0.0001"} 50',
        'engage_relay_latency_seconds_bucket{le="0.001"} 99',
        'engage_relay_latency_seconds_bucket{le="0.01"} 100',
        'engage_relay_latency_seconds_bucket{le="+Inf"} 100',
      ].join('\n'),
    );
    expect(serverSummary('remote', after, before)).toEqual({
      source: 'remote',
      messagesIn: 4,
      messagesOut: 9,
      errors: { 'bad-json': 3 },
      relayLatencyP50Ms: 0.1,
      relayLatencyP99Ms: 1,
    });
  });
});

describe('profile groups, frames and what carried each link', () => {
  const sample = (
    bot: string,
    remote: string,
    o: {
      expected: number;
      lostBefore: number;
      lost?: number;
      frames?: number;
      freezes?: number;
      via?: 'host' | 'relay';
      latency?: number;
    },
  ) =>
    ({
      type: 'link-sample',
      bot,
      room: 'r',
      remote,
      videoKbps: 100,
      audioKbps: 30,
      videoFps: 15,
      lossPct: 0,
      jitterMs: 2,
      rttMs: 10,
      netLossPct: (100 * o.lostBefore) / o.expected,
      packetsExpected: o.expected,
      packetsLost: o.lost ?? 0,
      packetsLostBeforeRepair: o.lostBefore,
      frames: {
        received: o.frames ?? 0,
        incomplete: 1,
        corrupt: 0,
        freezeCount: o.freezes ?? 0,
        freezeMs: 100 * (o.freezes ?? 0),
      },
      latencyMs: [o.latency ?? 1] as number[],
      ...(o.via ? { via: o.via } : {}),
    }) as const;

  it('sets each group against what its flows measured, sent and received, and counts frames once', () => {
    const plan = resolveNetPlan({ net: ['25%:loss=10%,delay=40ms'] }, false)!;
    const groups = netGroups(plan, ['a', 'b', 'c', 'd']);
    // One bot of four gets the share, deterministically; the other three are the `none` group.
    expect(groups.map((g) => [g.profile, g.bots.length])).toEqual([
      ['loss=10%,delay=40ms', 1],
      ['none', 3],
    ]);
    expect(groups[0]!.configured.out).toEqual({ lossPct: 10, delayMs: 40, jitterMs: 0 });
    expect(netGroups(plan, ['a', 'b', 'c', 'd'])).toEqual(groups);
    const shaped = groups[0]!.bots[0]!;
    const clean = groups[1]!.bots;
    const agg = new RunAggregate();
    agg.plan(new Map([['r', [shaped, ...clean]]]));
    agg.planNet(groups);
    for (const bot of [shaped, ...clean]) agg.add({ type: 'bot', bot, room: 'r', state: 'joined' }, 0);
    // Receivers of the shaped bot lose 10%; everything else is clean. Cumulative counts: the later sample wins.
    for (const r of clean) {
      agg.add({ type: 'link', bot: r, room: 'r', remote: shaped, state: 'connected', pairOwner: true }, 0);
      agg.add(sample(r, shaped, { expected: 500, lostBefore: 40, frames: 50, latency: 41 }), 0);
      agg.add(
        sample(r, shaped, {
          expected: 1000,
          lostBefore: 100,
          lost: 10,
          frames: 100,
          freezes: 1,
          via: 'relay',
          latency: 42,
        }),
        0,
      );
      agg.add(sample(shaped, r, { expected: 1000, lostBefore: 0, frames: 100, via: 'relay' }), 0);
    }
    agg.add(sample(clean[0]!, clean[1]!, { expected: 1000, lostBefore: 0, frames: 100, via: 'host' }), 0);
    agg.add(
      { type: 'link', bot: clean[0]!, room: 'r', remote: clean[1]!, state: 'connected', pairOwner: true },
      0,
    );
    agg.finish();
    const [g, rest] = agg.net.results();
    expect(g!.sent).toMatchObject({
      flows: 3,
      packets: 3000,
      netLossPct: 10,
      lossPct: 1,
      latencyP50Ms: 41.5,
    });
    expect(g!.received).toMatchObject({ flows: 3, netLossPct: 0, framesReceived: 300 });
    expect(rest!.received).toMatchObject({ flows: 4, netLossPct: 7.5 });
    expect(rest!.sent).toMatchObject({ flows: 4, netLossPct: 0, freezeCount: 0 });
    // 7 flows × 100 frames, each counted once though sampled twice; 3 freezes.
    expect(agg.counters.frames_received).toBe(700);
    expect(agg.counters.freeze_count).toBe(3);
    expect(agg.counters.freeze_ms).toBe(300);
    expect([agg.counters.links_relay, agg.counters.links_host]).toEqual([3, 1]);
    expect(agg.trends.get('media_latency_ms')!.count).toBe(10);
    expect(agg.worstBots(10).find((b) => b.bot === shaped)?.net).toBe('loss=10%,delay=40ms');
  });

  it('spreads a share over the rooms when given the bots room by room', () => {
    const plan = makePlan({ bots: 12, rooms: 4, rampPerS: 5 });
    const net = resolveNetPlan({ net: ['25%:loss=5%'] }, false)!;
    const [lossy] = netGroups(net, [...plan.rooms.values()].flat());
    const roomOf = new Map(plan.bots.map((b) => [b.name, b.room]));
    expect(lossy!.bots).toHaveLength(3);
    expect(new Set(lossy!.bots.map((b) => roomOf.get(b))).size).toBe(3);
  });

  it('refuses shares over 100%, a schedule step without a time, and --relay-only without TURN', () => {
    expect(() => resolveNetPlan({ net: ['60%:loss=1%', '50%:loss=2%'] }, false)).toThrow(/more than 100%/);
    expect(() => resolveNetPlan({ netSchedule: 'loss=5%' }, false)).toThrow(/needs a time/);
    expect(() => resolveNetPlan({ relayOnly: true }, false)).toThrow(/needs a TURN server/);
    expect(() => resolveNetPlan({ net: ['loss=1%'] }, true)).toThrow(/signaling-only/);
    expect(resolveNetPlan({}, false)).toBeUndefined();
  });
});
