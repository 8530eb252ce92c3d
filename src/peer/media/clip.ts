import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { UsageError } from '../../util/errors.js';
import { packageRoot } from '../../util/package-root.js';
import { MediaFormatError } from './errors.js';
import { parseIvf } from './ivf.js';
import { parseOggOpus } from './ogg.js';
import { opusPacketSamples } from './opus.js';
import { isVp8Keyframe } from './vp8.js';
import { parseWebm, type WebmFile } from './webm.js';

export type ClipKind = 'video' | 'audio';

export interface ClipFrame {
  data: Buffer;
  /** RTP clock ticks from this frame to the next (to the first frame again, for the last one). */
  durationTicks: number;
  /** Decodable on its own: where a receiver can start, and where a PLI makes the sender jump to. */
  keyframe: boolean;
}

interface ClipBase {
  /** Where the clip came from, for logs: `builtin:video-640x360.ivf` or the file's path. */
  name: string;
  /** At least one frame; a video clip starts with a keyframe. */
  frames: ClipFrame[];
  /** One pass through the clip in RTP ticks (the sum of durationTicks, > 0). */
  loopTicks: number;
}

export interface VideoClip extends ClipBase {
  kind: 'video';
  codec: 'vp8';
  clockRate: 90000;
  width?: number;
  height?: number;
}

export interface AudioClip extends ClipBase {
  kind: 'audio';
  codec: 'opus';
  clockRate: 48000;
  channels?: number;
}

export type Clip = VideoClip | AudioClip;

/** The clips shipped in assets/ (made by assets/make-clips.sh). */
export const BUILTIN_CLIPS = {
  /** 640x360 30 fps ~300 kbps VP8; Opus in 20 ms packets. */
  builtin: { video: 'video-640x360.ivf', audio: 'audio-20ms.ogg' },
  /**
   * Load-test profile: 320x180 15 fps ~120 kbps VP8; Opus in 120 ms packets (a sixth of the packets of
   * 20 ms ones). A 20-bot mesh is bound by packets per second, not bytes.
   */
  'builtin-light': { video: 'video-320x180.ivf', audio: 'audio-120ms.ogg' },
} as const satisfies Record<string, Record<ClipKind, string>>;

export type BuiltinClipName = keyof typeof BUILTIN_CLIPS;

/**
 * Largest RTP payload the media source makes (werift's MTU, 1200 bytes). A VP8 frame is split over as many
 * packets as it needs (RFC 7741); an Opus packet cannot be split (RFC 7587), so each must fit in one.
 */
export const MAX_RTP_PAYLOAD_BYTES = 1200;

const VIDEO_CLOCK_RATE = 90000;
const DEFAULT_FRAME_TICKS = VIDEO_CLOCK_RATE / 30;

/** One Clip object per file and kind per process (thread), so ClipSource.shared() can key on it. */
const loaded = new Map<string, Promise<Clip>>();

/**
 * Loads a clip for the bot: `builtin`, `builtin-light` or the path of an IVF (VP8), WebM (VP8 or Opus) or
 * Ogg Opus file, recognised by its contents, not its extension. Every caller asking for the same file
 * and kind gets the same Clip object, read once per process.
 */
export function loadClip(source: string, kind: ClipKind): Promise<Clip> {
  const builtin = isBuiltinClipName(source) ? BUILTIN_CLIPS[source][kind] : undefined;
  const file = builtin ? path.join(assetsDir(), builtin) : path.resolve(source);
  const key = `${kind}:${file}`;
  let clip = loaded.get(key);
  if (!clip) {
    clip = readClipFile(file, kind, builtin ? `builtin:${builtin}` : source);
    loaded.set(key, clip);
    // A failed read is not cached: the user may fix the file and the caller try again.
    clip.catch(() => loaded.delete(key));
  }
  return clip;
}

export function isBuiltinClipName(source: string): source is BuiltinClipName {
  return Object.hasOwn(BUILTIN_CLIPS, source);
}

async function readClipFile(file: string, kind: ClipKind, name: string): Promise<Clip> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (error) {
    throw new UsageError(`cannot read ${kind} file ${name}: ${(error as Error).message}`);
  }
  try {
    return parseClip(bytes, kind, name);
  } catch (error) {
    if (error instanceof MediaFormatError) throw new MediaFormatError(`${name}: ${error.message}`);
    throw error;
  }
}

/**
 * Turns the bytes of a media file into a clip of the wanted kind, one the media source can send;
 * throws MediaFormatError.
 */
export function parseClip(file: Buffer, kind: ClipKind, name: string): Clip {
  const clip = parseContainer(file, kind, name);
  checkSendable(clip);
  return clip;
}

/**
 * Throws MediaFormatError, naming the packet and its place in the clip, when the source could not send
 * `clip` in RTP payloads of `maxPayloadBytes`: so a file is refused when it is loaded, before any bot
 * starts, not in a pacing timer later.
 */
export function checkSendable(clip: Clip, maxPayloadBytes = MAX_RTP_PAYLOAD_BYTES): void {
  if (clip.kind !== 'audio') return;
  let ticks = 0;
  for (const [index, frame] of clip.frames.entries()) {
    if (frame.data.length > maxPayloadBytes) {
      throw new MediaFormatError(
        `Opus packet ${index} (at ${(ticks / clip.clockRate).toFixed(2)} s) is ${frame.data.length} bytes, ` +
          `more than the ${maxPayloadBytes} bytes of one RTP packet, and an Opus packet cannot be split ` +
          '(RFC 7587): re-encode it at a lower bitrate or with shorter packets',
      );
    }
    ticks += frame.durationTicks;
  }
}

function parseContainer(file: Buffer, kind: ClipKind, name: string): Clip {
  const magic = file.subarray(0, 4).toString('latin1');
  if (magic === 'DKIF') {
    if (kind === 'audio')
      throw new MediaFormatError('an IVF file holds video; audio must be Ogg Opus or WebM');
    return ivfClip(file, name);
  }
  if (magic === 'OggS') {
    if (kind === 'video')
      throw new MediaFormatError('an Ogg file holds audio; video must be IVF or WebM (VP8)');
    return oggClip(file, name);
  }
  if (file.length >= 4 && file.readUInt32BE(0) === 0x1a45dfa3) {
    const webm = parseWebm(file);
    return kind === 'video' ? webmVideoClip(webm, name) : webmAudioClip(webm, name);
  }
  throw new MediaFormatError(
    kind === 'video'
      ? 'unsupported video file: expected VP8 in IVF or WebM'
      : 'unsupported audio file: expected Opus in Ogg or WebM',
  );
}

function ivfClip(file: Buffer, name: string): VideoClip {
  const { header, frames } = parseIvf(file);
  if (header.fourcc !== 'VP80') throw new MediaFormatError(`IVF codec ${header.fourcc} is not VP8 (VP80)`);
  const ticksPerUnit = (VIDEO_CLOCK_RATE * header.timebaseNum) / header.timebaseDen;
  const times = frames.map((frame) => Math.round(frame.pts * ticksPerUnit));
  // A timebase of one frame (ffmpeg's choice) also tells the last frame's length.
  const unit = Math.round(ticksPerUnit);
  const durations = durationsFromTimes(times, unit >= VIDEO_CLOCK_RATE / 120 ? unit : undefined);
  return videoClip(
    name,
    frames.map((frame, i) => ({ data: frame.data, durationTicks: durations[i]!, keyframe: frame.keyframe })),
    header.width,
    header.height,
  );
}

function oggClip(file: Buffer, name: string): AudioClip {
  const { head, packets } = parseOggOpus(file);
  return audioClip(
    name,
    packets.map((packet) => ({ data: packet.data, durationTicks: packet.samples, keyframe: true })),
    head.channels,
  );
}

function webmVideoClip(webm: WebmFile, name: string): VideoClip {
  const track = webm.tracks.find((t) => t.kind === 'video');
  if (!track) throw new MediaFormatError('the WebM file has no video track');
  if (track.codecId !== 'V_VP8') throw new MediaFormatError(`WebM video codec ${track.codecId} is not VP8`);
  const frames = webm.frames.filter((frame) => frame.track === track.number);
  const times = frames.map((frame) => Math.round((frame.timeNs * VIDEO_CLOCK_RATE) / 1e9));
  const lastNs = frames.at(-1)?.durationNs ?? track.defaultDurationNs;
  const lastTicks = lastNs === undefined ? undefined : Math.round((lastNs * VIDEO_CLOCK_RATE) / 1e9);
  const durations = durationsFromTimes(times, lastTicks || undefined);
  return videoClip(
    name,
    frames.map((frame, i) => ({
      data: frame.data,
      durationTicks: durations[i]!,
      keyframe: isVp8Keyframe(frame.data),
    })),
    track.width,
    track.height,
  );
}

function webmAudioClip(webm: WebmFile, name: string): AudioClip {
  const track = webm.tracks.find((t) => t.kind === 'audio');
  if (!track) throw new MediaFormatError('the WebM file has no audio track');
  if (track.codecId !== 'A_OPUS') throw new MediaFormatError(`WebM audio codec ${track.codecId} is not Opus`);
  const frames = webm.frames.filter((frame) => frame.track === track.number && frame.data.length > 0);
  return audioClip(
    name,
    frames.map((frame) => ({
      data: frame.data,
      durationTicks: opusPacketSamples(frame.data),
      keyframe: true,
    })),
    track.channels,
  );
}

/**
 * Frame durations from presentation times in ticks. Times can only give the gaps between frames; the
 * last frame lasts `lastTicks` when the container says so, else as long as a typical (median) frame.
 */
function durationsFromTimes(times: number[], lastTicks: number | undefined): number[] {
  // A time going backwards would make the RTP clock go backwards: such a frame gets no time of its own.
  const gaps = times.slice(1).map((time, i) => Math.max(0, time - times[i]!));
  const positive = gaps.filter((gap) => gap > 0).sort((a, b) => a - b);
  const typical = positive[Math.floor(positive.length / 2)] ?? DEFAULT_FRAME_TICKS;
  return [...gaps, lastTicks ?? typical];
}

function videoClip(name: string, frames: ClipFrame[], width?: number, height?: number): VideoClip {
  // Looping back to a frame that is not a keyframe would show garbage until the next keyframe.
  const first = frames.findIndex((frame) => frame.keyframe);
  if (first < 0) throw new MediaFormatError('the video has no VP8 keyframe');
  const playable = frames.slice(first);
  return {
    kind: 'video',
    codec: 'vp8',
    clockRate: VIDEO_CLOCK_RATE,
    name,
    frames: playable,
    loopTicks: totalTicks(playable),
    ...(width ? { width } : {}),
    ...(height ? { height } : {}),
  };
}

function audioClip(name: string, frames: ClipFrame[], channels?: number): AudioClip {
  if (frames.length === 0) throw new MediaFormatError('the audio has no Opus packets');
  if (channels !== undefined && channels > 2) {
    throw new MediaFormatError(`Opus with ${channels} channels is not sendable over WebRTC (at most 2)`);
  }
  return {
    kind: 'audio',
    codec: 'opus',
    clockRate: 48000,
    name,
    frames,
    loopTicks: totalTicks(frames),
    ...(channels ? { channels } : {}),
  };
}

function totalTicks(frames: ClipFrame[]): number {
  const ticks = frames.reduce((sum, frame) => sum + frame.durationTicks, 0);
  // The sender paces by these durations: a clip of no length would spin forever.
  if (ticks <= 0) throw new MediaFormatError('the clip lasts no time (all frames have the same timestamp)');
  return ticks;
}

/** assets/ of the package: found from this module's place, so it works from src/ (vitest) and dist/. */
export function assetsDir(): string {
  return path.join(packageRoot(import.meta.url, 'assets/'), 'assets');
}
