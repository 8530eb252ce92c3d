/** A gauge's summary: k6's `value` is `last`. */
export interface GaugeStats {
  avg: number;
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

  stats(): GaugeStats {
    return this.n === 0
      ? { avg: 0, min: 0, max: 0, last: 0 }
      : { avg: this.sum / this.n, min: this.min, max: this.max, last: this.last };
  }
}
