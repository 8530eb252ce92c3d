import type { CounterName, GaugeName, TrendName } from './catalogue.js';
import type { GaugeStats } from './gauge.js';
import type { ThresholdResult } from './thresholds.js';
import type { TrendStats } from './trend.js';

export type { GaugeStats };

/** The plan as run, so a report says exactly what load was offered. */
export interface PlanSummary {
  mode: 'media' | 'signaling-only';
  bots: number;
  rooms: number;
  /** Bots per room, largest room first when uneven. */
  roomSizes: number[];
  rampPerS: number;
  durationS: number;
  graceS: number;
  workers: number;
  video: string;
  audio: string;
  /** What was actually sent, in words: "VP8 320x180 15 fps ~120 kbps; Opus stereo 120 ms packets ~32 kbps". */
  media: string;
  recording: boolean;
}

/** The server's own view, from its Prometheus metrics (embedded server, or --url's /metrics when reachable). */
export interface ServerSummary {
  source: 'embedded' | 'remote' | 'unavailable';
  /** Totals over the run. */
  messagesIn?: number;
  messagesOut?: number;
  errors?: Record<string, number>;
  peakSockets?: number;
  /**
   * Times the embedded server was killed and started again on the same port during the run, on purpose
   * (the test hook ENGAGE_TEST_RESTART_SERVER_AT_MS); absent when it never was. Its message counts are
   * then the last process's only.
   */
  restarts?: number;
  /** The embedded server process's own CPU (% of one core) and memory; absent with --url. */
  cpuPct?: GaugeStats;
  rssMb?: GaugeStats;
  /** From the relay latency histogram buckets: an upper bound, bucket resolution. */
  relayLatencyP50Ms?: number;
  relayLatencyP99Ms?: number;
  /**
   * With several --url instances: one entry per instance, in --url order. The fields above are then the
   * sum over the instances that answered (histogram buckets summed before the quantiles are read), and
   * `peakSockets` is the highest sum of the instances' sockets sampled once a second.
   */
  instances?: InstanceSummary[];
  note?: string;
}

/** One instance of a multi-instance run: the bots the plan put on it, and its own /metrics. */
export interface InstanceSummary {
  url: string;
  /** The generator's view: bots planned on this instance, joined (at some point) and failed. */
  bots: number;
  botsJoined: number;
  botsFailed: number;
  /** `error` messages this instance sent to its bots, as the bots counted them. */
  signalErrors: number;
  /** `unavailable`: its /metrics did not answer (or had no engage_ metrics); `note` says when. */
  source: 'remote' | 'unavailable';
  /** Its engage_connected_sockets, sampled once a second: the highest reading. */
  peakSockets?: number;
  messagesIn?: number;
  messagesOut?: number;
  errors?: Record<string, number>;
  relayLatencyP50Ms?: number;
  relayLatencyP99Ms?: number;
  note?: string;
}

export interface GeneratorSummary {
  cores: number;
  workers: number;
  /** The generator process (main thread and workers), % of one core; never the embedded server's. */
  cpuPct: GaugeStats;
  rssMb: GaugeStats;
  loopLagP99Ms: number;
  saturated: boolean;
  warnings: string[];
}

export interface RoomResult {
  room: string;
  bots: number;
  linksExpected: number;
  linksConnected: number;
  linksFailed: number;
  /** Mean over the room's link samples. */
  lossPct: number;
  /** Lowest per-link received fps sample (media mode). */
  minVideoFps: number;
}

export interface BotResult {
  bot: string;
  room: string;
  state: 'joined' | 'failed' | 'left' | 'never-started';
  error?: string;
  meshReadyMs?: number;
  linksConnected: number;
  linksExpected: number;
  lossPct: number;
}

/** One point per second of the run: what the HTML report charts. */
export interface TimePoint {
  /** Seconds since the run started. */
  t: number;
  bots: number;
  links: number;
  /** Received bitrate summed over every live link. */
  videoKbps: number;
  audioKbps: number;
  /** Mean over live links of each link's latest sample. */
  lossPct: number;
  rttP50Ms: number;
  rttP95Ms: number;
  jitterP95Ms: number;
  /** signal_errors so far (a running total). */
  errors: number;
  /** The generator's CPU (main thread and workers), % of one core. */
  cpuPct: number;
  /** The embedded server's CPU, % of one core; absent with --url. */
  serverCpuPct?: number;
  /**
   * With several --url instances: each one's engage_connected_sockets, in --url order, as last read
   * (the instances are read once a second; 0 until an instance first answered).
   */
  instanceSockets?: number[];
  rssMb: number;
  loopLagMs: number;
}

/** Something of the generator that broke during the run; any makes the run fail (exit 1). */
export interface RunFailure {
  /** A host (worker thread) of bots, or the embedded server's process. */
  component: 'host' | 'embedded-server';
  /** The host's number, for a host. */
  host?: number;
  reason: string;
  /** Bots that were running there, counted failed with this reason. */
  bots: number;
}

export const REPORT_SCHEMA = 'engage-loadtest/4';

/** Everything a finished (or interrupted) run produced; the JSON report is exactly this object. */
export interface RunSummary {
  schema: typeof REPORT_SCHEMA;
  run: {
    id: string;
    startedAt: string;
    endedAt: string;
    durationS: number;
    interrupted: boolean;
    /** Empty when nothing broke; otherwise the run stopped early and exits 1. */
    failures: RunFailure[];
    /** The first (or only) signaling server; with several instances, `urls` has them all. */
    url: string;
    /** Every signaling instance the bots were spread over, in --url order (one without --url). */
    urls: string[];
    embeddedServer: boolean;
  };
  plan: PlanSummary;
  thresholds: ThresholdResult[];
  metrics: {
    trends: Record<TrendName, TrendStats>;
    counters: Record<CounterName, number>;
    gauges: Record<GaugeName, GaugeStats>;
  };
  signalErrors: Record<string, number>;
  server: ServerSummary;
  generator: GeneratorSummary;
  worstRooms: RoomResult[];
  worstBots: BotResult[];
  timeSeries: TimePoint[];
}
