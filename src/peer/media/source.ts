import { OpusPacketizer, type RtpPacket, Vp8Packetizer } from 'werift';
import { type Logger, silentLogger } from '../../util/log.js';
import { type Clip, type ClipKind, checkSendable, MAX_RTP_PAYLOAD_BYTES } from './clip.js';
import { MediaFormatError } from './errors.js';

/**
 * Receives every RTP packet of the source. The packet is shared by all subscribers: treat it as
 * read-only. Passing it to werift's `track.writeRtp(packet)` is safe: werift 0.25.2 never mutates the
 * packet it is given. `MediaStreamTrack.writeRtp` clones it (`RtpPacket.clone()`: a new header object,
 * the payload Buffer shared) before setting the payload type, the track's broadcast source clones it
 * again per attached track, and `RTCRtpSender.dispatchRtp` clones once more before rewriting SSRC,
 * payload type, header extensions and sequence/timestamp offsets. Payload bytes are only copied, never
 * written. So one packet object per packet serves any number of links without copies of our own.
 * The sender passes our sequence numbers and timestamps through unchanged (its offsets start at 0 and
 * move only on replaceTrack), so the continuity kept here is what receivers see.
 */
export type RtpListener = (packet: RtpPacket) => void;

export interface ClipSourceOptions {
  /** Written into the packets; werift's sender replaces it with the negotiated one anyway. */
  payloadType?: number;
  /** Largest RTP payload in bytes (default MAX_RTP_PAYLOAD_BYTES, 1200: werift's MTU). */
  maxPayloadSize?: number;
  /** First sequence number (default random, RFC 3550 §5.1). */
  initialSequenceNumber?: number;
  /** First RTP timestamp (default random, RFC 3550 §5.1). */
  initialTimestamp?: number;
  /**
   * How far behind schedule the source may be and still catch up by sending late frames back to back
   * (default 100 ms, about 3 video frames). After a longer stall of the event loop the rest of the
   * backlog is dropped: the RTP clock jumps forward by it, as when a camera skips frames.
   */
  maxCatchUpMs?: number;
  /**
   * Least time between keyframes made by requestKeyframe() (default 200 ms). One source serves many
   * links, so a burst of PLIs (links joining, or asking again before the keyframe reached them) makes
   * one jump rather than one per request; a request inside the window is served when it ends.
   */
  keyframeCooldownMs?: number;
  log?: Logger;
}

export interface ClipSourceStats {
  framesSent: number;
  /** Packets made, each delivered to every subscriber. */
  packetsSent: number;
  /** Passes through the clip completed (jumps across the end included). */
  loops: number;
  /** requestKeyframe() jumps that skipped frames to reach a keyframe. */
  keyframeJumps: number;
  skippedFrames: number;
  /** Wall time dropped after event-loop stalls longer than maxCatchUpMs. */
  droppedLagMs: number;
}

interface Subscription {
  listener: RtpListener;
}

/** The one shared source per clip in this process (thread); see ClipSource.shared(). */
const registry = new Map<Clip, ClipSource>();

/**
 * Plays a clip as an endless live RTP stream: the frames loop forever in real time with continuous
 * sequence numbers and timestamps (the clock runs on across the loop, it never jumps back), and each
 * frame is packetized once whatever the number of subscribers. It runs only while someone subscribes:
 * the timer starts with the first subscriber and stops with the last, and is unref()ed so it never
 * keeps a finished process alive.
 *
 * Pacing is by absolute time: frame n is due at start + (ticks before frame n) / clock rate, so timer
 * lateness never accumulates into drift.
 */
export class ClipSource {
  /**
   * The process-wide source of a clip: one reader and one packetizer however many links and bots use
   * it (loadClip returns the same Clip object to all of them). Users unsubscribe when done; close() is
   * for the owner of the process, after which shared() makes a new source.
   */
  static shared(clip: Clip): ClipSource {
    let source = registry.get(clip);
    if (!source) {
      source = new ClipSource(clip);
      registry.set(clip, source);
    }
    return source;
  }

  readonly clip: Clip;
  private readonly packetizer: Vp8Packetizer | OpusPacketizer;
  private readonly maxCatchUpMs: number;
  private readonly keyframeCooldownTicks: number;
  private readonly log: Logger;
  /** For each frame, the index of the first keyframe at or after it (wrapping around). */
  private readonly nextKeyframe: Int32Array;
  private readonly subscriptions = new Set<Subscription>();
  private readonly counters: ClipSourceStats = {
    framesSent: 0,
    packetsSent: 0,
    loops: 0,
    keyframeJumps: 0,
    skippedFrames: 0,
    droppedLagMs: 0,
  };

  /** A run lasts from the first subscriber to the last unsubscribe. */
  private isRunning = false;
  private timer: NodeJS.Timeout | undefined;
  private isClosed = false;
  /** Index of the next frame to send. */
  private position = 0;
  /** RTP timestamp of the next frame (uint32). */
  private timestamp: number;
  /** performance.now() at which the current run began, and RTP ticks sent since: the schedule. */
  private runStartMs = 0;
  private runTicks = 0;
  /** When the next frame was due as the last run stopped; undefined before the first run. */
  private pausedDueMs: number | undefined;
  private keyframeWanted = false;
  private ticksSinceKeyframe = Number.POSITIVE_INFINITY;

  constructor(clip: Clip, options: ClipSourceOptions = {}) {
    if (clip.frames.length === 0 || !(clip.loopTicks > 0)) {
      throw new Error(`clip ${clip.name} has no frames or no duration`);
    }
    this.clip = clip;
    // loadClip() has checked this for the default payload size; a smaller one is checked here, now,
    // rather than in the pacing timer later.
    try {
      checkSendable(clip, options.maxPayloadSize ?? MAX_RTP_PAYLOAD_BYTES);
    } catch (err) {
      throw new MediaFormatError(`${clip.name}: ${(err as Error).message}`);
    }
    const packetizerOptions = {
      payloadType: options.payloadType ?? (clip.kind === 'video' ? 96 : 111),
      maxPayloadSize: options.maxPayloadSize ?? MAX_RTP_PAYLOAD_BYTES,
      ...(options.initialSequenceNumber === undefined
        ? {}
        : { sequenceNumber: options.initialSequenceNumber }),
    };
    if (clip.kind === 'video') {
      this.packetizer = new Vp8Packetizer(packetizerOptions);
    } else {
      this.packetizer = new OpusPacketizer(packetizerOptions);
    }
    this.timestamp = (options.initialTimestamp ?? Math.floor(Math.random() * 2 ** 32)) >>> 0;
    this.maxCatchUpMs = options.maxCatchUpMs ?? 100;
    this.keyframeCooldownTicks = ((options.keyframeCooldownMs ?? 200) * clip.clockRate) / 1000;
    this.log = options.log ?? silentLogger;
    this.nextKeyframe = indexNextKeyframes(clip);
  }

  /** The clip's kind, so a source is a link's media feed as it is. */
  get kind(): ClipKind {
    return this.clip.kind;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** Whether the pacing timer runs (there are subscribers and the source is open). */
  get running(): boolean {
    return this.isRunning;
  }

  get subscriberCount(): number {
    return this.subscriptions.size;
  }

  get stats(): ClipSourceStats {
    return { ...this.counters };
  }

  /** Starts delivering packets to `listener` (from the next frame on); returns its unsubscribe. */
  subscribe(listener: RtpListener): () => void {
    if (this.isClosed) throw new Error(`the media source of ${this.clip.name} is closed`);
    const subscription: Subscription = { listener };
    this.subscriptions.add(subscription);
    if (this.subscriptions.size === 1) this.start();
    return () => {
      if (this.subscriptions.delete(subscription) && this.subscriptions.size === 0) this.stop();
    };
  }

  /**
   * A receiver lost the picture (PLI/FIR): the next frame sent is the clip's next keyframe, skipping
   * the frames before it. A file cannot encode a fresh keyframe; jumping is the fastest way to one, and
   * the RTP clock still only moves forward. A no-op for audio, where every packet stands alone.
   */
  requestKeyframe(): void {
    if (this.clip.kind === 'video' && !this.isClosed) this.keyframeWanted = true;
  }

  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.subscriptions.clear();
    this.stop();
    if (registry.get(this.clip) === this) registry.delete(this.clip);
  }

  private start(): void {
    const now = performance.now();
    let startMs = now;
    if (this.pausedDueMs !== undefined) {
      // Resuming after a pause: the RTP clock follows the wall clock across the gap, so receivers that
      // stayed see a pause rather than a burst of old media, and they get a keyframe to restart from.
      if (now > this.pausedDueMs) this.advanceClock(now - this.pausedDueMs);
      else startMs = this.pausedDueMs;
      this.keyframeWanted = this.clip.kind === 'video';
      if (this.packetizer instanceof OpusPacketizer) this.packetizer.startTalkspurt();
    }
    this.isRunning = true;
    this.runStartMs = startMs;
    this.runTicks = 0;
    this.schedule(now);
  }

  private stop(): void {
    if (!this.isRunning) return;
    this.isRunning = false;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.pausedDueMs = this.dueMs();
  }

  private schedule(now: number): void {
    clearTimeout(this.timer);
    // Rounded up: timers fire in whole milliseconds, and one firing a fraction early would find nothing
    // due and have to go round again.
    this.timer = setTimeout(this.tick, Math.max(0, Math.ceil(this.dueMs() - now)));
    this.timer.unref();
  }

  private readonly tick = (): void => {
    this.timer = undefined;
    const now = performance.now();
    const lagMs = now - this.dueMs();
    if (lagMs > this.maxCatchUpMs) {
      const dropMs = lagMs - this.maxCatchUpMs;
      this.counters.droppedLagMs += dropMs;
      this.advanceClock(dropMs);
      this.log.debug(
        { clip: this.clip.name, lagMs: Math.round(lagMs) },
        'event loop stalled; dropping backlog',
      );
    }
    // A subscriber may unsubscribe (stopping the run) or even resubscribe (a new run) from its listener.
    while (this.isRunning && this.timer === undefined && this.dueMs() <= now) this.sendFrame();
    if (this.isRunning && this.timer === undefined) this.schedule(now);
  };

  private dueMs(): number {
    return this.runStartMs + (this.runTicks * 1000) / this.clip.clockRate;
  }

  /** Moves the schedule and the RTP clock forward without sending anything. */
  private advanceClock(ms: number): void {
    const ticks = Math.round((ms * this.clip.clockRate) / 1000);
    this.timestamp = (this.timestamp + ticks) >>> 0;
    this.runTicks += ticks;
    this.ticksSinceKeyframe += ticks;
  }

  private sendFrame(): void {
    const { frames } = this.clip;
    if (this.keyframeWanted && this.ticksSinceKeyframe >= this.keyframeCooldownTicks) {
      this.keyframeWanted = false;
      const target = this.nextKeyframe[this.position]!;
      if (target !== this.position) {
        this.counters.keyframeJumps++;
        this.counters.skippedFrames += (target - this.position + frames.length) % frames.length;
        if (target < this.position) this.counters.loops++;
        this.position = target;
      }
    }
    const frame = frames[this.position]!;
    if (frame.keyframe) {
      this.keyframeWanted = false;
      this.ticksSinceKeyframe = 0;
    }

    const packets = this.packetizer.packetize(frame.data, this.timestamp);
    const subscribers = [...this.subscriptions];
    for (const packet of packets) {
      for (const { listener } of subscribers) {
        try {
          listener(packet);
        } catch (err) {
          // One broken link must not silence the others or kill the timer.
          this.log.error({ err, clip: this.clip.name }, 'an RTP subscriber threw');
        }
      }
    }

    this.counters.framesSent++;
    this.counters.packetsSent += packets.length;
    this.timestamp = (this.timestamp + frame.durationTicks) >>> 0;
    this.runTicks += frame.durationTicks;
    this.ticksSinceKeyframe += frame.durationTicks;
    this.position++;
    if (this.position === frames.length) {
      this.position = 0;
      this.counters.loops++;
    }
  }
}

function indexNextKeyframes(clip: Clip): Int32Array {
  const count = clip.frames.length;
  const next = new Int32Array(count);
  // Two passes backwards so that frames after the last keyframe wrap to the first one.
  let upcoming = clip.frames.findIndex((frame) => frame.keyframe);
  if (upcoming < 0) upcoming = 0;
  for (let pass = 0; pass < 2; pass++) {
    for (let i = count - 1; i >= 0; i--) {
      if (clip.frames[i]!.keyframe) upcoming = i;
      next[i] = upcoming;
    }
  }
  return next;
}
