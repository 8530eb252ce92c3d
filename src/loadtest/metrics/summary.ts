import type { TrendStats } from '../../util/trend.js';
import type { CounterName, GaugeName, TrendName } from './catalogue.js';
import type { GaugeStats } from './gauge.js';
import type { NetGroupResult } from './net-groups.js';
import type { ShardPart } from './part.js';
import type { ThresholdResult } from './thresholds.js';

export type { GaugeStats };

/** The plan as run, so a report says exactly what load was offered. */
export interface PlanSummary {
  mode: 'media' | 'signaling-only';
  /** Participants, browsers included. */
  bots: number;
  /** Of those, headless Chromium pages (--browsers). */
  browsers: number;
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
  /** The network flags as given; absent when none was. */
  net?: {
    /** `--net` values as written (`25%:loss=5%`). */
    profiles: string[];
    schedule?: string;
    /** Count of --ice-server URLs (credentials stay out of reports). */
    iceServers: number;
    relayOnly: boolean;
  };
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
  /** The browser participants' Chromium (--browsers), apart from the process: CPU % of one core, PSS MB. */
  browserCpuPct?: GaugeStats;
  browserPssMb?: GaugeStats;
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
  /** Its join_mesh_ms (absent for the first in its room). */
  joinMeshMs?: number;
  linksConnected: number;
  linksExpected: number;
  lossPct: number;
  /** Its --net profile group's profile (`none` for the rest); absent without --net. */
  net?: string;
}

/** What one browser participant received from one remote member, over the run (its own getStats()). */
export interface BrowserRemoteView {
  remote: string;
  /** The latest frame size received, px. */
  width: number;
  height: number;
  /** Frames decoded per second: mean and lowest of the sample intervals. */
  fpsAvg: number;
  fpsMin: number;
  framesDecoded: number;
  framesDropped: number;
  freezeCount: number;
  freezeMs: number;
  /** Means over the sample intervals, per frame. */
  jitterBufferMs: number;
  decodeMs: number;
  concealedSamples: number;
  /** Its video stopped for a whole sample interval after it had started (as video_flows_stalled counts). */
  stalled: boolean;
  /** What carried the link, by the latest sample (the selected candidate pair); absent before one. */
  via?: 'host' | 'srflx' | 'prflx' | 'relay';
}

/** A browser participant's own account: what a person at that page saw and what its camera could send. */
export interface BrowserView {
  /** The latest quality limitation reason of its video encoder (none, cpu, bandwidth, other), worst link. */
  qualityLimitationReason: string;
  /** Time its encoder spent limited, by reason, summed over its links, ms. */
  limitedMs: Record<string, number>;
  remotes: BrowserRemoteView[];
}

export interface BrowserResult extends BrowserView {
  browser: string;
  room: string;
  state: BotResult['state'];
  error?: string;
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
  /** Mean over live links of each link's latest sample: lost after repair, and before (what the network lost). */
  lossPct: number;
  netLossPct: number;
  /** Per-packet one-way delay p50 over live links' latest samples. */
  latencyP50Ms: number;
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
  /** The browser participants' Chromium (--browsers): CPU, % of one core, and proportional memory. */
  browserCpuPct?: number;
  browserPssMb?: number;
}

/** Something of the generator that broke during the run; any makes the run fail (exit 1). */
export interface RunFailure {
  /** A host (worker thread) of bots, the embedded server's process, or a browser participant. */
  component: 'host' | 'embedded-server' | 'browser';
  /** The host's number, for a host. */
  host?: number;
  reason: string;
  /** Bots that were running there, counted failed with this reason. */
  bots: number;
}

export const REPORT_SCHEMA = 'engage-loadtest/5';

/** One generator of a sharded run, as the per-shard table shows it. */
export interface ShardRow {
  shard: number;
  host: string;
  bots: number;
  joined: number;
  cores: number;
  cpuAvgPct: number;
  cpuMaxPct: number;
  loopLagP99Ms: number;
  saturated: boolean;
  /** Its run clock's start minus the earliest shard's, by the machines' own (NTP) clocks. */
  startOffsetMs: number;
  /** How long after --start-at its ramp began. */
  lateMs: number;
  /** The signaling server's clock minus this generator's, ± uncertaintyMs; absent when not measured. */
  clockOffsetMs?: number;
  clockUncertaintyMs?: number;
}

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
    /** Hash of the plan flags: every shard of one plan has the same. */
    planHash: string;
    /** Which shards of how many this report covers, and the bots and received flows they ran. */
    shards: { count: number; included: number[]; bots: number; flows: number };
    /** --start-at, when given. */
    startAt?: string;
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
  /** Per generator, in a sharded run. */
  shards?: ShardRow[];
  worstRooms: RoomResult[];
  worstBots: BotResult[];
  /** Every browser participant (--browsers): what humans in the room would have seen. Empty without. */
  browsers: BrowserResult[];
  /**
   * Per `--net` profile group (the bots without a share form a group `none`): the profile as configured
   * and what was measured on the flows the group sent and received. Absent without --net or --net-schedule.
   */
  netGroups?: NetGroupResult[];
  timeSeries: TimePoint[];
  /** The mergeable data of every generator this report covers: what `engage report merge` reads. */
  parts: ShardPart[];
}
