import { Trend } from '../../util/trend.js';
import { makePlan } from '../plan/plan.js';
import { COUNTER_METRICS, GAUGE_METRICS, TREND_METRICS } from './catalogue.js';
import { type GaugeState, type GaugeStats, gaugeStats } from './gauge.js';
import { type BotRecord, judgeLinks, worstBots, worstRooms } from './links.js';
import { mergeNetGroups } from './net-groups.js';
import type { ShardPart } from './part.js';
import {
  type GeneratorSummary,
  REPORT_SCHEMA,
  type RunSummary,
  type ServerSummary,
  type ShardRow,
  type TimePoint,
} from './summary.js';
import { checkThresholds, type MetricValues, type Threshold } from './thresholds.js';

/**
 * The summary of a run from its parts (one generator's, or every shard's): trends merge by pooling
 * their exact samples, counters by adding up, gauges by pooling readings, links by judging each pair
 * from the bots' own views, and thresholds are checked on the merged data. Whatever the metric's name:
 * a trend or counter a newer engage adds merges by its kind. Parts must be of one run and plan
 * (checkMergeable).
 */
export function mergeParts(input: ShardPart[], thresholds: Threshold[]): RunSummary {
  const parts = [...input].sort((a, b) => a.shard.index - b.shard.index);
  const first = parts[0]!;
  const trends = mergeTrends(parts);
  const counters = sumRecords(
    parts.map((p) => p.counters),
    Object.keys(COUNTER_METRICS),
  );
  const gauges = mergeGauges(parts);
  const records = new Map<string, BotRecord>(parts.flatMap((p) => p.bots.map((b) => [b.bot, b] as const)));
  const plannedRooms = makePlan(
    {
      bots: first.plan.bots,
      rooms: first.plan.rooms,
      rampPerS: first.plan.rampPerS,
      browsers: first.plan.browsers,
    },
    first.runId,
  ).rooms;
  // The link counters are judged from both ends of each link; every other counter adds up.
  const links = judgeLinks(plannedRooms, records);
  counters.links_expected = links.expected;
  counters.links_connected = links.connected;
  counters.links_failed = links.failed;
  const t0 = Math.min(...parts.map((p) => Date.parse(p.startedAt)));
  const t1 = Math.max(...parts.map((p) => Date.parse(p.startedAt) + p.durationS * 1000));
  const durationS = parts.length === 1 ? first.durationS : Math.round((t1 - t0) / 100) / 10;
  const values: MetricValues = {
    trend: (name) => {
      const t = trends.get(name) ?? new Trend();
      return Object.assign(t.stats(), { percentile: (p: number) => t.percentile(p) });
    },
    counter: (name) => counters[name] ?? 0,
    gauge: (name) => gauges[name] ?? { avg: 0, min: 0, max: 0, last: 0 },
    durationS,
  };
  const roomSize = (room: string) => plannedRooms.get(room)?.length ?? 1;
  const sharded = first.shard.count > 1;
  return {
    schema: REPORT_SCHEMA,
    run: {
      id: first.runId,
      startedAt: new Date(t0).toISOString(),
      endedAt: new Date(Math.max(...parts.map((p) => Date.parse(p.endedAt)))).toISOString(),
      durationS,
      interrupted: parts.some((p) => p.interrupted),
      failures: parts.flatMap((p) =>
        sharded
          ? p.failures.map((f) => ({ ...f, reason: `shard ${p.shard.index}: ${f.reason}` }))
          : p.failures,
      ),
      url: [...new Set(parts.map((p) => p.url))].join(', '),
      urls: [...new Set(parts.flatMap((p) => p.urls))],
      embeddedServer: parts.some((p) => p.embeddedServer),
      planHash: first.planHash,
      shards: {
        count: first.shard.count,
        included: parts.map((p) => p.shard.index),
        bots: records.size,
        flows: [...records.values()].reduce((n, b) => n + roomSize(b.room) - 1, 0),
      },
      ...(first.startAt ? { startAt: first.startAt } : {}),
    },
    plan: { ...first.plan, workers: parts.reduce((n, p) => n + p.plan.workers, 0) },
    thresholds: checkThresholds(thresholds, values),
    metrics: {
      trends: Object.fromEntries(
        [...trends].map(([k, t]) => [k, t.stats()]),
      ) as RunSummary['metrics']['trends'],
      counters: counters as RunSummary['metrics']['counters'],
      gauges: gauges as RunSummary['metrics']['gauges'],
    },
    signalErrors: sumRecords(parts.map((p) => p.signalErrors)),
    server: mergeServer(parts),
    generator: mergeGenerators(parts),
    ...(sharded ? { shards: shardRows(parts, t0) } : {}),
    worstRooms: worstRooms(links.rooms),
    worstBots: worstBots(records.values(), roomSize),
    browsers: parts.flatMap((p) => p.browsers),
    ...(parts.some((p) => p.netGroups)
      ? {
          netGroups: mergeNetGroups(
            parts.map((p) => ({
              groups: p.netGroups ?? [],
              offsetS: Math.round((Date.parse(p.startedAt) - t0) / 1000),
            })),
          ),
        }
      : {}),
    timeSeries: parts.length === 1 ? first.timeSeries : mergeTimeSeries(parts, t0),
    parts,
  };
}

/** Every part's samples pooled, by trend name; the catalogue's trends are present even when empty. */
function mergeTrends(parts: ShardPart[]): Map<string, Trend> {
  const names = new Set([...Object.keys(TREND_METRICS), ...parts.flatMap((p) => Object.keys(p.trends))]);
  const trends = new Map<string, Trend>();
  for (const name of names) {
    const samples = parts.flatMap((p) => p.trends[name] ?? []);
    if (parts.length > 1) samples.sort((a, b) => a - b);
    trends.set(name, Trend.ofSorted(samples));
  }
  return trends;
}

function sumRecords(records: Record<string, number>[], names: string[] = []): Record<string, number> {
  const sum: Record<string, number> = Object.fromEntries(names.map((n) => [n, 0]));
  for (const r of records) for (const [k, v] of Object.entries(r)) sum[k] = (sum[k] ?? 0) + v;
  return sum;
}

/** Readings of every generator pooled (count-weighted avg, min, max; last of the part that ended last). */
function mergeGauges(parts: ShardPart[]): Record<string, GaugeStats> {
  const names = new Set([...Object.keys(GAUGE_METRICS), ...parts.flatMap((p) => Object.keys(p.gauges))]);
  const byEnd = [...parts].sort((a, b) => Date.parse(a.endedAt) - Date.parse(b.endedAt));
  const out: Record<string, GaugeStats> = {};
  for (const name of names) out[name] = gaugeStats(poolGauge(byEnd, name));
  return out;
}

/** One gauge's readings over several parts, pooled; `last` is the last part's (parts in order of ending). */
function poolGauge(parts: ShardPart[], name: string): GaugeState {
  const states = parts.map((p) => p.gauges[name]).filter((s): s is GaugeState => s !== undefined && s.n > 0);
  return {
    n: states.reduce((n, s) => n + s.n, 0),
    sum: states.reduce((n, s) => n + s.sum, 0),
    min: states.length === 0 ? 0 : Math.min(...states.map((s) => s.min)),
    max: states.length === 0 ? 0 : Math.max(...states.map((s) => s.max)),
    last: states.at(-1)?.last ?? 0,
  };
}

/**
 * Every generator measured the same server's /metrics over nearly the same window: the part whose
 * window counted the most messages covers the run best.
 */
function mergeServer(parts: ShardPart[]): ServerSummary {
  const best = [...parts].sort((a, b) => (b.server.messagesIn ?? -1) - (a.server.messagesIn ?? -1))[0]!
    .server;
  if (!best.instances || parts.length === 1) return best;
  // Each generator counted only its own bots on each instance: those add up.
  const mine = (url: string) => parts.flatMap((p) => p.server.instances?.filter((i) => i.url === url) ?? []);
  return {
    ...best,
    instances: best.instances.map((i) => {
      const all = mine(i.url);
      const total = (f: (x: (typeof all)[number]) => number) => all.reduce((n, x) => n + f(x), 0);
      return {
        ...i,
        bots: total((x) => x.bots),
        botsJoined: total((x) => x.botsJoined),
        botsFailed: total((x) => x.botsFailed),
        signalErrors: total((x) => x.signalErrors),
      };
    }),
  };
}

function mergeGenerators(parts: ShardPart[]): GeneratorSummary {
  if (parts.length === 1) return parts[0]!.generator;
  const byEnd = [...parts].sort((a, b) => Date.parse(a.endedAt) - Date.parse(b.endedAt));
  const pool = (name: string) => gaugeStats(poolGauge(byEnd, name));
  const warnings = parts.flatMap((p) => p.generator.warnings.map((w) => `shard ${p.shard.index}: ${w}`));
  const browsers = parts.some((p) => p.generator.browserCpuPct);
  return {
    cores: parts.reduce((n, p) => n + p.generator.cores, 0),
    workers: parts.reduce((n, p) => n + p.generator.workers, 0),
    cpuPct: pool('generator_cpu_pct'),
    rssMb: pool('generator_rss_mb'),
    ...(browsers ? { browserCpuPct: pool('browser_cpu_pct'), browserPssMb: pool('browser_pss_mb') } : {}),
    loopLagP99Ms: Math.max(...parts.map((p) => p.generator.loopLagP99Ms)),
    saturated: parts.some((p) => p.generator.saturated),
    warnings,
  };
}

function shardRows(parts: ShardPart[], t0: number): ShardRow[] {
  return parts.map((p) => ({
    shard: p.shard.index,
    host: p.host,
    bots: p.bots.length,
    joined: p.bots.filter((b) => b.joined).length,
    cores: p.generator.cores,
    cpuAvgPct: Math.round(p.generator.cpuPct.avg * 10) / 10,
    cpuMaxPct: Math.round(p.generator.cpuPct.max * 10) / 10,
    loopLagP99Ms: p.generator.loopLagP99Ms,
    saturated: p.generator.saturated,
    startOffsetMs: Date.parse(p.startedAt) - t0,
    lateMs: p.lateMs,
    ...(p.clockOffset
      ? { clockOffsetMs: p.clockOffset.offsetMs, clockUncertaintyMs: p.clockOffset.uncertaintyMs }
      : {}),
  }));
}

/**
 * One point per second of the whole run, the parts' points aligned by wall-clock time: counts and
 * bitrates add up, loss is the mean over every live flow, CPU and memory are the generators' total, and
 * the per-second RTT, jitter and latency percentiles (which cannot be pooled without every second's
 * samples) are the worst generator's: an upper bound.
 */
function mergeTimeSeries(parts: ShardPart[], t0: number): TimePoint[] {
  const points = new Map<number, { p: TimePoint; flows: number }[]>();
  for (const part of parts) {
    const offset = Math.round((Date.parse(part.startedAt) - t0) / 1000);
    part.timeSeries.forEach((p, i) => {
      const t = p.t + offset;
      points.set(t, [...(points.get(t) ?? []), { p, flows: part.liveFlows[i] ?? 0 }]);
    });
  }
  const round = (n: number) => Math.round(n * 10) / 10;
  return [...points]
    .sort(([a], [b]) => a - b)
    .map(([t, at]) => {
      const sum = (f: (p: TimePoint) => number) => round(at.reduce((n, x) => n + f(x.p), 0));
      const max = (f: (p: TimePoint) => number) => Math.max(...at.map((x) => f(x.p)));
      const flows = at.reduce((n, x) => n + x.flows, 0);
      const server = at.flatMap((x) => (x.p.serverCpuPct === undefined ? [] : [x.p.serverCpuPct]));
      const browser = at.filter((x) => x.p.browserCpuPct !== undefined || x.p.browserPssMb !== undefined);
      const pooledOverFlows = (f: (p: TimePoint) => number) =>
        flows === 0 ? 0 : round(at.reduce((n, x) => n + f(x.p) * x.flows, 0) / flows);
      return {
        t,
        bots: sum((p) => p.bots),
        links: sum((p) => p.links),
        videoKbps: sum((p) => p.videoKbps),
        audioKbps: sum((p) => p.audioKbps),
        lossPct: pooledOverFlows((p) => p.lossPct),
        netLossPct: pooledOverFlows((p) => p.netLossPct),
        latencyP50Ms: max((p) => p.latencyP50Ms),
        rttP50Ms: max((p) => p.rttP50Ms),
        rttP95Ms: max((p) => p.rttP95Ms),
        jitterP95Ms: max((p) => p.jitterP95Ms),
        errors: sum((p) => p.errors),
        cpuPct: sum((p) => p.cpuPct),
        ...(server.length === 0 ? {} : { serverCpuPct: Math.max(...server) }),
        rssMb: sum((p) => p.rssMb),
        loopLagMs: max((p) => p.loopLagMs),
        ...(browser.length === 0
          ? {}
          : {
              browserCpuPct: round(browser.reduce((n, x) => n + (x.p.browserCpuPct ?? 0), 0)),
              browserPssMb: round(browser.reduce((n, x) => n + (x.p.browserPssMb ?? 0), 0)),
            }),
      };
    });
}
