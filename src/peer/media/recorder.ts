import { EventEmitter } from 'node:events';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { MediaStreamTrack, RTCRtpReceiver, RtpPacket } from 'werift';
import { type Logger, silentLogger } from '../../util/log.js';
import { type MediaFrame, RtpFrameAssembler } from './rtp-frames.js';
import { type WebmTrackSpec, WebmWriter } from './webm-writer.js';

/** A name made safe as one path segment: no separators, no dot-only names, nothing a shell would trip on. */
export function safeSegment(name: string): string {
  const s = name.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 64);
  return /^\.*$/.test(s) ? `_${s}` : s;
}

/** `2026-11-25T12-22-36.123Z`: sortable, and valid in a file name everywhere. */
function fileTime(d = new Date()): string {
  return d.toISOString().replace(/:/g, '-');
}

/** Creates a new file under `dir` named `base[-n].webm`, never one that exists. */
async function createFresh(dir: string, base: string, track: WebmTrackSpec): Promise<WebmWriter> {
  for (let i = 0; ; i++) {
    const path = join(dir, `${base}${i === 0 ? '' : `-${i}`}.webm`);
    try {
      return await WebmWriter.create(path, track);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
}

export interface TrackRecorderOptions {
  dir: string;
  room: string;
  peer: string;
  track: MediaStreamTrack;
  /** Where keyframe requests (PLI) go. */
  receiver: Pick<RTCRtpReceiver, 'sendRtcpPLI'>;
  logger?: Logger;
}

/**
 * `waiting` for the first frame (video: the first keyframe) → `starting` (creating the file) →
 * `recording` → `finalised`; `empty` when closed before anything arrived (no file); `failed` when the
 * file could not be created or written (the link carries on; nothing more is held or written).
 */
export type RecorderState = 'waiting' | 'starting' | 'recording' | 'finalised' | 'empty' | 'failed';

export interface RecorderEvents {
  failed: [error: Error];
}

const KEYFRAME_RETRY_MS = 1000;
/** Frames kept while the file is being created; a file system that takes longer than this fails. */
const MAX_HELD_FRAMES = 1000;

/**
 * Writes one remote track to `DIR/<room>/<peer>/<start-time>-<kind>.webm` with engage's own WebM
 * writer (see webm-writer.ts): frames assembled from RTP go to disk as they come, so a killed process
 * leaves a file that plays to its last moment, and `close()` finalises sizes, duration and cues.
 */
export class TrackRecorder extends EventEmitter<RecorderEvents> {
  readonly kind: 'audio' | 'video';
  path: string | undefined;
  /** RTP packets that arrived for this track. */
  packets = 0;
  /** Frames written to the file. */
  frames = 0;
  error: Error | undefined;
  private stateValue: RecorderState = 'waiting';
  private readonly assembler: RtpFrameAssembler;
  private writer: WebmWriter | undefined;
  private held: MediaFrame[] = [];
  private starting: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  private readonly unsubscribe: Array<() => void> = [];
  private keyframeTimer: NodeJS.Timeout | undefined;
  private keyframeWanted = false;
  private pliSent = false;
  private readonly log: Logger;

  constructor(private readonly opts: TrackRecorderOptions) {
    super();
    this.kind = opts.track.kind === 'video' ? 'video' : 'audio';
    this.log = (opts.logger ?? silentLogger).child({
      component: 'recorder',
      remote: opts.peer,
      kind: this.kind,
    });
    this.assembler = new RtpFrameAssembler({
      kind: this.kind,
      onFrame: (frame) => this.onFrame(frame),
      onKeyframeNeeded: () => this.requestKeyframe(),
    });
    const rtp = opts.track.onReceiveRtp.subscribe((p) => this.onRtp(p));
    this.unsubscribe.push(() => rtp.unSubscribe());
  }

  get state(): RecorderState {
    return this.stateValue;
  }

  /** The member whose track this records. */
  get peer(): string {
    return this.opts.peer;
  }

  /**
   * Resolves once the file exists and every frame that has reached the recorder is on disk: what a
   * copy of the file taken now (or a kill now) holds. Rejects if the recording failed.
   */
  async flushed(): Promise<void> {
    await this.starting;
    if (this.stateValue === 'failed') throw this.error ?? new Error('the recording failed');
    await this.writer?.drain();
  }

  /** Frames held while the file is created (none once recording, failed or closed). */
  get heldFrames(): number {
    return this.held.length;
  }

  /**
   * Asks the sender for a keyframe until one arrives: nothing before it can be decoded. Call once the
   * link is connected; earlier requests are lost.
   */
  requestKeyframe(): void {
    if (this.kind !== 'video' || this.closing || this.stateValue === 'failed') return;
    this.keyframeWanted = true;
    const ssrc = this.opts.track.ssrc;
    // Before the first packet the track has no SSRC to name; onRtp asks again when one arrives.
    if (ssrc !== undefined) {
      this.pliSent = true;
      this.opts.receiver.sendRtcpPLI(ssrc).catch(() => {});
    }
    clearTimeout(this.keyframeTimer);
    this.keyframeTimer = setTimeout(() => {
      if (this.keyframeWanted) this.requestKeyframe();
    }, KEYFRAME_RETRY_MS);
    this.keyframeTimer.unref();
  }

  private onRtp(packet: RtpPacket): void {
    if (this.closing || this.stateValue === 'failed') return;
    this.packets++;
    if (this.keyframeWanted && !this.pliSent) this.requestKeyframe();
    this.assembler.push(packet);
  }

  private onFrame(frame: MediaFrame): void {
    if (frame.keyframe && this.kind === 'video') {
      this.keyframeWanted = false;
      clearTimeout(this.keyframeTimer);
    }
    if (this.writer && this.stateValue === 'recording') return this.writeFrame(frame);
    if (this.stateValue === 'waiting') this.starting = this.start(frame);
    if (this.held.length >= MAX_HELD_FRAMES) {
      return this.fail(new Error(`the recording file was not created after ${MAX_HELD_FRAMES} frames`));
    }
    this.held.push(frame);
  }

  private writeFrame(frame: MediaFrame): void {
    this.writer!.write(frame);
    this.frames++;
  }

  /** Creates the file for the stream `first` begins; never rejects (a failure is the `failed` state). */
  private async start(first: MediaFrame): Promise<void> {
    this.stateValue = 'starting';
    try {
      const dir = join(this.opts.dir, safeSegment(this.opts.room), safeSegment(this.opts.peer));
      await mkdir(dir, { recursive: true });
      const writer = await createFresh(dir, `${fileTime()}-${this.kind}`, this.trackSpec(first));
      this.writer = writer;
      this.path = writer.path;
      writer.onError = (err) => this.fail(err);
      if (this.stateValue !== 'starting') return; // failed meanwhile: finish() abandons the file
      this.stateValue = 'recording';
      for (const frame of this.held.splice(0)) this.writeFrame(frame);
      this.log.debug({ path: this.path }, 'recording');
    } catch (err) {
      this.fail(err as Error);
    }
  }

  private trackSpec(first: MediaFrame): WebmTrackSpec {
    if (this.kind === 'audio') return { kind: 'audio', codecId: 'A_OPUS', channels: 2 };
    // The first frame is a keyframe (the assembler starts at one): its header has the picture size.
    const d = first.data;
    return {
      kind: 'video',
      codecId: 'V_VP8',
      width: d.readUInt16LE(6) & 0x3fff,
      height: d.readUInt16LE(8) & 0x3fff,
    };
  }

  /** Stops recording for good: reports why, lets go of everything held, stops listening. */
  private fail(err: Error): void {
    if (this.stateValue === 'failed' || this.stateValue === 'finalised' || this.stateValue === 'empty')
      return;
    this.stateValue = 'failed';
    this.error = err;
    this.held = [];
    this.stopListening();
    this.log.warn({ err, path: this.path }, 'recording failed');
    this.emit('failed', err);
  }

  private stopListening(): void {
    clearTimeout(this.keyframeTimer);
    this.keyframeWanted = false;
    for (const un of this.unsubscribe.splice(0)) un();
  }

  /**
   * Finalises the file (sizes, duration, cues). Idempotent and never rejects: a failure ends in the
   * `failed` state (and its event). Safe before anything arrived (then no file exists).
   */
  close(): Promise<void> {
    this.closing ??= this.finish();
    return this.closing;
  }

  private async finish(): Promise<void> {
    this.stopListening();
    this.assembler.flush();
    await this.starting;
    const writer = this.writer;
    if (this.stateValue === 'failed') {
      await writer?.abandon();
      return;
    }
    if (!writer) {
      this.stateValue = 'empty';
      return;
    }
    try {
      await writer.finish();
      this.stateValue = 'finalised';
    } catch (err) {
      this.fail(err as Error);
    }
  }
}
