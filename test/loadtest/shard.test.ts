import { describe, expect, it } from 'vitest';
import { type BotRecord, judgeLinks } from '../../src/loadtest/metrics/links.js';
import { mergeParts } from '../../src/loadtest/metrics/merge.js';
import type { ShardPart } from '../../src/loadtest/metrics/part.js';
import { makePlan } from '../../src/loadtest/plan/plan.js';
import { parseShard, parseStartAt, planHash, shardOfBot, shardPlan } from '../../src/loadtest/plan/shard.js';
import { UsageError } from '../../src/util/errors.js';
import { percentileOf } from '../../src/util/trend.js';
import { fixtureSummary } from '../helpers/summary-fixture.js';

describe('sharding a plan', () => {
  it('parses i/n from 0, and refuses what is not one', () => {
    expect(parseShard('2/3')).toEqual({ index: 2, count: 3 });
    for (const bad of ['3/3', '1', '-1/2', '0/0', 'a/b']) expect(() => parseShard(bad)).toThrow(UsageError);
    expect(parseStartAt('1700000000', 1_700_000_000_000)).toBe(1_700_000_000_000);
    expect(() => parseStartAt('soon')).toThrow(UsageError);
    expect(() => parseStartAt('2099-01-01T00:00:00Z')).toThrow(/24 hours/);
  });

  it('spreads every room over every shard and gives shards equal shares, whatever rooms and n are', () => {
    for (const [bots, rooms, n] of [
      [12, 2, 3],
      [12, 3, 3],
      [24, 1, 3],
      [40, 4, 4],
      [100, 10, 5],
    ] as const) {
      const plan = makePlan({ bots, rooms, rampPerS: 5 }, 'x');
      const parts = Array.from({ length: n }, (_, i) => shardPlan(plan, rooms, { index: i, count: n }));
      // Every bot on exactly one shard, with its name and start time as in the single run.
      expect(parts.flatMap((p) => p.bots).sort((a, b) => a.startAtMs - b.startAtMs)).toEqual(plan.bots);
      for (const p of parts) expect(p.rampMs).toBe(plan.rampMs);
      const sizes = parts.map((p) => p.bots.length);
      expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(rooms);
      for (const members of plan.rooms.values()) {
        const shards = new Set(members.map((m) => shardOfBot(Number(m.slice(4)), rooms, n)));
        expect(shards.size).toBe(Math.min(n, members.length));
      }
    }
  });

  it('hashes the plan flags whatever their order, and any difference changes it', () => {
    expect(planHash({ bots: 12, rooms: 2 })).toBe(planHash({ rooms: 2, bots: 12 }));
    expect(planHash({ bots: 12, rooms: 2 })).not.toBe(planHash({ bots: 12, rooms: 3 }));
    expect(planHash({ bots: 12, extra: undefined })).toBe(planHash({ bots: 12 }));
  });
});

const record = (bot: string, connected: string[], extra: Partial<BotRecord> = {}): BotRecord => ({
  bot,
  room: 'r',
  state: 'left',
  joined: true,
  connected,
  failed: [],
  lossSum: 0,
  lossCount: 0,
  ...extra,
});

describe('judging links from both ends', () => {
  const rooms = new Map([['r', ['a', 'b', 'c']]]);

  it('connects a pair only when both ends say so; one end saying failed fails it', () => {
    const records = new Map([
      ['a', record('a', ['b', 'c'])],
      ['b', record('b', ['a'], { failed: ['a'] })],
      ['c', record('c', [])],
    ]);
    expect(judgeLinks(rooms, records)).toMatchObject({ expected: 3, connected: 1, failed: 3 });
  });

  it('judges a pair with one end absent by the end present', () => {
    const records = new Map([['a', record('a', ['b'])]]);
    // a-b connected by a's account; a-c never connected; b-c has no end present.
    expect(judgeLinks(rooms, records)).toMatchObject({ expected: 2, connected: 1, failed: 1 });
  });
});

function part(index: number, trends: Record<string, number[]>, counters: Record<string, number>): ShardPart {
  const f = fixtureSummary({ points: 3 });
  return {
    shard: { index, count: 2 },
    runId: 'm',
    planHash: '0123456789abcdef',
    host: `gen-${index}`,
    startedAt: f.run.startedAt,
    endedAt: f.run.endedAt,
    durationS: f.run.durationS,
    lateMs: 0,
    interrupted: false,
    failures: [],
    url: 'ws://127.0.0.1:1',
    urls: ['ws://127.0.0.1:1'],
    embeddedServer: false,
    plan: { ...f.plan, bots: 2, rooms: 1, roomSizes: [2], browsers: 0 },
    thresholds: [],
    trends,
    counters,
    signalErrors: {},
    gauges: {},
    bots: [record(`bot-${index}`, [`bot-${1 - index}`], { room: 'load-m-0' })],
    timeSeries: f.timeSeries,
    liveFlows: f.timeSeries.map(() => 1),
    generator: f.generator,
    server: { source: 'unavailable' },
    browsers: [],
  };
}

describe('merging parts', () => {
  it('merges every trend and counter by its kind, a name it has never heard of included', () => {
    const a = part(
      0,
      { media_latency_ms: [1, 2, 30], ice_connect_ms: [5] },
      { frames_dropped: 2, chat_sent: 1 },
    );
    const b = part(
      1,
      { media_latency_ms: [4, 100], ice_connect_ms: [] },
      { frames_dropped: 3, chat_sent: 1 },
    );
    const s = mergeParts([a, b], []);
    const trends = s.metrics.trends as unknown as Record<string, { count: number; p50: number; p95: number }>;
    expect(trends.media_latency_ms).toMatchObject({
      count: 5,
      p50: 4,
      p95: percentileOf([1, 2, 30, 4, 100], 95),
    });
    expect(trends.ice_connect_ms!.count).toBe(1);
    expect((s.metrics.counters as unknown as Record<string, number>).frames_dropped).toBe(5);
    expect(s.metrics.counters.chat_sent).toBe(2);
    expect(s.metrics.counters).toMatchObject({ links_expected: 1, links_connected: 1 });
    expect(s.shards!.map((r) => r.host)).toEqual(['gen-0', 'gen-1']);
    expect(s.timeSeries[0]!.bots).toBe(2 * a.timeSeries[0]!.bots);
  });
});
