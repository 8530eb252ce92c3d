/** A gauge's summary: k6's `value` is `last`. */
export interface GaugeStats {
  avg: number;
  min: number;
  max: number;
  last: number;
}

/** What a gauge keeps: enough to pool the readings of several generators exactly. */
export interface GaugeState {
  n: number;
  sum: number;
  min: number;
  max: number;
  last: number;
}

/** Readings of one quantity over a run (CPU %, RSS, loop lag), summarised as avg, min, max and last. */
export class Gauge {
  private sum = 0;
  private n = 0;
  private min = Number.POSITIVE_INFINITY;
  private max = Number.NEGATIVE_INFINITY;
  private last = 0;

  add(v: number): void {
    if (!Number.isFinite(v)) return;
    this.sum += v;
    this.n++;
    this.min = Math.min(this.min, v);
    this.max = Math.max(this.max, v);
    this.last = v;
  }

  get count(): number {
    return this.n;
  }

  state(): GaugeState {
    return {
      n: this.n,
      sum: this.sum,
      min: this.n === 0 ? 0 : this.min,
      max: this.n === 0 ? 0 : this.max,
      last: this.last,
    };
  }

  stats(): GaugeStats {
    return gaugeStats(this.state());
  }
}

/** The stats of readings kept as a GaugeState (one generator's, or several pooled). */
export function gaugeStats(s: GaugeState): GaugeStats {
  return s.n === 0
    ? { avg: 0, min: 0, max: 0, last: 0 }
    : { avg: s.sum / s.n, min: s.min, max: s.max, last: s.last };
}
