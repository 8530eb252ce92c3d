import { UsageError } from '../../util/errors.js';
import type { TrendStats } from '../../util/trend.js';
import { ALL_METRICS, metricKind } from './catalogue.js';

export type Aggregation = 'avg' | 'min' | 'max' | 'med' | 'count' | 'rate' | 'value' | { p: number };
export type Operator = '<' | '<=' | '>' | '>=' | '==' | '!=';

export interface Threshold {
  /** As the user wrote it, e.g. `ice_connect_ms:p(95)<500`. */
  source: string;
  metric: string;
  aggregation: Aggregation;
  operator: Operator;
  value: number;
}

export interface ThresholdResult {
  threshold: string;
  metric: string;
  actual: number;
  ok: boolean;
}

const AGG_BY_KIND: Record<'trend' | 'counter' | 'gauge', string[]> = {
  trend: ['avg', 'min', 'max', 'med', 'count', 'p(N)'],
  counter: ['count', 'rate'],
  gauge: ['avg', 'min', 'max', 'value'],
};

const EXPR =
  /^\s*(avg|min|max|med|count|rate|value|p\(\s*(\d+(?:\.\d+)?)\s*\))\s*(<=|>=|==|!=|<|>)\s*(-?\d+(?:\.\d+)?)\s*$/;

export function aggregationLabel(a: Aggregation): string {
  return typeof a === 'string' ? a : `p(${a.p})`;
}

/**
 * Parses `METRIC:EXPR[,EXPR...]` (k6's syntax: `p(95)<500`, `avg<=200`, `count==0`). Unknown metrics,
 * aggregations a metric does not have and malformed expressions are usage errors, raised before a run.
 */
export function parseThreshold(text: string): Threshold[] {
  const colon = text.indexOf(':');
  if (colon <= 0) throw new UsageError(`threshold "${text}" must look like METRIC:p(95)<500`);
  const metric = text.slice(0, colon).trim();
  const kind = metricKind(metric);
  if (!kind) {
    throw new UsageError(
      `threshold "${text}": unknown metric "${metric}"; known metrics: ${ALL_METRICS.join(', ')}`,
    );
  }
  return text
    .slice(colon + 1)
    .split(',')
    .map((part) => {
      const m = EXPR.exec(part);
      if (!m)
        throw new UsageError(
          `threshold "${text}": "${part.trim()}" is not an expression like p(95)<500 or avg<=200`,
        );
      const [, agg, pct, op, num] = m;
      const aggregation: Aggregation = pct !== undefined ? { p: Number(pct) } : (agg as Aggregation);
      if (typeof aggregation === 'object' && (aggregation.p < 0 || aggregation.p > 100)) {
        throw new UsageError(`threshold "${text}": percentile must be within 0..100`);
      }
      const name = typeof aggregation === 'object' ? 'p(N)' : aggregation;
      if (!AGG_BY_KIND[kind].includes(name)) {
        throw new UsageError(
          `threshold "${text}": ${metric} is a ${kind}; use one of ${AGG_BY_KIND[kind].join(', ')}`,
        );
      }
      return {
        source: `${metric}:${part.trim()}`,
        metric,
        aggregation,
        operator: op as Operator,
        value: Number(num),
      };
    });
}

/**
 * What every run must hold even when no --threshold says so: a bot or a link that failed is a failed
 * run (exit 99), never a silent 0. A --threshold on the same metric replaces its default
 * (`--threshold 'links_failed:count<5'` tolerates a few).
 */
export const DEFAULT_THRESHOLDS = ['bots_failed:count==0', 'links_failed:count==0'] as const;

/** The thresholds given, then the defaults of the metrics none of them names. */
export function parseThresholds(texts: string[]): Threshold[] {
  const given = texts.flatMap(parseThreshold);
  const named = new Set(given.map((t) => t.metric));
  const defaults = DEFAULT_THRESHOLDS.flatMap(parseThreshold).filter((t) => !named.has(t.metric));
  return [...given, ...defaults];
}

/** What thresholds read from a finished run. */
export interface MetricValues {
  trend(name: string): TrendStats & { percentile(p: number): number };
  counter(name: string): number;
  gauge(name: string): { avg: number; min: number; max: number; last: number };
  durationS: number;
}

function actualOf(t: Threshold, values: MetricValues): number {
  const kind = metricKind(t.metric);
  const a = t.aggregation;
  if (kind === 'counter') {
    const count = values.counter(t.metric);
    return a === 'rate' ? count / Math.max(values.durationS, 1e-9) : count;
  }
  if (kind === 'gauge') {
    const g = values.gauge(t.metric);
    return a === 'value' ? g.last : a === 'avg' ? g.avg : a === 'min' ? g.min : g.max;
  }
  const s = values.trend(t.metric);
  if (typeof a === 'object') return s.percentile(a.p);
  switch (a) {
    case 'avg':
      return s.avg;
    case 'min':
      return s.min;
    case 'max':
      return s.max;
    case 'med':
      return s.p50;
    default:
      return s.count;
  }
}

function compare(actual: number, op: Operator, value: number): boolean {
  switch (op) {
    case '<':
      return actual < value;
    case '<=':
      return actual <= value;
    case '>':
      return actual > value;
    case '>=':
      return actual >= value;
    case '==':
      return actual === value;
    case '!=':
      return actual !== value;
  }
}

export function checkThresholds(thresholds: Threshold[], values: MetricValues): ThresholdResult[] {
  return thresholds.map((t) => {
    const actual = actualOf(t, values);
    return { threshold: t.source, metric: t.metric, actual, ok: compare(actual, t.operator, t.value) };
  });
}
