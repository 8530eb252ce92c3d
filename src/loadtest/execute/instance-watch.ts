import { fetchServerMetrics, metricValue, type PromSnapshot } from '../metrics/server-metrics.js';

/** What an InstanceWatch saw of one instance. */
export interface InstanceReadings {
  url: string;
  /** Its /metrics when the watch started (undefined: it did not answer). */
  before: PromSnapshot | undefined;
  /** Its highest engage_connected_sockets over the samples; undefined when no sample answered. */
  peakSockets: number | undefined;
}

const SAMPLE_INTERVAL_MS = 1000;

/**
 * Reads every instance's /metrics of a multi-instance run: once at the start (the baseline of its
 * counters), then once a second for its connected sockets, so the summary can give each instance's
 * peak and the cluster's (the highest sum of the latest readings). One fetch per instance at a time,
 * each bounded by fetchServerMetrics' timeout; an instance that does not answer keeps its last reading.
 * close() stops it; idempotent.
 */
export class InstanceWatch {
  private readonly latest: Array<number | undefined>;
  private readonly peaks: Array<number | undefined>;
  private readonly inFlight: boolean[];
  private peakTotal: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  private constructor(
    readonly urls: string[],
    private readonly before: Array<PromSnapshot | undefined>,
  ) {
    this.latest = urls.map(() => undefined);
    this.peaks = urls.map(() => undefined);
    this.inFlight = urls.map(() => false);
    before.forEach((snapshot, i) => {
      if (snapshot) this.record(i, snapshot);
    });
    this.timer = setInterval(() => this.sample(), SAMPLE_INTERVAL_MS);
  }

  /** Takes every instance's baseline, then starts sampling. */
  static async start(urls: string[]): Promise<InstanceWatch> {
    const before = await Promise.all(urls.map((url) => fetchServerMetrics(url)));
    return new InstanceWatch(urls, before);
  }

  /** The highest sum over the instances of their latest readings, sampled once a second. */
  get peakSockets(): number | undefined {
    return this.peakTotal;
  }

  /** Each instance's connected sockets as last read, in --url order (0 before it first answered). */
  sockets(): number[] {
    return this.latest.map((n) => n ?? 0);
  }

  readings(): InstanceReadings[] {
    return this.urls.map((url, i) => ({ url, before: this.before[i], peakSockets: this.peaks[i] }));
  }

  private sample(): void {
    this.urls.forEach((url, i) => {
      if (this.inFlight[i]) return;
      this.inFlight[i] = true;
      fetchServerMetrics(url)
        .then((snapshot) => {
          if (snapshot && !this.closed) this.record(i, snapshot);
        })
        // fetchServerMetrics answers undefined rather than throwing; this only guards record().
        .catch(() => {})
        .finally(() => {
          this.inFlight[i] = false;
        });
    });
  }

  private record(i: number, snapshot: PromSnapshot): void {
    const sockets = metricValue(snapshot, 'engage_connected_sockets');
    this.latest[i] = sockets;
    this.peaks[i] = Math.max(this.peaks[i] ?? 0, sockets);
    const total = this.latest.reduce<number>((n, v) => n + (v ?? 0), 0);
    this.peakTotal = Math.max(this.peakTotal ?? 0, total);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
