import type { Trend } from '../../util/trend.js';
import { COUNTER_METRICS, GAUGE_METRICS, TREND_METRICS } from './catalogue.js';
import type { GaugeStats } from './gauge.js';

/** What the live endpoint exposes: the run's trends, counters and gauges as they stand. */
export interface LiveValues {
  trends: ReadonlyMap<string, Trend>;
  counters: Readonly<Record<string, number>>;
  signalErrors: Readonly<Record<string, number>>;
  gauge(name: string): GaugeStats;
}

/**
 * Histogram bucket upper bounds by a metric's unit, its name's suffix (every name carries its unit):
 * so a trend another part of engage adds gets sensible buckets without being listed here.
 */
const BUCKETS: Record<string, number[]> = {
  ms: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 20_000, 60_000],
  kbps: [8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192],
  pct: [0, 0.1, 0.5, 1, 2, 5, 10, 20, 50, 100],
  fps: [1, 5, 10, 15, 20, 25, 30, 60],
};
const DEFAULT_BUCKETS = [0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000];

export function bucketsOf(name: string): number[] {
  return BUCKETS[name.slice(name.lastIndexOf('_') + 1)] ?? DEFAULT_BUCKETS;
}

const PREFIX = 'engage_loadtest_';

function labelText(labels: Record<string, string>): string {
  const esc = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
  return Object.entries(labels)
    .map(([k, v]) => `${k}="${esc(v)}"`)
    .join(',');
}

const help = (name: string, catalogue: Record<string, string>) =>
  (catalogue[name] ?? name).replace(/\\/g, '\\\\').replace(/\n/g, ' ');

/**
 * The Prometheus text exposition (version 0.0.4) of a run as it stands: every trend a histogram
 * (`engage_loadtest_<name>_bucket{le}`, `_sum`, `_count`, buckets counted from the exact samples, so they
 * agree with the report), every counter a counter (`_total`; signal errors also by code), every gauge a
 * gauge. `labels` (run, shard) go on every series so a distributed run's shards sum in PromQL.
 */
export function prometheusText(values: LiveValues, labels: Record<string, string>): string {
  const base = labelText(labels);
  const withLabels = (extra: string) => `{${[base, extra].filter((s) => s !== '').join(',')}}`;
  const out: string[] = [];
  for (const [name, trend] of values.trends) {
    const metric = `${PREFIX}${name}`;
    out.push(`# HELP ${metric} ${help(name, TREND_METRICS)}`, `# TYPE ${metric} histogram`);
    for (const le of bucketsOf(name))
      out.push(`${metric}_bucket${withLabels(`le="${le}"`)} ${trend.countAtMost(le)}`);
    out.push(`${metric}_bucket${withLabels('le="+Inf"')} ${trend.count}`);
    out.push(
      `${metric}_sum${withLabels('')} ${trend.total}`,
      `${metric}_count${withLabels('')} ${trend.count}`,
    );
  }
  for (const [name, n] of Object.entries(values.counters)) {
    const metric = `${PREFIX}${name}_total`;
    out.push(`# HELP ${metric} ${help(name, COUNTER_METRICS)}`, `# TYPE ${metric} counter`);
    out.push(`${metric}${withLabels('')} ${n}`);
  }
  const errors = `${PREFIX}signal_errors_by_code_total`;
  out.push(`# HELP ${errors} error messages from the server, by code`, `# TYPE ${errors} counter`);
  for (const [code, n] of Object.entries(values.signalErrors))
    out.push(`${errors}${withLabels(labelText({ code }))} ${n}`);
  for (const name of Object.keys(GAUGE_METRICS)) {
    const metric = `${PREFIX}${name}`;
    out.push(`# HELP ${metric} ${help(name, GAUGE_METRICS)} (latest reading)`, `# TYPE ${metric} gauge`);
    out.push(`${metric}${withLabels('')} ${values.gauge(name).last}`);
  }
  return `${out.join('\n')}\n`;
}
