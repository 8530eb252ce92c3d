/**
 * The p-th percentile (p from 0 to 100) of values sorted in ascending order, exactly as k6 computes a
 * Trend's `p(N)` (metrics/sink.go, TrendSink.P): the rank p/100 × (n − 1) falls between two closest
 * ranks, and the value is interpolated linearly between them. So p(0) is the minimum, p(100) the
 * maximum, p(50) of [5, 10] is 7.5; no samples give 0 and one sample gives itself, as in k6.
 *
 * The one percentile of engage: the load test's trends, thresholds, time series and generator-health
 * diagnosis, and a peer's per-link latency summary, so a `p(95)` means the same wherever it is printed.
 * (Here in util, not in loadtest, because src/peer uses it too.)
 */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile must be within 0..100, got ${p}`);
  const n = sorted.length;
  if (n === 0) return 0;
  if (n === 1) return sorted[0]!;
  const rank = (p / 100) * (n - 1);
  const below = sorted[Math.floor(rank)]!;
  const above = sorted[Math.ceil(rank)]!;
  return below + (above - below) * (rank - Math.floor(rank));
}

/** percentile() of values in any order (sorts a copy). */
export function percentileOf(values: readonly number[], p: number): number {
  return percentile(
    [...values].sort((a, b) => a - b),
    p,
  );
}

/** Summary statistics of a trend (k6's names: avg, min, med, max, p(90), p(95)...). */
export interface TrendStats {
  count: number;
  min: number;
  avg: number;
  p50: number;
  p90: number;
  p95: number;
  p99: number;
  max: number;
}

/**
 * A distribution of samples. Values are kept exactly (a run has at most a few hundred thousand samples)
 * so percentiles are exact rather than bucketed, as k6's are; `percentile` sorts lazily.
 */
export class Trend {
  private values: number[] = [];
  private sorted = true;
  private sum = 0;

  /** A trend of samples already sorted ascending (a report's exact samples). */
  static ofSorted(values: number[]): Trend {
    const t = new Trend();
    t.values = values;
    for (const v of values) t.sum += v;
    return t;
  }

  /** Every sample, ascending: lossless, so trends of several generators merge exactly. */
  samples(): number[] {
    this.percentile(0);
    return [...this.values];
  }

  add(v: number): void {
    if (!Number.isFinite(v)) return;
    if (this.values.length > 0 && v < this.values[this.values.length - 1]!) this.sorted = false;
    this.values.push(v);
    this.sum += v;
  }

  get count(): number {
    return this.values.length;
  }

  get total(): number {
    return this.sum;
  }

  /** How many samples are at most `le`: a Prometheus histogram bucket, computed from the exact samples. */
  countAtMost(le: number): number {
    this.percentile(0);
    let lo = 0;
    let hi = this.values.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.values[mid]! <= le) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  percentile(p: number): number {
    if (!this.sorted) {
      this.values.sort((a, b) => a - b);
      this.sorted = true;
    }
    return percentile(this.values, p);
  }

  stats(): TrendStats {
    const n = this.values.length;
    if (n === 0) return { count: 0, min: 0, avg: 0, p50: 0, p90: 0, p95: 0, p99: 0, max: 0 };
    return {
      count: n,
      min: this.percentile(0),
      avg: this.sum / n,
      p50: this.percentile(50),
      p90: this.percentile(90),
      p95: this.percentile(95),
      p99: this.percentile(99),
      max: this.percentile(100),
    };
  }
}
