import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { MediaStreamTrack, type RTCRtpReceiver, type RtcpPacket, type RtpPacket } from 'werift';
import { MediaRecorder } from 'werift/nonstandard';
import { type Logger, silentLogger } from '../../util/log.js';
import { vp8KeyframeSize } from './vp8-rtp.js';

/** A name made safe as one path segment: no separators, no dot-only names, nothing a shell would trip on. */
export function safeSegment(name: string): string {
  const s = name.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 64);
  return /^\.*$/.test(s) ? `_${s}` : s;
}

/** `2026-11-25T12-22-36.123Z`: sortable, and valid in a file name everywhere. */
function fileTime(d = new Date()): string {
  return d.toISOString().replace(/:/g, '-');
}

async function freshPath(dir: string, base: string): Promise<string> {
  for (let i = 0; ; i++) {
    const path = join(dir, `${base}${i === 0 ? '' : `-${i}`}.webm`);
    try {
      await stat(path);
    } catch {
      return path;
    }
  }
}

export interface TrackRecorderOptions {
  dir: string;
  room: string;
  peer: string;
  track: MediaStreamTrack;
  receiver: RTCRtpReceiver;
  logger?: Logger;
}

const KEYFRAME_RETRY_MS = 1000;

/**
 * Writes one remote track to `DIR/<room>/<peer>/<start-time>-<kind>.webm` with werift's MediaRecorder.
 *
 * The recorder is fed through a private track so nothing is lost while it starts: packets are held
 * until the writer is subscribed and, for video, until the first keyframe tells the real picture size
 * (the WebM header needs it; werift would write 640x360 otherwise).
 */
export class TrackRecorder {
  readonly kind: 'audio' | 'video';
  path: string | undefined;
  packets = 0;
  private readonly proxy: MediaStreamTrack;
  private recorder: MediaRecorder | undefined;
  private held: RtpPacket[] = [];
  private live = false;
  private starting: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  private readonly unsubscribe: Array<() => void> = [];
  private keyframeTimer: NodeJS.Timeout | undefined;
  private keyframeWanted = false;
  private pliSent = false;
  private readonly log: Logger;

  constructor(private readonly opts: TrackRecorderOptions) {
    this.kind = opts.track.kind === 'video' ? 'video' : 'audio';
    this.log = (opts.logger ?? silentLogger).child({
      component: 'recorder',
      remote: opts.peer,
      kind: this.kind,
    });
    this.proxy = new MediaStreamTrack({ kind: this.kind, codec: opts.track.codec, remote: true });
    const rtp = opts.track.onReceiveRtp.subscribe((p) => this.onRtp(p));
    const rtcp = opts.track.onReceiveRtcp.subscribe((p: RtcpPacket) => this.proxy.onReceiveRtcp.execute(p));
    this.unsubscribe.push(
      () => rtp.unSubscribe(),
      () => rtcp.unSubscribe(),
    );
    if (this.kind === 'audio') this.starting = this.start(undefined);
  }

  /**
   * Asks the sender for a keyframe until one arrives: werift's recorder drops everything before it.
   * Call once the link is connected; earlier requests are lost.
   */
  requestKeyframe(): void {
    if (this.kind !== 'video' || this.closing || this.starting) return;
    this.keyframeWanted = true;
    const ssrc = this.opts.track.ssrc;
    // Before the first packet the track has no SSRC to name; onRtp asks again when one arrives.
    if (ssrc !== undefined) {
      this.pliSent = true;
      this.opts.receiver.sendRtcpPLI(ssrc).catch(() => {});
    }
    clearTimeout(this.keyframeTimer);
    this.keyframeTimer = setTimeout(() => {
      if (!this.starting) this.requestKeyframe();
    }, KEYFRAME_RETRY_MS);
    this.keyframeTimer.unref();
  }

  private onRtp(packet: RtpPacket): void {
    if (this.closing) return;
    this.packets++;
    if (this.live) return this.proxy.onReceiveRtp.execute(packet);
    if (this.kind === 'video' && !this.starting) {
      const size = vp8KeyframeSize(packet.payload);
      if (!size) {
        // Nothing before the first keyframe can be decoded.
        if (this.keyframeWanted && !this.pliSent) this.requestKeyframe();
        return;
      }
      clearTimeout(this.keyframeTimer);
      this.starting = this.start(size);
    }
    this.held.push(packet.clone());
  }

  private async start(size: { width: number; height: number } | undefined): Promise<void> {
    const dir = join(this.opts.dir, safeSegment(this.opts.room), safeSegment(this.opts.peer));
    await mkdir(dir, { recursive: true });
    this.path = await freshPath(dir, `${fileTime()}-${this.kind}`);
    this.recorder = new MediaRecorder({
      path: this.path,
      numOfTracks: 1,
      disableLipSync: true,
      // RTP time, not RTCP-SR time: nothing is dropped while waiting for the first sender report.
      disableNtp: true,
      ...(size ?? {}),
    });
    this.recorder.onError.subscribe((err) => this.log.warn({ err }, 'recorder error'));
    await this.recorder.addTrack(this.proxy);
    for (const p of this.held.splice(0)) this.proxy.onReceiveRtp.execute(p);
    this.live = true;
    this.log.debug({ path: this.path }, 'recording');
  }

  /** Finalises the file (duration, cues). Idempotent; safe before anything arrived (then no file exists). */
  close(): Promise<void> {
    this.closing ??= this.finish();
    return this.closing;
  }

  private async finish(): Promise<void> {
    clearTimeout(this.keyframeTimer);
    for (const un of this.unsubscribe.splice(0)) un();
    if (!this.starting) return;
    try {
      await this.starting;
      await this.recorder?.stop();
    } catch (err) {
      this.log.warn({ err, path: this.path }, 'could not finalise recording');
    }
  }
}
