import type { RunAggregate } from './aggregate.js';
import type { GaugeName, TrendName } from './catalogue.js';
import type { GaugeStats } from './gauge.js';
import { diagnoseGenerator } from './generator-health.js';
import {
  type PlanSummary,
  REPORT_SCHEMA,
  type RunFailure,
  type RunSummary,
  type ServerSummary,
} from './summary.js';
import { checkThresholds, type Threshold } from './thresholds.js';
import type { TrendStats } from './trend.js';

export interface SummaryInput {
  runId: string;
  startedAt: Date;
  endedAt: Date;
  /** Wall-clock seconds from the first bot's start to the end of the grace period. */
  durationS: number;
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
 * Everything a run produced, as the reports print it: thresholds checked against the aggregate, the
 * trends' statistics, and the diagnosis of the generator's own health.
 */
export function buildSummary(input: SummaryInput): RunSummary {
  const { agg, cores } = input;
  agg.durationS = input.durationS;
  const thresholds = checkThresholds(input.thresholds, agg);
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
  const trends = Object.fromEntries([...agg.trends].map(([k, t]) => [k, t.stats()])) as Record<
    TrendName,
    TrendStats
  >;
  const gauges = Object.fromEntries([...agg.gauges.keys()].map((k) => [k, agg.gauge(k)])) as Record<
    GaugeName,
    GaugeStats
  >;
  return {
    schema: REPORT_SCHEMA,
    run: {
      id: input.runId,
      startedAt: input.startedAt.toISOString(),
      endedAt: input.endedAt.toISOString(),
      durationS: input.durationS,
      interrupted: input.interrupted,
      failures: input.failures,
      url: input.url,
      urls: input.urls,
      embeddedServer: input.embeddedServer,
    },
    plan: input.plan,
    thresholds,
    metrics: { trends, counters: { ...agg.counters }, gauges },
    signalErrors: { ...agg.signalErrors },
    server: input.server,
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
    worstRooms: agg.worstRooms(),
    worstBots: agg.worstBots(),
    browsers: agg.browserResults(),
    ...(agg.net.empty ? {} : { netGroups: agg.net.results() }),
    timeSeries: agg.timeSeries,
  };
}
