import { Trend } from '../util/trend.js';
import type { FrameCounts } from './frame-assembler.js';
import { type CandidateType, relayProtocolOf } from './ice-path.js';
import type { PeerLink } from './link.js';
import type { SequenceCounts } from './sequence.js';

/** Per-packet one-way delay over an interval (abs-send-time stamped by the sender, read on arrival). */
export interface LatencySummary {
  /** Packets measured. */
  count: number;
  p50: number;
  p95: number;
  max: number;
  min: number;
}

/** One link's health over the last interval: what a person or a load test wants per link. */
export interface LinkSample {
  remote: string;
  state: string;
  /** Sent/received media bitrate over the interval, all kinds together. */
  outKbps: number;
  inKbps: number;
  videoInKbps: number;
  audioInKbps: number;
  /** Video frames received over the interval, per second (counted from RTP marker bits). */
  videoInFps: number;
  /** Video frames received since the link started. */
  videoFramesIn: number;
  /** Packets the senders sent so far (from sequence numbers), cumulative, audio and video. */
  packetsExpected: number;
  /** Packets never received (after NACK repair), cumulative, audio and video. */
  packetsLost: number;
  /** Packets missing when due (before repair), cumulative: what the network dropped. */
  packetsLostBeforeRepair: number;
  /** Percent of the interval's packets never received (after repair): what the application lost. */
  lossPct: number;
  /** Percent of the interval's packets missing when they were due (before repair): what the network lost. */
  netLossPct: number;
  /** Worst inbound jitter, ms. */
  jitterMs: number;
  /** Round-trip time from RTCP (remote-inbound) or the ICE pair, ms; undefined until measured. */
  rttMs: number | undefined;
  /** The interval's media latency (sender's send time to our receipt, per packet); undefined without stamps. */
  mediaLatencyMs: LatencySummary | undefined;
  /**
   * The sender's clock minus ours, estimated as the interval's lowest one-way delay less half the RTT
   * (both ways assumed equal). Near 0 on one machine; across machines media latency is only as good as
   * the clocks' synchronisation, and this says how far off they look.
   */
  clockOffsetMs: number | undefined;
  /** Video frames and freezes, cumulative since the link started (see FrameAssembler). */
  frames: FrameCounts;
  /** Candidate types of the selected pair, and what carried the link: relay if either end is a relay. */
  candidateType: CandidateType | undefined;
  localCandidateType: CandidateType | undefined;
  remoteCandidateType: CandidateType | undefined;
  /** For a relayed link: the transport to our TURN server (udp, tcp, tls). */
  relayProtocol: string | undefined;
  /** Time to get our TURN relay candidate (allocation), ms; undefined without TURN. */
  turnAllocateMs: number | undefined;
}

interface Totals {
  at: number;
  bytesOut: number;
  bytesIn: { audio: number; video: number };
  framesIn: number;
  expected: number;
  received: number;
  missedFirst: number;
}

type StatsEntry = Record<string, unknown> & { type: string };

const CANDIDATE_TYPES = new Set<string>(['host', 'srflx', 'prflx', 'relay']);

/** Samples a link's getStats() and its own counters, turning consecutive snapshots into rates. */
export class LinkSampler {
  private last: Totals | undefined;
  /** The last interval's per-packet latencies, for a caller that merges distributions (a load test). */
  lastLatenciesMs: number[] = [];

  constructor(readonly link: PeerLink) {}

  async sample(): Promise<LinkSample> {
    const entries: StatsEntry[] = [];
    if (!this.link.closed) {
      try {
        const report = await this.link.pc.getStats();
        for (const v of report.values()) entries.push(v as unknown as StatsEntry);
      } catch {
        // A link closing under us has no stats; report zeros rather than fail the whole line.
      }
    }
    const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
    const { quality } = this.link;
    const sequence = sumSequence(quality.sequence('audio'), quality.sequence('video'));
    const now: Totals = {
      at: performance.now(),
      bytesOut: 0,
      bytesIn: { audio: this.link.inbound.audio.bytes, video: this.link.inbound.video.bytes },
      framesIn: this.link.inbound.video.frames,
      expected: sequence.expected,
      received: sequence.received,
      missedFirst: sequence.missedFirst,
    };
    let jitterMs = 0;
    let rttSum = 0;
    let rttWeight = 0;
    let pairRttMs: number | undefined;
    let pair: StatsEntry | undefined;
    const candidates = new Map<string, StatsEntry>();
    for (const e of entries) {
      switch (e.type) {
        case 'outbound-rtp':
          now.bytesOut += num(e.bytesSent);
          break;
        case 'inbound-rtp':
          jitterMs = Math.max(jitterMs, num(e.jitter) * 1000);
          break;
        case 'remote-inbound-rtp':
          // Audio and video cross the same path: weigh each kind's smoothed RTT by its measurements
          // (audio reports come every 5 s, video every 1 s).
          if (typeof e.roundTripTime === 'number' && e.roundTripTime > 0) {
            const n = Math.max(1, num(e.roundTripTimeMeasurements));
            rttSum += e.roundTripTime * 1000 * n;
            rttWeight += n;
          }
          break;
        case 'candidate-pair':
          if (e.nominated === true || (pair === undefined && e.state === 'succeeded')) pair = e;
          if (typeof e.currentRoundTripTime === 'number' && e.nominated !== false)
            pairRttMs = e.currentRoundTripTime * 1000;
          break;
        case 'local-candidate':
        case 'remote-candidate':
          candidates.set(String(e.id), e);
          break;
      }
    }
    // The first interval starts when the link connected: time spent connecting carried no media.
    const prev = this.last ?? {
      ...now,
      at: this.link.connectedAt ?? this.link.startedAt,
      bytesOut: 0,
      bytesIn: { audio: 0, video: 0 },
      framesIn: 0,
      expected: 0,
      received: 0,
      missedFirst: 0,
    };
    this.last = now;
    const seconds = Math.max(0.001, (now.at - prev.at) / 1000);
    const kbps = (bytes: number) => round((bytes * 8) / 1000 / seconds);
    const dExpected = now.expected - prev.expected;
    const dLost = dExpected - (now.received - prev.received);
    const videoIn = now.bytesIn.video - prev.bytesIn.video;
    const audioIn = now.bytesIn.audio - prev.bytesIn.audio;
    const rtt =
      rttWeight > 0 ? round(rttSum / rttWeight) : pairRttMs !== undefined ? round(pairRttMs) : undefined;
    this.lastLatenciesMs = quality.latency.drain();
    const latency = summarize(this.lastLatenciesMs);
    const localType = candidateType(candidates.get(String(pair?.localCandidateId)));
    const remoteType = candidateType(candidates.get(String(pair?.remoteCandidateId)));
    const relayed = localType === 'relay' || remoteType === 'relay';
    const gatheredTurn = this.link.gathering.turnAllocateMs;
    return {
      remote: this.link.remoteName,
      state: this.link.state,
      outKbps: kbps(now.bytesOut - prev.bytesOut),
      inKbps: kbps(videoIn + audioIn),
      videoInKbps: kbps(videoIn),
      audioInKbps: kbps(audioIn),
      videoInFps: round((now.framesIn - prev.framesIn) / seconds),
      videoFramesIn: now.framesIn,
      packetsExpected: now.expected,
      packetsLost: Math.max(0, now.expected - now.received),
      packetsLostBeforeRepair: now.missedFirst,
      // A repair that lands after the interval it was lost in makes a later interval negative: clamp.
      lossPct: dExpected > 0 ? round((100 * Math.max(0, dLost)) / dExpected) : 0,
      netLossPct: dExpected > 0 ? round((100 * (now.missedFirst - prev.missedFirst)) / dExpected) : 0,
      jitterMs: round(jitterMs),
      rttMs: rtt,
      mediaLatencyMs: latency,
      clockOffsetMs: latency && rtt !== undefined ? round(latency.min - rtt / 2) : undefined,
      frames: quality.frames(),
      candidateType: relayed ? 'relay' : localType,
      localCandidateType: localType,
      remoteCandidateType: remoteType,
      relayProtocol: localType === 'relay' ? relayProtocolOf(this.link.pc) : undefined,
      turnAllocateMs: gatheredTurn === undefined ? undefined : round(gatheredTurn),
    };
  }
}

function sumSequence(a: SequenceCounts, b: SequenceCounts): SequenceCounts {
  return {
    expected: a.expected + b.expected,
    received: a.received + b.received,
    missedFirst: a.missedFirst + b.missedFirst,
    recovered: a.recovered + b.recovered,
    duplicates: a.duplicates + b.duplicates,
  };
}

function candidateType(entry: StatsEntry | undefined): CandidateType | undefined {
  const t = entry?.candidateType;
  return typeof t === 'string' && CANDIDATE_TYPES.has(t) ? (t as CandidateType) : undefined;
}

function summarize(values: number[]): LatencySummary | undefined {
  if (values.length === 0) return undefined;
  const trend = new Trend();
  for (const v of values) trend.add(v);
  const s = trend.stats();
  return { count: s.count, p50: round(s.p50), p95: round(s.p95), max: round(s.max), min: round(s.min) };
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}

/**
 * `bob connected out 412 kbps in 398 kbps (video 30.0 fps) lost 0 (0%, 10% before repair) jitter 1.2 ms
 * rtt 100.8 ms latency 50.4 ms (p95 51.0) frames 150 (150 decodable, 0 incomplete, 0 corrupt) freezes 0
 * via relay/udp (turn 12.5 ms)`
 */
export function formatSample(s: LinkSample): string {
  const rtt = s.rttMs === undefined ? '-' : `${s.rttMs} ms`;
  const latency =
    s.mediaLatencyMs === undefined ? '-' : `${s.mediaLatencyMs.p50} ms (p95 ${s.mediaLatencyMs.p95})`;
  const f = s.frames;
  const integrity = `${f.framesRendered} decodable, ${f.framesIncomplete} incomplete, ${
    f.verified ? `${f.framesCorrupt} corrupt` : 'integrity unverified'
  }`;
  const via =
    s.candidateType === undefined
      ? ''
      : ` via ${s.candidateType}${s.relayProtocol ? `/${s.relayProtocol}` : ''}${
          s.turnAllocateMs === undefined ? '' : ` (turn ${s.turnAllocateMs} ms)`
        }`;
  return (
    `${s.remote} ${s.state} out ${s.outKbps} kbps in ${s.inKbps} kbps (video ${s.videoInFps} fps) ` +
    `lost ${s.packetsLost} (${s.lossPct}%, ${s.netLossPct}% before repair) jitter ${s.jitterMs} ms rtt ${rtt} ` +
    `latency ${latency} frames ${f.framesReceived} (${integrity}) freezes ${f.freezeCount}` +
    `${f.freezeCount > 0 ? ` (${Math.round(f.freezeMs)} ms)` : ''}${via}`
  );
}
