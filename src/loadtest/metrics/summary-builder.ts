import { hostname } from 'node:os';
import type { ClockOffset } from '../execute/clock-offset.js';
import type { Shard } from '../plan/shard.js';
import type { RunAggregate } from './aggregate.js';
import { diagnoseGenerator } from './generator-health.js';
import { mergeParts } from './merge.js';
import type { ShardPart } from './part.js';
import type { PlanSummary, RunFailure, RunSummary, ServerSummary } from './summary.js';
import type { Threshold } from './thresholds.js';

export interface SummaryInput {
  runId: string;
  /** Which part of the plan this generator ran; the whole plan without --shard. */
  shard: Shard;
  planHash: string;
  startedAt: Date;
  endedAt: Date;
  /** Wall-clock seconds from the first bot's start to the end of the grace period. */
  durationS: number;
  /** --start-at, and how late after it the ramp began. */
  startAt?: Date;
  lateMs: number;
  /** The server's clock minus this machine's, when measured (sharded runs). */
  clockOffset?: ClockOffset;
  interrupted: boolean;
  failures: RunFailure[];
  url: string;
  urls: string[];
  embeddedServer: boolean;
  plan: PlanSummary;
  thresholds: Threshold[];
  /** Finished: its last tick taken and finish() called. */
  agg: RunAggregate;
  server: ServerSummary;
  cores: number;
  /** The whole machine's busy CPU over the run, % of one core, when it can be read. */
  machineCpuPct: number | undefined;
}

/**
 * This generator's run in mergeable form, with the diagnosis of its own health (which only it can make:
 * it needs its machine's CPU).
 */
export function shardPart(input: SummaryInput): ShardPart {
  const { agg, cores } = input;
  const cpu = agg.gauge('generator_cpu_pct');
  const lag = agg.gauge('generator_loop_lag_ms');
  const warnings = diagnoseGenerator({
    cores,
    generatorCpu: cpu,
    lagPerSecondMs: agg.timeSeries.map((p) => p.loopLagMs),
    machineCpuPct: input.machineCpuPct,
    serverCpuPct: input.server.cpuPct?.avg,
    ...(input.plan.browsers > 0 ? { browserCpuPct: agg.gauge('browser_cpu_pct').avg } : {}),
  });
  return {
    shard: input.shard,
    runId: input.runId,
    planHash: input.planHash,
    host: hostname(),
    startedAt: input.startedAt.toISOString(),
    endedAt: input.endedAt.toISOString(),
    durationS: input.durationS,
    ...(input.startAt ? { startAt: input.startAt.toISOString() } : {}),
    lateMs: input.lateMs,
    ...(input.clockOffset ? { clockOffset: input.clockOffset } : {}),
    interrupted: input.interrupted,
    failures: input.failures,
    url: input.url,
    urls: input.urls,
    embeddedServer: input.embeddedServer,
    plan: input.plan,
    thresholds: input.thresholds.map((t) => t.source),
    trends: Object.fromEntries([...agg.trends].map(([k, t]) => [k, t.samples()])),
    counters: { ...agg.counters },
    signalErrors: { ...agg.signalErrors },
    gauges: Object.fromEntries([...agg.gauges].map(([k, g]) => [k, g.state()])),
    bots: [...agg.botRecords().values()],
    timeSeries: agg.timeSeries,
    liveFlows: agg.liveFlowsPerPoint,
    generator: {
      cores,
      workers: input.plan.workers,
      cpuPct: cpu,
      rssMb: agg.gauge('generator_rss_mb'),
      loopLagP99Ms: Math.round(lag.max * 10) / 10,
      ...(input.plan.browsers > 0
        ? { browserCpuPct: agg.gauge('browser_cpu_pct'), browserPssMb: agg.gauge('browser_pss_mb') }
        : {}),
      saturated: warnings.length > 0,
      warnings,
    },
    server: input.server,
    browsers: agg.browserResults(),
    ...(agg.net.empty ? {} : { netGroups: agg.net.state() }),
  };
}

/**
 * Everything a run produced, as the reports print it. Built from this generator's part exactly as
 * `engage report merge` builds the whole run's from every part, so both print the same for one part.
 */
export function buildSummary(input: SummaryInput): RunSummary {
  return mergeParts([shardPart(input)], input.thresholds);
}
