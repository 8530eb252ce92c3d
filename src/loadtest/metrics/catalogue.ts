/**
 * The metric catalogue of `engage loadtest`: every name carries its unit (../shared/design.md rule 7).
 * Thresholds are checked against this list before any bot starts.
 */
export const TREND_METRICS = {
  ws_connect_ms: 'signaling socket connect time',
  join_ms: 'socket open to first offer/answer exchanged',
  reconnect_ms: 'signaling socket dropped to back in the room (a new socket open, new-join sent again)',
  join_mesh_ms:
    "bot join to its links with every member already in the room connected (a newcomer's wait; no sample for the first in a room)",
  mesh_ready_ms: 'bot join to all its links connected (including links to members who joined after it)',
  ice_connect_ms:
    'link created to ICE+DTLS connected (an offerer: before its offer, so it includes the offer/answer exchange)',
  first_frame_ms: 'link created to first video frame received',
  video_bitrate_kbps: 'received video bitrate per link, sampled every 5 s',
  audio_bitrate_kbps: 'received audio bitrate per link, sampled every 5 s',
  video_fps: 'received video frames per second per link, sampled every 5 s',
  loss_pct: 'packets lost per link over each sampling interval',
  jitter_ms: 'inbound jitter per link',
  rtt_ms: 'round-trip time per link (RTCP)',
  chat_rtt_ms: 'data-channel chat ping to pong',
  media_latency_ms:
    "one-way delay of media packets, sender's abs-send-time stamp to arrival (a sample of 20 packets per link per sampling interval)",
  turn_allocate_ms:
    'ICE gathering start to the TURN relay candidate (the allocation), per link end using TURN',
  // What browser participants (--browsers) saw: per remote member, each sample interval, from getStats().
  browser_fps: 'frames a browser decoded per second, per remote video track',
  browser_dropped_fps:
    'frames a browser dropped per second (W3C framesDropped: before decoding, or too late to show), per remote video track',
  browser_jitter_buffer_ms: 'jitter-buffer delay per frame a browser played out, per remote video track',
  browser_decode_ms: 'decode time per frame in a browser, per remote video track',
  browser_frame_width: 'width of the video a browser received, px',
  browser_frame_height: 'height of the video a browser received, px',
  browser_concealed_pct: 'audio samples a browser concealed (lost or late), % of samples received',
} as const;

/** How the summaries group the trends, in display order. */
export const TREND_GROUPS = {
  signaling: ['ws_connect_ms', 'join_ms', 'reconnect_ms'],
  connectivity: ['join_mesh_ms', 'mesh_ready_ms', 'ice_connect_ms', 'turn_allocate_ms'],
  media: [
    'first_frame_ms',
    'video_bitrate_kbps',
    'audio_bitrate_kbps',
    'video_fps',
    'loss_pct',
    'jitter_ms',
    'rtt_ms',
    'media_latency_ms',
  ],
  chat: ['chat_rtt_ms'],
  browser: [
    'browser_fps',
    'browser_dropped_fps',
    'browser_jitter_buffer_ms',
    'browser_decode_ms',
    'browser_frame_width',
    'browser_frame_height',
    'browser_concealed_pct',
  ],
} as const satisfies Record<string, ReadonlyArray<keyof typeof TREND_METRICS>>;

export const COUNTER_METRICS = {
  bots_started: 'bots that began joining',
  bots_joined: 'bots whose signaling socket opened and joined',
  bots_failed: 'bots that could not join or failed',
  links_expected: 'pairs in the plan: n(n-1)/2 per room',
  links_connected: 'pairs that connected (each pair counted once)',
  links_failed: 'pairs that failed or never connected',
  signal_errors: 'error messages from the server (also by code: signal_errors{code})',
  signal_reconnects: 'completed rejoins after the signaling socket dropped (media links kept meanwhile)',
  signal_reconnects_failed:
    'outages a bot never came back from (it gave up, or the run ended first); each bot is also failed',
  chat_sent: 'chat pings sent',
  chat_received: 'chat pongs received',
  video_flows:
    'directed flows (receiver <- sender) whose video, once started, arrived in every sample window',
  video_flows_stalled: 'directed flows whose video stopped for a whole sample window after it had started',
  links_host: 'connected pairs carried by host candidates (as the last sample of the pair saw it)',
  links_srflx: 'connected pairs carried by a server-reflexive (STUN) candidate',
  links_prflx: 'connected pairs carried by a peer-reflexive candidate',
  links_relay: 'connected pairs carried through a TURN relay (either end a relay candidate)',
  frames_received:
    "video frames received whole (every packet, start to marker), over every link's last sample",
  frames_incomplete: 'video frames that never arrived whole and were given up on',
  frames_corrupt: 'whole video frames whose bytes match no frame of the clip sent (integrity check)',
  freeze_count:
    'video freezes (W3C webrtc-stats freezeCount: a gap of max(3 × avg, avg + 150 ms) between rendered frames)',
  freeze_ms: 'total time frozen, ms (W3C totalFreezesDuration), over every flow',
  browsers_failed: 'browser participants that could not start or failed (each also a failed bot)',
  browser_frames_decoded: 'video frames browsers decoded, all remote tracks',
  browser_frames_dropped: 'video frames browsers dropped, all remote tracks',
  browser_freeze_count: 'video freezes browsers saw (W3C freezeCount), all remote tracks',
  browser_freeze_ms: 'total duration of those freezes, ms',
  browser_concealed_samples: 'audio samples browsers concealed, all remote tracks',
  browser_quality_limited_ms:
    "time a browser's own video encoder was limited (by CPU, bandwidth or other), summed over its links, ms",
} as const;

/** Generator health: the load generator's own state, so a saturated generator is not mistaken for a slow server. */
export const GAUGE_METRICS = {
  generator_cpu_pct: 'CPU of the whole generator process, % of one core',
  generator_rss_mb: 'resident memory of the generator process',
  generator_loop_lag_ms: 'event-loop delay p99 across main thread and workers',
  browser_cpu_pct: "CPU of the browser participants' Chromium (every process of it), % of one core",
  browser_pss_mb: "proportional memory of the browser participants' Chromium (shared pages split), MB",
} as const;

export type TrendName = keyof typeof TREND_METRICS;
export type CounterName = keyof typeof COUNTER_METRICS;
export type GaugeName = keyof typeof GAUGE_METRICS;
export type MetricName = TrendName | CounterName | GaugeName;

export function metricKind(name: string): 'trend' | 'counter' | 'gauge' | undefined {
  if (Object.hasOwn(TREND_METRICS, name)) return 'trend';
  if (Object.hasOwn(COUNTER_METRICS, name)) return 'counter';
  if (Object.hasOwn(GAUGE_METRICS, name)) return 'gauge';
  return undefined;
}

export const ALL_METRICS: string[] = [
  ...Object.keys(TREND_METRICS),
  ...Object.keys(COUNTER_METRICS),
  ...Object.keys(GAUGE_METRICS),
];
