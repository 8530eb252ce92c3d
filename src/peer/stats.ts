import type { PeerLink } from './link.js';

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
  /** Cumulative packets lost as reported by our receivers. */
  packetsLost: number;
  /** Percent of packets lost over the interval (received + lost as the base). */
  lossPct: number;
  /** Worst inbound jitter, ms. */
  jitterMs: number;
  /** Round-trip time from RTCP (remote-inbound) or the ICE pair, ms; undefined until measured. */
  rttMs: number | undefined;
}

interface Totals {
  at: number;
  bytesOut: number;
  bytesIn: { audio: number; video: number };
  framesIn: number;
  packetsIn: number;
  packetsLost: number;
}

type StatsEntry = Record<string, unknown> & { type: string };

/** Samples a link's getStats() and turns consecutive snapshots into rates. */
export class LinkSampler {
  private last: Totals | undefined;

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
    const now: Totals = {
      at: performance.now(),
      bytesOut: 0,
      bytesIn: { audio: this.link.inbound.audio.bytes, video: this.link.inbound.video.bytes },
      framesIn: this.link.inbound.video.frames,
      packetsIn: 0,
      packetsLost: 0,
    };
    let jitterMs = 0;
    let rttMs: number | undefined;
    let pairRttMs: number | undefined;
    for (const e of entries) {
      switch (e.type) {
        case 'outbound-rtp':
          now.bytesOut += num(e.bytesSent);
          break;
        case 'inbound-rtp':
          now.packetsIn += num(e.packetsReceived);
          now.packetsLost += Math.max(0, num(e.packetsLost));
          jitterMs = Math.max(jitterMs, num(e.jitter) * 1000);
          break;
        case 'remote-inbound-rtp':
          if (typeof e.roundTripTime === 'number' && e.roundTripTime > 0) {
            rttMs = Math.max(rttMs ?? 0, e.roundTripTime * 1000);
          }
          break;
        case 'candidate-pair':
          if (typeof e.currentRoundTripTime === 'number' && e.nominated !== false)
            pairRttMs = e.currentRoundTripTime * 1000;
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
      packetsIn: 0,
      packetsLost: 0,
    };
    this.last = now;
    const seconds = Math.max(0.001, (now.at - prev.at) / 1000);
    const kbps = (bytes: number) => round((bytes * 8) / 1000 / seconds);
    const dIn = now.packetsIn - prev.packetsIn;
    const dLost = now.packetsLost - prev.packetsLost;
    const videoIn = now.bytesIn.video - prev.bytesIn.video;
    const audioIn = now.bytesIn.audio - prev.bytesIn.audio;
    return {
      remote: this.link.remoteName,
      state: this.link.state,
      outKbps: kbps(now.bytesOut - prev.bytesOut),
      inKbps: kbps(videoIn + audioIn),
      videoInKbps: kbps(videoIn),
      audioInKbps: kbps(audioIn),
      videoInFps: round((now.framesIn - prev.framesIn) / seconds),
      videoFramesIn: now.framesIn,
      packetsLost: now.packetsLost,
      lossPct: dIn + dLost > 0 ? round((100 * Math.max(0, dLost)) / (dIn + dLost)) : 0,
      jitterMs: round(jitterMs),
      rttMs: rttMs !== undefined ? round(rttMs) : pairRttMs !== undefined ? round(pairRttMs) : undefined,
    };
  }
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}

/** `bob connected out 412 kbps in 398 kbps (video 30.0 fps) lost 0 (0%) jitter 1.2 ms rtt 0.8 ms` */
export function formatSample(s: LinkSample): string {
  const rtt = s.rttMs === undefined ? '-' : `${s.rttMs} ms`;
  return (
    `${s.remote} ${s.state} out ${s.outKbps} kbps in ${s.inKbps} kbps (video ${s.videoInFps} fps) ` +
    `lost ${s.packetsLost} (${s.lossPct}%) jitter ${s.jitterMs} ms rtt ${rtt}`
  );
}
