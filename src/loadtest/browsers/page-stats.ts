/**
 * What a browser participant reads from its page: the visit's state and, per member, the connection's
 * state and the getStats() counters of what it receives and sends. Cumulative, as WebRTC reports them;
 * RemoteMeter turns two readings into per-interval figures.
 */
export interface PageReading {
  joined: boolean;
  /** Why the page is back in its lobby (a refused name, an unreachable server), or ''. */
  error: string;
  members: MemberReading[];
}

export interface MemberReading {
  name: string;
  role: 'offerer' | 'answerer';
  state: RTCPeerConnectionStateName;
  video?: InboundVideo;
  audio?: InboundAudio;
  sending?: OutboundVideo;
  /** What carries the link (the selected candidate pair): relay when either end is, else the local type. */
  via?: 'host' | 'srflx' | 'prflx' | 'relay';
}

type RTCPeerConnectionStateName = 'new' | 'connecting' | 'connected' | 'disconnected' | 'failed' | 'closed';

export interface InboundVideo {
  framesDecoded: number;
  framesDropped: number;
  frameWidth: number;
  frameHeight: number;
  freezeCount: number;
  /** Seconds. */
  totalFreezesDuration: number;
  /** Seconds, summed over emitted frames. */
  jitterBufferDelay: number;
  jitterBufferEmittedCount: number;
  /** Seconds, summed over decoded frames. */
  totalDecodeTime: number;
}

export interface InboundAudio {
  concealedSamples: number;
  totalSamplesReceived: number;
}

export interface OutboundVideo {
  qualityLimitationReason: string;
  /** Seconds spent in each reason (none, cpu, bandwidth, other). */
  qualityLimitationDurations: Record<string, number>;
}

/**
 * Evaluated in the page (the engage web client exposes `window.engage` for this): the state of the visit
 * and, with `withStats`, each member's getStats(). A string, so it is not compiled for Node.
 */
export const READ_PAGE_JS = `async (withStats) => {
  const engage = window.engage;
  if (!engage) return { joined: false, error: 'the page is not the engage web client (no window.engage)', members: [] };
  const s = engage.session();
  if (!s) return { joined: false, error: engage.lobbyError() || '', members: [] };
  const n = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
  const members = await Promise.all(s.members.map(async (m) => {
    const out = { name: m.name, role: m.role, state: m.pc.connectionState };
    if (!withStats || m.pc.connectionState === 'closed') return out;
    const report = await m.pc.getStats();
    let pairId;
    for (const r of report.values()) if (r.type === 'transport' && r.selectedCandidatePairId) pairId = r.selectedCandidatePairId;
    const pair = pairId ? report.get(pairId) : [...report.values()].find((r) => r.type === 'candidate-pair' && r.nominated && r.state === 'succeeded');
    const local = pair && report.get(pair.localCandidateId);
    const remote = pair && report.get(pair.remoteCandidateId);
    if (local && remote)
      out.via = local.candidateType === 'relay' || remote.candidateType === 'relay' ? 'relay' : local.candidateType;
    for (const r of report.values()) {
      if (r.type === 'inbound-rtp' && r.kind === 'video') {
        out.video = { framesDecoded: n(r.framesDecoded), framesDropped: n(r.framesDropped),
          frameWidth: n(r.frameWidth), frameHeight: n(r.frameHeight), freezeCount: n(r.freezeCount),
          totalFreezesDuration: n(r.totalFreezesDuration), jitterBufferDelay: n(r.jitterBufferDelay),
          jitterBufferEmittedCount: n(r.jitterBufferEmittedCount), totalDecodeTime: n(r.totalDecodeTime) };
      } else if (r.type === 'inbound-rtp' && r.kind === 'audio') {
        out.audio = { concealedSamples: n(r.concealedSamples), totalSamplesReceived: n(r.totalSamplesReceived) };
      } else if (r.type === 'outbound-rtp' && r.kind === 'video') {
        const d = r.qualityLimitationDurations ?? {};
        out.sending = { qualityLimitationReason: String(r.qualityLimitationReason ?? 'none'),
          qualityLimitationDurations: Object.fromEntries(Object.entries(d).map(([k, v]) => [k, n(v)])) };
      }
    }
    return out;
  }));
  return { joined: s.joined, error: '', members };
}`;

/**
 * Set up before the page's own script: answers the load bots' chat pings (\`<name>: ping <seq>\`) on the
 * data channel as a load bot does, so that chat round trips through a browser are measured too and the
 * run's pings are not lost at browsers. The page still shows them as chat.
 */
export const ANSWER_PINGS_JS = `(() => {
  const seen = new WeakSet();
  setInterval(() => {
    const s = window.engage?.session();
    if (!s) return;
    for (const m of s.members) {
      const ch = m.channel;
      if (!ch || seen.has(ch)) continue;
      seen.add(ch);
      ch.addEventListener('message', (e) => {
        if (typeof e.data !== 'string' || ch.readyState !== 'open') return;
        const ping = /^(\\S+): ping (\\d+)$/.exec(e.data);
        if (ping) ch.send(s.name + ': pong ' + ping[2]);
      });
    }
  }, 200);
})();`;

/** One interval of one remote member's media, as the browser received it. */
export interface RemoteInterval {
  /** Decoded and dropped frames per second; undefined on the first reading (no interval yet). */
  fps?: number;
  droppedFps?: number;
  /** Per frame, over the interval. */
  jitterBufferMs?: number;
  decodeMs?: number;
  concealedPct?: number;
  /** Increments since the reading before (the first counts from zero). */
  framesDecoded: number;
  framesDropped: number;
  freezes: number;
  freezeMs: number;
  concealedSamples: number;
  width: number;
  height: number;
}

const ZERO_VIDEO: InboundVideo = {
  framesDecoded: 0,
  framesDropped: 0,
  frameWidth: 0,
  frameHeight: 0,
  freezeCount: 0,
  totalFreezesDuration: 0,
  jitterBufferDelay: 0,
  jitterBufferEmittedCount: 0,
  totalDecodeTime: 0,
};
const ZERO_AUDIO: InboundAudio = { concealedSamples: 0, totalSamplesReceived: 0 };

/**
 * Turns successive cumulative readings of one remote member into intervals. Counts go from zero, so their
 * sums are the link's totals; rates need two readings. A reading below the one before means a new
 * connection (the member rejoined): counting starts again from zero.
 */
export class RemoteMeter {
  private last: { video: InboundVideo; audio: InboundAudio; atMs: number } | undefined;

  next(video: InboundVideo | undefined, audio: InboundAudio | undefined, atMs: number): RemoteInterval {
    const v = video ?? this.last?.video ?? ZERO_VIDEO;
    const a = audio ?? this.last?.audio ?? ZERO_AUDIO;
    let prev = this.last;
    if (
      prev &&
      (v.framesDecoded < prev.video.framesDecoded || a.totalSamplesReceived < prev.audio.totalSamplesReceived)
    )
      prev = undefined;
    const pv = prev?.video ?? ZERO_VIDEO;
    const pa = prev?.audio ?? ZERO_AUDIO;
    const decoded = v.framesDecoded - pv.framesDecoded;
    const emitted = v.jitterBufferEmittedCount - pv.jitterBufferEmittedCount;
    const samples = a.totalSamplesReceived - pa.totalSamplesReceived;
    const out: RemoteInterval = {
      framesDecoded: decoded,
      framesDropped: v.framesDropped - pv.framesDropped,
      freezes: v.freezeCount - pv.freezeCount,
      freezeMs: (v.totalFreezesDuration - pv.totalFreezesDuration) * 1000,
      concealedSamples: a.concealedSamples - pa.concealedSamples,
      width: v.frameWidth,
      height: v.frameHeight,
    };
    if (prev) {
      const dtS = (atMs - prev.atMs) / 1000;
      if (dtS > 0) {
        out.fps = decoded / dtS;
        out.droppedFps = out.framesDropped / dtS;
      }
      if (emitted > 0) out.jitterBufferMs = ((v.jitterBufferDelay - pv.jitterBufferDelay) / emitted) * 1000;
      if (decoded > 0) out.decodeMs = ((v.totalDecodeTime - pv.totalDecodeTime) / decoded) * 1000;
      if (samples > 0) out.concealedPct = (out.concealedSamples / samples) * 100;
    }
    this.last = { video: v, audio: a, atMs };
    return out;
  }
}
