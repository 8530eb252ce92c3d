import { type FrameCatalog, FrameHasher } from './frame-catalog.js';
import { FreezeDetector } from './freeze.js';
import { isVp8Keyframe } from './media/vp8.js';
import { vp8DataOffset, vp8StartsFrame } from './media/vp8-rtp.js';

/** What one received video stream's frames came to, cumulative. */
export interface FrameCounts {
  /** Frames whose every packet arrived (start of frame to marker bit, no gap). */
  framesReceived: number;
  /**
   * Frames that never arrived whole, given up on: some of their packets came, or none (a gap in the
   * stream, counted from the RTP timestamps at the frame rate seen).
   */
  framesIncomplete: number;
  /** Complete frames whose bytes match no frame of the clip the stream is known to carry. */
  framesCorrupt: number;
  /** Complete frames a decoder could decode: a keyframe, or the next frame after a decoded one. */
  framesRendered: number;
  /** Complete frames a decoder had to drop: an earlier frame was lost and no keyframe had come since. */
  framesUndecodable: number;
  /** Keyframe requests (PLI) made because decoding was stuck. */
  keyframeRequests: number;
  freezeCount: number;
  freezeMs: number;
  /**
   * Whether the stream was recognised as a known clip (frame integrity is then checked); false for a
   * source this receiver does not know (a browser's camera, a file only the sender has).
   */
  verified: boolean;
}

export interface FrameAssemblerOptions {
  catalog: FrameCatalog;
  /** Ask the sender for a keyframe (send a PLI). */
  requestKeyframe: () => void;
  /** A frame still incomplete (or waiting for an earlier one) this long after its first packet is given up. */
  maxWaitMs?: number;
  /** Decoding stuck this long makes a keyframe request (default 200 ms, libwebrtc's wait for a keyframe). */
  keyframeRequestMs?: number;
  /**
   * Least time between keyframe requests while still stuck (default 1 s). A file cannot make a small
   * keyframe on demand: each request makes the sender jump to one of the clip's full-size keyframes
   * (about ten delta frames' worth), so asking as often as a live encoder would be asked floods a
   * constrained link with keyframes. Once a second is the clip's own keyframe interval.
   */
  keyframeRepeatMs?: number;
}

interface Frame {
  timestamp: number;
  /** Extended sequence number → VP8 data (the RTP payload after its descriptor). */
  parts: Map<number, Buffer>;
  start: number | undefined;
  end: number | undefined;
  firstAt: number;
  keyframe: boolean;
  complete: boolean;
  /** Lowest and highest sequence numbers among the parts. */
  low: number;
  high: number;
}

/** More pending frames than this is a stream gone wrong; the oldest are given up. */
const MAX_PENDING = 300;
/** Complete frames whose hash waits for the catalog to load. */
const MAX_UNCLASSIFIED = 1000;

/**
 * Rebuilds a VP8 stream's frames from RTP packets (RFC 7741): packets of one RTP timestamp, from the
 * packet that starts the frame to the one with the marker bit, with no sequence gap. Packets may come
 * late or twice (NACK retransmissions). Each complete frame is checked against the catalog, and then
 * "decoded" in order: a frame renders when it is a keyframe or follows the last rendered frame; after a
 * loss that was never repaired nothing renders until a keyframe, which the assembler asks for as a
 * decoder would (libwebrtc sends a PLI), and the wait shows as a freeze.
 */
export class FrameAssembler {
  readonly counts: FrameCounts = {
    framesReceived: 0,
    framesIncomplete: 0,
    framesCorrupt: 0,
    framesRendered: 0,
    framesUndecodable: 0,
    keyframeRequests: 0,
    freezeCount: 0,
    freezeMs: 0,
    verified: false,
  };
  private readonly pending = new Map<number, Frame>();
  /** Complete, not yet rendered frames by the sequence number they start at. */
  private readonly completeByStart = new Map<number, Frame>();
  /** Sequence number after the last rendered frame; meaningful while the chain is intact. */
  private nextSeq = -1;
  /** RTP timestamp of the last rendered frame, and the timestamp step between consecutive frames. */
  private lastTimestamp: number | undefined;
  private frameTicks: number | undefined;
  /** Frames given up since the last render: with the timestamp gap they tell how many never came at all. */
  private givenUpSinceRender = 0;
  private chainIntact = false;
  /** Highest sequence number of any frame finished (rendered or given up): older packets are late. */
  private floor = -1;
  private lastRequestAt = Number.NEGATIVE_INFINITY;
  private started = false;
  private readonly freezes = new FreezeDetector();
  private readonly hasher = new FrameHasher();
  private unclassified: number[] = [];
  /** Complete frames that matched nothing before the stream was recognised. */
  private unmatchedEarly = 0;
  private readonly maxWaitMs: number;
  private readonly keyframeRequestMs: number;
  private readonly keyframeRepeatMs: number;

  constructor(private readonly opts: FrameAssemblerOptions) {
    this.maxWaitMs = opts.maxWaitMs ?? 1000;
    this.keyframeRequestMs = opts.keyframeRequestMs ?? 200;
    this.keyframeRepeatMs = opts.keyframeRepeatMs ?? 1000;
  }

  /** One RTP packet: its extended sequence number (SequenceTracker), timestamp, marker bit and payload. */
  onPacket(seq: number, timestamp: number, marker: boolean, payload: Buffer, now: number): void {
    const offset = vp8DataOffset(payload);
    if (offset < 0) return;
    const startOfFrame = vp8StartsFrame(payload);
    let frame = this.pending.get(timestamp);
    if (!frame) {
      if (seq <= this.floor) return; // a late copy of a frame already finished
      if (!this.started) {
        // The stream is picked up mid-frame when media flowed before the link was up: count from the
        // first frame seen from its start, not the tail of the one before.
        if (!startOfFrame) return;
        this.started = true;
      }
      if (
        startOfFrame &&
        marker &&
        this.chainIntact &&
        seq === this.nextSeq &&
        this.pending.size === 0 &&
        this.completeByStart.size === 0
      ) {
        // The common case, most delta frames: a whole frame in one packet, next in line. It is checked
        // and decoded at once, with nothing kept (hashed in place, no slice).
        this.counts.framesReceived++;
        this.hasher.reset();
        this.hasher.push(payload, offset);
        this.classify(this.hasher.key());
        this.advance(timestamp, seq, seq, now);
        this.counts.freezeCount = this.freezes.freezeCount;
        this.counts.freezeMs = this.freezes.freezeMs;
        return;
      }
      frame = {
        timestamp,
        parts: new Map(),
        start: undefined,
        end: undefined,
        firstAt: now,
        keyframe: false,
        complete: false,
        low: seq,
        high: seq,
      };
      this.pending.set(timestamp, frame);
      if (this.pending.size > MAX_PENDING) this.giveUpOldest();
    }
    if (frame.complete || frame.parts.has(seq)) return;
    const data = payload.subarray(offset);
    frame.parts.set(seq, data);
    if (seq < frame.low) frame.low = seq;
    if (seq > frame.high) frame.high = seq;
    if (startOfFrame) {
      frame.start = seq;
      frame.keyframe = isVp8Keyframe(data);
    }
    if (marker) frame.end = seq;
    if (
      frame.start !== undefined &&
      frame.end !== undefined &&
      frame.parts.size === frame.end - frame.start + 1
    ) {
      this.completed(frame);
    }
    this.tick(now);
  }

  /** Gives up frames that waited too long and asks for a keyframe when stuck; call now and then too. */
  tick(now: number): void {
    if (this.pending.size > 0 || this.completeByStart.size > 0) this.checkPending(now);
    this.counts.freezeCount = this.freezes.freezeCount;
    this.counts.freezeMs = this.freezes.freezeMs;
  }

  private checkPending(now: number): void {
    this.render(now);
    // Frames enter `pending` as their first packet arrives, so the first one is the one waiting longest.
    let oldest = this.oldestPending();
    while (oldest && now - oldest.firstAt > this.maxWaitMs) {
      this.giveUp(oldest);
      this.render(now);
      oldest = this.oldestPending();
    }
    const waited = oldest ? now - oldest.firstAt : 0;
    const stuck = waited > this.keyframeRequestMs || (!this.chainIntact && this.completeByStart.size > 0);
    if (stuck && now - this.lastRequestAt >= this.keyframeRepeatMs) {
      this.lastRequestAt = now;
      this.counts.keyframeRequests++;
      this.opts.requestKeyframe();
    }
  }

  private oldestPending(): Frame | undefined {
    for (const frame of this.pending.values()) return frame;
    return undefined;
  }

  private completed(frame: Frame): void {
    frame.complete = true;
    this.counts.framesReceived++;
    this.hasher.reset();
    for (let s = frame.start!; s <= frame.end!; s++) this.hasher.push(frame.parts.get(s)!);
    this.classify(this.hasher.key());
    this.completeByStart.set(frame.start!, frame);
  }

  private classify(key: number): void {
    const known = this.opts.catalog.lookup(key);
    if (known === undefined) {
      if (this.unclassified.length < MAX_UNCLASSIFIED) this.unclassified.push(key);
      return;
    }
    if (this.unclassified.length > 0) {
      const waiting = this.unclassified;
      this.unclassified = [];
      for (const k of waiting) this.classify(k);
    }
    if (known && !this.counts.verified) {
      this.counts.verified = true;
      // The stream carries a known clip: the frames that matched nothing before were damaged.
      this.counts.framesCorrupt += this.unmatchedEarly;
    }
    if (!known) {
      if (this.counts.verified) this.counts.framesCorrupt++;
      else this.unmatchedEarly++;
    }
  }

  /** Renders every frame that can be, in order. */
  private render(now: number): void {
    for (;;) {
      const next = this.chainIntact ? this.completeByStart.get(this.nextSeq) : undefined;
      if (next) {
        this.rendered(next, now);
        continue;
      }
      // The next frame is not here: a complete keyframe further on is a place to start again.
      let key: Frame | undefined;
      for (const f of this.completeByStart.values()) {
        if (f.keyframe && f.start! > this.floor && (key === undefined || f.start! < key.start!)) key = f;
      }
      if (!key) return;
      for (const f of [...this.pending.values()])
        if (f !== key && this.startOf(f) < key.start!) this.giveUp(f);
      this.rendered(key, now);
    }
  }

  private rendered(frame: Frame, now: number): void {
    this.finish(frame);
    this.advance(frame.timestamp, frame.start!, frame.end!, now);
  }

  /** A frame from `start` to `end` is decoded now. */
  private advance(timestamp: number, start: number, end: number, now: number): void {
    const continuous = this.chainIntact && start === this.nextSeq;
    if (this.lastTimestamp !== undefined) {
      const step = (timestamp - this.lastTimestamp) >>> 0;
      if (continuous) this.frameTicks = step;
      else if (this.frameTicks) {
        // A jump: the frames between were given up, or never came at all.
        const between = Math.round(step / this.frameTicks) - 1;
        this.counts.framesIncomplete += Math.max(0, between - this.givenUpSinceRender);
      }
    }
    this.lastTimestamp = timestamp;
    this.givenUpSinceRender = 0;
    if (end > this.floor) this.floor = end;
    this.counts.framesRendered++;
    this.chainIntact = true;
    this.nextSeq = end + 1;
    this.freezes.onRender(now);
  }

  private giveUp(frame: Frame): void {
    this.finish(frame);
    this.givenUpSinceRender++;
    if (frame.complete) this.counts.framesUndecodable++;
    else this.counts.framesIncomplete++;
    // Whatever follows a frame that was never decoded cannot be decoded either, until a keyframe.
    if (this.startOf(frame) >= this.nextSeq) this.chainIntact = false;
  }

  private giveUpOldest(): void {
    let oldest: Frame | undefined;
    for (const f of this.pending.values()) if (!oldest || this.startOf(f) < this.startOf(oldest)) oldest = f;
    if (oldest) this.giveUp(oldest);
  }

  private finish(frame: Frame): void {
    this.pending.delete(frame.timestamp);
    if (frame.start !== undefined) this.completeByStart.delete(frame.start);
    const highest = Math.max(frame.high, frame.end ?? -1);
    if (highest > this.floor) this.floor = highest;
  }

  /** Where a frame starts, or its lowest packet when the first never came. */
  private startOf(frame: Frame): number {
    return frame.start ?? frame.low;
  }
}
