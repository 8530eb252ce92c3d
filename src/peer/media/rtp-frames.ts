import type { RtpPacket } from 'werift';
import { opusPacketSamples } from './opus.js';
import { isVp8Keyframe } from './vp8.js';
import { vp8PayloadStart } from './vp8-rtp.js';

export interface MediaFrame {
  /** From the stream's first frame, by RTP timestamp. */
  timeMs: number;
  data: Buffer;
  keyframe: boolean;
  /** Known for Opus (from its TOC); undefined for video. */
  durationMs?: number;
}

export interface FrameAssemblerOptions {
  kind: 'audio' | 'video';
  onFrame: (frame: MediaFrame) => void;
  /** Video lost a packet (or never saw the start): frames are dropped until the next keyframe. */
  onKeyframeNeeded?: () => void;
  /** How long a gap in sequence numbers may wait for a late or retransmitted packet. Default 200 ms. */
  latencyMs?: number;
}

/** Packets held while waiting for a gap; beyond this the gap is given up whatever its age. */
const MAX_HELD = 512;
const CLOCK_RATE = { audio: 48_000, video: 90_000 } as const;

interface Held {
  packet: RtpPacket;
  at: number;
}

/** Sequence-number distance from `a` to `b`, -32768..32767 (RFC 3550 16-bit wrap). */
function seqDelta(a: number, b: number): number {
  return ((b - a + 0x8000) & 0xffff) - 0x8000;
}

/**
 * Turns one track's RTP packets (VP8 or Opus) into frames in decode order: packets are put back in
 * sequence (a gap waits `latencyMs` for a late or retransmitted packet, then is given up), VP8 frames
 * are assembled from their packets (RFC 7741), and a video stream that lost a packet is resumed only
 * at a keyframe, so every frame handed on decodes.
 */
export class RtpFrameAssembler {
  private next: number | undefined;
  private readonly held = new Map<number, Held>();
  private parts: Buffer[] | undefined;
  private partsTimestamp = 0;
  private waitingForKeyframe: boolean;
  private lastTimestamp: number | undefined;
  private extendedTimestamp = 0;
  private firstExtended: number | undefined;
  /** Packets skipped over because they never came. */
  lost = 0;

  constructor(private readonly opts: FrameAssemblerOptions) {
    this.waitingForKeyframe = opts.kind === 'video';
  }

  /** Packets waiting for a gap to fill. */
  get heldPackets(): number {
    return this.held.size;
  }

  push(packet: RtpPacket, now = performance.now()): void {
    const seq = packet.header.sequenceNumber;
    if (this.next === undefined) this.next = seq;
    const ahead = seqDelta(this.next, seq);
    if (ahead < 0 || this.held.has(seq)) return; // late after its gap was given up, or a duplicate
    if (ahead === 0) {
      this.consume(packet);
      this.next = (seq + 1) & 0xffff;
      this.drain();
    } else {
      this.held.set(seq, { packet, at: now });
    }
    this.giveUpStaleGaps(now);
  }

  /** Hands on everything held, skipping gaps (the stream has ended). */
  flush(): void {
    while (this.held.size > 0) this.skipGap();
  }

  private drain(): void {
    for (let h = this.held.get(this.next!); h; h = this.held.get(this.next!)) {
      this.held.delete(this.next!);
      this.consume(h.packet);
      this.next = (this.next! + 1) & 0xffff;
    }
  }

  private giveUpStaleGaps(now: number): void {
    const latency = this.opts.latencyMs ?? 200;
    while (this.held.size > 0) {
      let oldest = Number.POSITIVE_INFINITY;
      for (const h of this.held.values()) oldest = Math.min(oldest, h.at);
      if (now - oldest < latency && this.held.size < MAX_HELD) return;
      this.skipGap();
    }
  }

  /** Jumps `next` to the earliest held packet: what lies between is lost. */
  private skipGap(): void {
    let nearest: number | undefined;
    for (const seq of this.held.keys()) {
      if (nearest === undefined || seqDelta(this.next!, seq) < seqDelta(this.next!, nearest)) nearest = seq;
    }
    if (nearest === undefined) return;
    this.lost += seqDelta(this.next!, nearest);
    this.onLoss();
    this.next = nearest;
    this.drain();
  }

  private onLoss(): void {
    if (this.opts.kind !== 'video') return;
    this.parts = undefined;
    if (!this.waitingForKeyframe) {
      this.waitingForKeyframe = true;
      this.opts.onKeyframeNeeded?.();
    }
  }

  private consume(packet: RtpPacket): void {
    if (this.opts.kind === 'audio') {
      if (packet.payload.length === 0) return;
      let durationMs: number | undefined;
      try {
        durationMs = opusPacketSamples(packet.payload) / 48;
      } catch {
        return; // not a valid Opus packet: nothing a decoder could use
      }
      this.emit(packet.header.timestamp, Buffer.from(packet.payload), true, durationMs);
      return;
    }
    const start = vp8PayloadStart(packet.payload);
    if (!start) return;
    if (start.startOfFrame) {
      // A frame whose marker never came is incomplete.
      if (this.parts) this.onLoss();
      this.parts = [];
      this.partsTimestamp = packet.header.timestamp;
    } else if (!this.parts || packet.header.timestamp !== this.partsTimestamp) {
      // The middle of a frame whose start we do not have.
      if (this.parts) this.onLoss();
      this.parts = undefined;
      return;
    }
    this.parts.push(packet.payload.subarray(start.offset));
    if (!packet.header.marker) return;
    const data = Buffer.concat(this.parts);
    this.parts = undefined;
    const keyframe = isVp8Keyframe(data);
    if (this.waitingForKeyframe) {
      if (!keyframe) return;
      this.waitingForKeyframe = false;
    }
    this.emit(packet.header.timestamp, data, keyframe, undefined);
  }

  private emit(timestamp: number, data: Buffer, keyframe: boolean, durationMs: number | undefined): void {
    // Extend the 32-bit RTP timestamp across wraps (signed 32-bit steps).
    if (this.lastTimestamp !== undefined) this.extendedTimestamp += (timestamp - this.lastTimestamp) | 0;
    this.lastTimestamp = timestamp;
    this.firstExtended ??= this.extendedTimestamp;
    const timeMs = ((this.extendedTimestamp - this.firstExtended) * 1000) / CLOCK_RATE[this.opts.kind];
    this.opts.onFrame({ timeMs, data, keyframe, ...(durationMs === undefined ? {} : { durationMs }) });
  }
}
