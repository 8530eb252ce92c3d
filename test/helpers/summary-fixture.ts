import type { FlowGroupStats, NetGroupResult } from '../../src/loadtest/metrics/net-groups.js';
import {
  type GaugeStats,
  REPORT_SCHEMA,
  type RunSummary,
  type TimePoint,
} from '../../src/loadtest/metrics/summary.js';
import type { TrendStats } from '../../src/util/trend.js';

export interface FixtureOptions {
  /** Points in timeSeries, one per second (default 120: a two-minute run). */
  points?: number;
  /** A run whose worker 1 crashed 40 s in: run.failures set, its 15 bots failed, the run cut short. */
  failed?: boolean;
  /** The same run against three --url instances (one of whose /metrics did not answer at the end). */
  cluster?: boolean;
}

/** A small seeded PRNG so every fixture is the same, run after run. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const round = (v: number, digits = 1): number => Number(v.toFixed(digits));

function trend(count: number, min: number, p50: number, p95: number, max: number): TrendStats {
  if (count === 0) return { count: 0, min: 0, avg: 0, p50: 0, p90: 0, p95: 0, p99: 0, max: 0 };
  return {
    count,
    min,
    avg: round(p50 * 1.08, 2),
    p50,
    p90: round(p50 + (p95 - p50) * 0.7, 2),
    p95,
    p99: round(p95 + (max - p95) * 0.5, 2),
    max,
  };
}

function gauge(series: number[]): GaugeStats {
  if (series.length === 0) return { avg: 0, min: 0, max: 0, last: 0 };
  return {
    avg: round(series.reduce((a, b) => a + b, 0) / series.length, 2),
    min: Math.min(...series),
    max: Math.max(...series),
    last: series[series.length - 1]!,
  };
}

/**
 * A realistic finished run: 60 media bots in 12 rooms of 5 against an embedded server, ramped at 5/s,
 * one bot failed to join (room full), three links never connected, two of four thresholds crossed; the
 * server was restarted once mid-run and all 59 joined bots rejoined. Every optional
 * field is set somewhere, so a schema that forgets a field fails on this fixture. Returns a fresh object.
 */
export function fixtureSummary(options: FixtureOptions = {}): RunSummary {
  const points = options.points ?? 120;
  const rand = prng(42);
  const bots = 60;
  const linksExpected = 120;
  const timeSeries: TimePoint[] = [];
  for (let i = 0; i < points; i++) {
    const t = i + 1;
    const up = Math.min(bots, t * 5);
    // Rooms fill one after another; a room's 10 links connect about a second after its last bot joins.
    const links = Math.min(117, Math.floor(Math.max(0, up - 5) / 5) * 10 + (t > 13 ? 7 : 0));
    const spike = t % 47 > 40 ? 2.5 : 0;
    timeSeries.push({
      t,
      bots: up === bots ? bots - 1 : up,
      links,
      videoKbps: round(links * (118 + rand() * 10) * 2),
      audioKbps: round(links * (31 + rand() * 3) * 2),
      lossPct: round(0.2 + rand() * 0.6 + spike, 2),
      netLossPct: round(1.4 + rand() * 0.6 + spike, 2),
      latencyP50Ms: round(9 + rand() * 3),
      rttP50Ms: round(18 + rand() * 6),
      rttP95Ms: round(42 + rand() * 30 + spike * 20),
      jitterP95Ms: round(6 + rand() * 6 + spike * 3),
      errors: t === 13 ? 1 : 0,
      cpuPct: round(Math.min(185, 20 + up * 2.4 + rand() * 15)),
      serverCpuPct: round(2 + up * 0.3 + rand() * 2),
      rssMb: round(210 + up * 4.1 + rand() * 5),
      loopLagMs: round(4 + rand() * 8 + spike * 6),
      browserCpuPct: round(40 + rand() * 20),
      browserPssMb: round(380 + rand() * 20),
    });
  }
  const startedAt = new Date(Date.UTC(2025, 10, 25, 12, 30, 0, 0));
  const durationS = points + 1.4;
  const endedAt = new Date(startedAt.getTime() + durationS * 1000);

  if (options.cluster) {
    for (const p of timeSeries) {
      delete p.serverCpuPct;
      // bot i joins at t = i / 5 on instance i mod 3; the third instance's last reading stays at 19.
      const up = Math.min(bots, p.t * 5);
      p.instanceSockets = [0, 1, 2].map((k) => Math.min(k === 2 ? 19 : 20, Math.floor((up + 2 - k) / 3)));
    }
  }
  return {
    schema: REPORT_SCHEMA,
    run: {
      id: 'lt-20251125-123000-7f3a',
      startedAt: startedAt.toISOString(),
      endedAt: endedAt.toISOString(),
      durationS,
      interrupted: false,
      failures: options.failed
        ? [
            {
              component: 'host',
              host: 1,
              reason: 'Error: ENOSPC: no space left on device, write',
              bots: 15,
            },
          ]
        : [],
      url: options.cluster ? CLUSTER_URLS[0] : 'ws://127.0.0.1:41877/ws',
      urls: options.cluster ? [...CLUSTER_URLS] : ['ws://127.0.0.1:41877/ws'],
      embeddedServer: !options.cluster,
      planHash: '3f9c2a1be07d4c55',
      shards: { count: 1, included: [0], bots, flows: 240 },
    },
    plan: {
      mode: 'media',
      bots,
      rooms: 12,
      roomSizes: Array.from({ length: 12 }, () => 5),
      rampPerS: 5,
      durationS: points,
      graceS: 10,
      workers: 4,
      browsers: 2,
      video: 'builtin:vp8-180p',
      audio: 'builtin:opus-stereo',
      media: 'VP8 320x180 15 fps ~120 kbps; Opus stereo 120 ms packets ~32 kbps',
      recording: false,
      net: {
        profiles: ['25%:loss=5%,delay=80ms'],
        schedule: '60s:loss=15%;90s:loss=0%',
        iceServers: 1,
        relayOnly: false,
      },
    },
    thresholds: [
      { threshold: 'ice_connect_ms:p(95)<500', metric: 'ice_connect_ms', actual: 412.5, ok: true },
      { threshold: 'mesh_ready_ms:p(95)<2000', metric: 'mesh_ready_ms', actual: 2380, ok: false },
      { threshold: 'loss_pct:avg<2', metric: 'loss_pct', actual: 0.71, ok: true },
      { threshold: 'bots_failed:count==0', metric: 'bots_failed', actual: 1, ok: false },
    ],
    metrics: {
      trends: {
        ws_connect_ms: trend(60, 1.2, 3.4, 9.8, 24.1),
        join_ms: trend(59, 12, 38, 95, 212),
        reconnect_ms: trend(59, 310, 820, 2100, 3900),
        join_mesh_ms: trend(50, 120, 310, 690, 1450),
        mesh_ready_ms: trend(56, 410, 980, 2380, 4120),
        ice_connect_ms: trend(234, 88, 190, 412.5, 1310),
        first_frame_ms: trend(232, 140, 310, 690, 1870),
        video_bitrate_kbps: trend(13_920, 0, 118.4, 131.2, 188.9),
        audio_bitrate_kbps: trend(13_920, 0, 32.8, 34.1, 36.5),
        video_fps: trend(13_920, 0, 15, 15, 16),
        loss_pct: trend(13_920, 0, 0.4, 2.9, 18.2),
        jitter_ms: trend(13_920, 0.4, 4.1, 11.7, 48.3),
        rtt_ms: trend(13_920, 3.1, 21.2, 66.8, 240.5),
        chat_rtt_ms: trend(3_480, 4.2, 24.5, 71.3, 310),
        browser_fps: trend(192, 9.6, 15, 15.2, 15.4),
        browser_dropped_fps: trend(192, 0, 0, 0.2, 1.4),
        browser_jitter_buffer_ms: trend(192, 12.1, 31.5, 58.2, 96.3),
        browser_decode_ms: trend(192, 0.4, 0.9, 1.6, 4.2),
        browser_frame_width: trend(192, 320, 320, 320, 320),
        browser_frame_height: trend(192, 180, 180, 180, 180),
        browser_concealed_pct: trend(192, 0, 0, 0.8, 3.1),
        media_latency_ms: trend(278_400, 0.2, 9.5, 88.4, 140.2),
        turn_allocate_ms: trend(234, 3.1, 8.2, 15.4, 40.7),
      },
      counters: {
        bots_started: 60,
        bots_joined: 59,
        bots_failed: 1,
        links_expected: linksExpected,
        links_connected: 117,
        links_failed: 3,
        signal_errors: 1,
        signal_reconnects: 59,
        signal_reconnects_failed: 0,
        chat_sent: 3_480,
        chat_received: 3_471,
        video_flows: 232,
        video_flows_stalled: 2,
        browsers_failed: 0,
        browser_frames_decoded: 14_210,
        browser_frames_dropped: 12,
        browser_freeze_count: 1,
        browser_freeze_ms: 412,
        browser_concealed_samples: 9_600,
        browser_quality_limited_ms: 1_800,
        links_host: 110,
        links_srflx: 0,
        links_prflx: 0,
        links_relay: 7,
        frames_received: 208_440,
        frames_incomplete: 1_210,
        frames_corrupt: 0,
        freeze_count: 37,
        freeze_ms: 14_220,
      },
      gauges: {
        generator_cpu_pct: gauge(timeSeries.map((p) => p.cpuPct)),
        generator_rss_mb: gauge(timeSeries.map((p) => p.rssMb)),
        generator_loop_lag_ms: gauge(timeSeries.map((p) => p.loopLagMs)),
        browser_cpu_pct: gauge(
          timeSeries.flatMap((p) => (p.browserCpuPct === undefined ? [] : [p.browserCpuPct])),
        ),
        browser_pss_mb: gauge(
          timeSeries.flatMap((p) => (p.browserPssMb === undefined ? [] : [p.browserPssMb])),
        ),
      },
    },
    signalErrors: { 'room-full': 1 },
    server: options.cluster
      ? clusterServer()
      : {
          source: 'embedded',
          messagesIn: 1_842,
          messagesOut: 7_310,
          errors: { 'room-full': 1 },
          peakSockets: 60,
          restarts: 1,
          cpuPct: gauge(timeSeries.flatMap((p) => (p.serverCpuPct === undefined ? [] : [p.serverCpuPct]))),
          rssMb: { avg: 61.2, min: 48.5, max: 66.1, last: 64 },
          relayLatencyP50Ms: 0.5,
          relayLatencyP99Ms: 5,
          note: 'relay latency from histogram buckets (upper bounds)',
        },
    generator: {
      cores: 4,
      workers: 4,
      cpuPct: gauge(timeSeries.map((p) => p.cpuPct)),
      rssMb: gauge(timeSeries.map((p) => p.rssMb)),
      loopLagP99Ms: 31.4,
      browserCpuPct: gauge(
        timeSeries.flatMap((p) => (p.browserCpuPct === undefined ? [] : [p.browserCpuPct])),
      ),
      browserPssMb: gauge(timeSeries.flatMap((p) => (p.browserPssMb === undefined ? [] : [p.browserPssMb]))),
      saturated: false,
      warnings: ['worker 3 event-loop lag above 25 ms for 4 s'],
    },
    worstRooms: [
      {
        room: 'room-07',
        bots: 5,
        linksExpected: 10,
        linksConnected: 8,
        linksFailed: 2,
        lossPct: 3.1,
        minVideoFps: 4,
      },
      {
        room: 'room-11',
        bots: 5,
        linksExpected: 10,
        linksConnected: 9,
        linksFailed: 1,
        lossPct: 1.2,
        minVideoFps: 9,
      },
      {
        room: 'room-02',
        bots: 4,
        linksExpected: 6,
        linksConnected: 6,
        linksFailed: 0,
        lossPct: 0.9,
        minVideoFps: 12,
      },
    ],
    worstBots: [
      {
        bot: 'bot-35',
        room: 'room-07',
        state: 'failed',
        error: 'room-full: room room-07 is full (5 members)',
        linksConnected: 0,
        linksExpected: 4,
        lossPct: 0,
      },
      {
        bot: 'bot-33',
        room: 'room-07',
        state: 'joined',
        joinMeshMs: 1450,
        meshReadyMs: 4120,
        linksConnected: 2,
        linksExpected: 4,
        lossPct: 3.4,
        net: 'loss=5%,delay=80ms',
      },
      {
        bot: 'bot-54',
        room: 'room-11',
        state: 'left',
        meshReadyMs: 2210,
        linksConnected: 3,
        linksExpected: 4,
        lossPct: 1.5,
      },
    ],
    browsers: [
      {
        browser: 'browser-58',
        room: 'room-10',
        state: 'left',
        qualityLimitationReason: 'bandwidth',
        limitedMs: { bandwidth: 1_800 },
        remotes: [
          {
            remote: 'bot-10',
            width: 320,
            height: 180,
            fpsAvg: 14.9,
            fpsMin: 9.6,
            framesDecoded: 1_790,
            framesDropped: 12,
            freezeCount: 1,
            freezeMs: 412,
            jitterBufferMs: 33.2,
            decodeMs: 0.9,
            concealedSamples: 9_600,
            stalled: false,
            via: 'host',
          },
        ],
      },
      {
        browser: 'browser-59',
        room: 'room-11',
        state: 'failed',
        error: 'browser: the page crashed (its renderer died)',
        qualityLimitationReason: 'none',
        limitedMs: {},
        remotes: [],
      },
    ],
    netGroups: [netGroup(0, 'loss=5%,delay=80ms', 25, 15, 5.1), netGroup(-1, 'none', 75, 45, 1.3)],
    timeSeries,
    parts: [],
  };
}

const CLUSTER_URLS = ['ws://127.0.0.1:41877', 'ws://127.0.0.1:41878', 'ws://127.0.0.1:41879'] as const;

/** The server section of the three-instance run: 20 bots planned on each, the third's /metrics silent at the end. */
function clusterServer(): RunSummary['server'] {
  return {
    source: 'remote',
    messagesIn: 1_230,
    messagesOut: 4_870,
    errors: { 'room-full': 1 },
    peakSockets: 59,
    relayLatencyP50Ms: 1,
    relayLatencyP99Ms: 10,
    note: 'the totals cover 2 of 3 instances: no engage_ metrics from ws://127.0.0.1:41879',
    instances: [
      {
        url: CLUSTER_URLS[0],
        bots: 20,
        botsJoined: 20,
        botsFailed: 0,
        signalErrors: 0,
        source: 'remote',
        peakSockets: 20,
        messagesIn: 610,
        messagesOut: 2_440,
        errors: {},
        relayLatencyP50Ms: 1,
        relayLatencyP99Ms: 5,
      },
      {
        url: CLUSTER_URLS[1],
        bots: 20,
        botsJoined: 19,
        botsFailed: 1,
        signalErrors: 1,
        source: 'remote',
        peakSockets: 20,
        messagesIn: 620,
        messagesOut: 2_430,
        errors: { 'room-full': 1 },
        relayLatencyP50Ms: 1,
        relayLatencyP99Ms: 10,
      },
      {
        url: CLUSTER_URLS[2],
        bots: 20,
        botsJoined: 20,
        botsFailed: 0,
        signalErrors: 0,
        source: 'unavailable',
        peakSockets: 19,
        note: 'no engage_ metrics at http://127.0.0.1:41879/metrics at the end',
      },
    ],
  };
}

function netGroup(
  share: number,
  profile: string,
  sharePct: number,
  bots: number,
  lossPct: number,
): NetGroupResult {
  const shaped = share >= 0;
  const flows = (netLossPct: number): FlowGroupStats => ({
    flows: bots * 4,
    packets: bots * 4 * 2_400,
    netLossPct,
    lossPct: round(netLossPct / 4),
    rttP50Ms: shaped ? 92.4 : 12.1,
    jitterP50Ms: 2.1,
    jitterP95Ms: 6.8,
    latencyP50Ms: shaped ? 84.2 : 4.4,
    latencyP95Ms: shaped ? 97.5 : 11.2,
    kbpsPerBotP50: 596.2,
    kbpsPerBotMax: 641.9,
    framesReceived: bots * 4 * 870,
    framesIncomplete: shaped ? bots * 20 : 3,
    framesCorrupt: 0,
    freezeCount: shaped ? 31 : 6,
    freezeMs: shaped ? 11_800 : 2_420,
  });
  const direction = (lossPct: number, delayMs: number) => ({ lossPct, delayMs, jitterMs: 0 });
  return {
    share,
    profile,
    sharePct,
    schedule: shaped
      ? 'loss=5%,delay=80ms;60s:loss=15%,delay=80ms;90s:delay=80ms'
      : 'none;60s:loss=15%;90s:none',
    configured: {
      out: shaped ? direction(5, 80) : direction(0, 0),
      in: shaped ? { ...direction(0, 0), rateKbps: 1000 } : direction(0, 0),
    },
    bots: Array.from({ length: bots }, (_, i) => `bot-${shaped ? i * 4 : i + Math.floor(i / 3) + 1}`),
    sent: flows(lossPct),
    received: flows(shaped ? 1.3 : 2.1),
  };
}
