import type { ServerSummary } from './summary.js';

/** A Prometheus text exposition reduced to what the summary needs. */
export interface PromSnapshot {
  samples: Array<{ name: string; labels: Record<string, string>; value: number }>;
}

export function parsePrometheus(text: string): PromSnapshot {
  const samples: PromSnapshot['samples'] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return { samples };
}

/**
 * Several instances' snapshots as one, each series (name and labels) summed over them: counters, gauges
 * and histogram buckets alike, so quantiles of the merged buckets are the cluster's.
 */
export function mergeSnapshots(snapshots: PromSnapshot[]): PromSnapshot {
  const merged = new Map<string, PromSnapshot['samples'][number]>();
  for (const snapshot of snapshots) {
    for (const x of snapshot.samples) {
      const key = `${x.name}${JSON.stringify(Object.entries(x.labels).sort(([a], [b]) => (a < b ? -1 : 1)))}`;
      const into = merged.get(key);
      if (into) into.value += x.value;
      else merged.set(key, { name: x.name, labels: { ...x.labels }, value: x.value });
    }
  }
  return { samples: [...merged.values()] };
}

/** A metric's value summed over its label sets (e.g. engage_connected_sockets). */
export function metricValue(s: PromSnapshot, name: string): number {
  return sum(s, name);
}

function sum(
  s: PromSnapshot,
  name: string,
  filter: (labels: Record<string, string>) => boolean = () => true,
): number {
  return s.samples.filter((x) => x.name === name && filter(x.labels)).reduce((n, x) => n + x.value, 0);
}

/** Quantile from cumulative histogram buckets: the upper bound of the bucket that holds it. */
function bucketQuantile(buckets: Array<{ le: number; count: number }>, q: number): number | undefined {
  const total = buckets.find((b) => b.le === Number.POSITIVE_INFINITY)?.count ?? 0;
  if (total === 0) return undefined;
  for (const b of buckets.sort((a, b) => a.le - b.le)) if (b.count >= q * total) return b.le;
  return undefined;
}

/**
 * The server's activity between two snapshots of its engage_ metrics (`before` absent: since it started).
 */
export function serverSummary(
  source: 'embedded' | 'remote',
  after: PromSnapshot,
  before: PromSnapshot = { samples: [] },
  peakSockets?: number,
): ServerSummary {
  const delta = (name: string, filter?: (l: Record<string, string>) => boolean) =>
    sum(after, name, filter) - sum(before, name, filter);
  const errors: Record<string, number> = {};
  for (const x of after.samples.filter((x) => x.name === 'engage_errors_total')) {
    const code = x.labels.code ?? 'unknown';
    const n = x.value - sum(before, 'engage_errors_total', (l) => l.code === code);
    if (n > 0) errors[code] = n;
  }
  const buckets = after.samples
    .filter((x) => x.name === 'engage_relay_latency_seconds_bucket')
    .map((x) => ({
      le: x.labels.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(x.labels.le),
      count: x.value - sum(before, 'engage_relay_latency_seconds_bucket', (l) => l.le === x.labels.le),
    }));
  // Past the largest bucket the histogram gives no bound: the field is left out (JSON has no Infinity).
  const ms = (s: number | undefined) =>
    s === undefined || !Number.isFinite(s) ? undefined : Math.round(s * 1000 * 1000) / 1000;
  const q50 = bucketQuantile(buckets, 0.5);
  const q99 = bucketQuantile(buckets, 0.99);
  const p50 = ms(q50);
  const p99 = ms(q99);
  const largest = Math.max(0, ...buckets.map((b) => b.le).filter(Number.isFinite));
  const beyond = [
    q50 === Number.POSITIVE_INFINITY ? 'p50' : '',
    q99 === Number.POSITIVE_INFINITY ? 'p99' : '',
  ]
    .filter(Boolean)
    .join(' and ');
  return {
    source,
    messagesIn: delta('engage_messages_in_total'),
    messagesOut: delta('engage_messages_out_total'),
    errors,
    ...(peakSockets === undefined ? {} : { peakSockets }),
    ...(p50 === undefined ? {} : { relayLatencyP50Ms: p50 }),
    ...(p99 === undefined ? {} : { relayLatencyP99Ms: p99 }),
    ...(beyond === ''
      ? {}
      : { note: `relay latency ${beyond} above the histogram's largest bucket (${largest * 1000} ms)` }),
  };
}

/** Reads a remote server's /metrics (same host and port as its WebSocket URL); undefined when it has none. */
export async function fetchServerMetrics(wsUrl: string, timeoutMs = 3000): Promise<PromSnapshot | undefined> {
  const u = new URL(wsUrl);
  u.protocol = u.protocol === 'wss:' ? 'https:' : 'http:';
  u.pathname = '/metrics';
  u.search = '';
  try {
    const res = await fetch(u, { signal: AbortSignal.timeout(timeoutMs) });
    if (!res.ok) return undefined;
    const snapshot = parsePrometheus(await res.text());
    return snapshot.samples.some((s) => s.name.startsWith('engage_')) ? snapshot : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The instance id a server's /healthz names (engage serve --redis), or undefined. Behind a load balancer
 * two reads of one URL can reach two instances: this tells them apart.
 */
export async function fetchInstanceId(wsUrl: string, timeoutMs = 3000): Promise<string | undefined> {
  const u = new URL(wsUrl);
  u.protocol = u.protocol === 'wss:' ? 'https:' : 'http:';
  u.pathname = '/healthz';
  u.search = '';
  try {
    const res = await fetch(u, { signal: AbortSignal.timeout(timeoutMs) });
    const body = (await res.json()) as { instance?: unknown };
    return typeof body.instance === 'string' ? body.instance : undefined;
  } catch {
    return undefined;
  }
}
