import { randomInt } from 'node:crypto';
import {
  element,
  floatElement,
  ID,
  idBytes,
  sizeBytes,
  stringElement,
  UNKNOWN_SIZE,
  uintElement,
  voidElement,
} from './ebml.js';
import { FileSink } from './file-sink.js';

export type WebmTrackSpec =
  | { kind: 'video'; codecId: 'V_VP8'; width: number; height: number }
  | { kind: 'audio'; codecId: 'A_OPUS'; channels: number };

export interface WebmBlock {
  /** Presentation time from the start of the recording. */
  timeMs: number;
  data: Buffer;
  keyframe: boolean;
  /** How long the frame lasts, when known (the file's duration ends with the last one). */
  durationMs?: number;
}

/** Room kept at the start of the Segment for the SeekHead written when the file is finalised. */
const SEEK_HEAD_RESERVE = 96;
/** A video cluster starts at each keyframe, and at least this often. */
const VIDEO_CLUSTER_MS = 5000;
/** Audio has no keyframes to cluster on; a cluster (and a cue) per second. */
const AUDIO_CLUSTER_MS = 1000;
/** Block times are 16-bit offsets from their cluster's time. */
const MAX_BLOCK_OFFSET_MS = 32767;
const MAX_CLUSTER_BYTES = 4 * 1024 * 1024;
const TRACK_NUMBER = 1;

/**
 * Writes one track to a WebM file as it is recorded, in a shape that is playable at every moment and
 * clean once finalised:
 *
 * - While recording, the Segment has an unknown size (allowed for live files) and each Cluster is
 *   written with its size field reserved; when the cluster ends its real size is written in place, and
 *   the Info Duration is brought up to date. A process killed mid-way leaves a file that players read
 *   to its last block: every cluster sized but the last, the duration as of the last cluster.
 * - `finish()` closes the last cluster, appends Cues (one per keyframe cluster), writes the Segment's
 *   size, the final Duration and a SeekHead in the room reserved for it. ffprobe then has nothing to
 *   warn about, and players can seek.
 *
 * werift's MediaRecorder, by contrast, leaves every Cluster unknown-sized inside a Segment it sizes at
 * the end, which readers flag ("Unknown-sized element inside parent with finite size").
 */
export class WebmWriter {
  private segmentDataStart = 0;
  private infoPosition = 0;
  private tracksPosition = 0;
  private durationOffset = 0;
  private cluster: { start: number; timeMs: number; bytes: number } | undefined;
  private readonly cues: Array<{ timeMs: number; position: number }> = [];
  private lastTimeMs = 0;
  private frameIntervalMs = 0;
  private endMs = 0;
  private finishing: Promise<void> | undefined;

  private constructor(
    private readonly sink: FileSink,
    readonly track: WebmTrackSpec,
  ) {
    this.writeHeader();
  }

  /** Creates `path` (which must not exist) and writes the header. */
  static async create(path: string, track: WebmTrackSpec): Promise<WebmWriter> {
    return new WebmWriter(await FileSink.create(path), track);
  }

  get path(): string {
    return this.sink.path;
  }

  /** The first write error; the file stops growing once there is one. */
  get error(): Error | undefined {
    return this.sink.error;
  }

  set onError(handler: (err: Error) => void) {
    this.sink.onError = handler;
  }

  /** Resolves once every block written so far is on disk (clusters still open stay unsized). */
  drain(): Promise<void> {
    return this.sink.drain();
  }

  /** Media time written so far, ms. */
  get durationMs(): number {
    return this.endMs;
  }

  private writeHeader(): void {
    const sink = this.sink;
    sink.append(
      element(
        ID.ebml,
        uintElement(ID.ebmlVersion, 1),
        uintElement(ID.ebmlReadVersion, 1),
        uintElement(ID.ebmlMaxIdLength, 4),
        uintElement(ID.ebmlMaxSizeLength, 8),
        stringElement(ID.docType, 'webm'),
        uintElement(ID.docTypeVersion, 4),
        uintElement(ID.docTypeReadVersion, 2),
      ),
    );
    const segmentStart = sink.append(Buffer.concat([idBytes(ID.segment), UNKNOWN_SIZE]));
    this.segmentDataStart = segmentStart + 4 + UNKNOWN_SIZE.length;
    sink.append(voidElement(SEEK_HEAD_RESERVE));

    const duration = floatElement(ID.duration, 0);
    const info = element(
      ID.info,
      uintElement(ID.timecodeScale, 1_000_000),
      stringElement(ID.muxingApp, 'engage'),
      stringElement(ID.writingApp, 'engage'),
      duration,
    );
    this.infoPosition = sink.append(info);
    // The Duration's 8-byte float is the last thing in Info.
    this.durationOffset = this.infoPosition + info.length - 8;
    this.tracksPosition = sink.append(element(ID.tracks, this.trackEntry()));
  }

  private trackEntry(): Buffer {
    const t = this.track;
    const common = [
      uintElement(ID.trackNumber, TRACK_NUMBER),
      uintElement(ID.trackUid, randomInt(1, 2 ** 48)),
      uintElement(ID.flagLacing, 0),
      stringElement(ID.codecId, t.codecId),
    ];
    if (t.kind === 'video') {
      return element(
        ID.trackEntry,
        ...common,
        uintElement(ID.trackType, 1),
        element(ID.video, uintElement(ID.pixelWidth, t.width), uintElement(ID.pixelHeight, t.height)),
      );
    }
    return element(
      ID.trackEntry,
      ...common,
      uintElement(ID.trackType, 2),
      element(ID.codecPrivate, opusHead(t.channels)),
      // Matroska's Opus mapping: decoders need 80 ms of audio before a seek point to converge.
      uintElement(ID.seekPreRoll, 80_000_000),
      element(ID.audio, floatElement(ID.samplingFrequency, 48_000), uintElement(ID.channels, t.channels)),
    );
  }

  /** Appends one frame; times must not go backwards (a frame that does is written at the last time). */
  write(block: WebmBlock): void {
    if (this.finishing || this.sink.error) return;
    const timeMs = Math.max(this.lastTimeMs, Math.round(block.timeMs));
    // A video frame lasts until the next; the last one is taken to last as long as the one before.
    if (timeMs > this.lastTimeMs) this.frameIntervalMs = timeMs - this.lastTimeMs;
    this.lastTimeMs = timeMs;
    if (this.needsNewCluster(timeMs, block.keyframe)) this.startCluster(timeMs, block.keyframe);
    const cluster = this.cluster!;
    const header = Buffer.alloc(4);
    header[0] = 0x80 | TRACK_NUMBER;
    header.writeInt16BE(timeMs - cluster.timeMs, 1);
    header[3] = block.keyframe ? 0x80 : 0;
    const size = header.length + block.data.length;
    const bytes = Buffer.concat([idBytes(ID.simpleBlock), sizeBytes(size), header, block.data]);
    this.sink.append(bytes);
    cluster.bytes += bytes.length;
    this.endMs = Math.max(this.endMs, timeMs + (block.durationMs ?? this.frameIntervalMs));
  }

  private needsNewCluster(timeMs: number, keyframe: boolean): boolean {
    const c = this.cluster;
    if (!c) return true;
    const age = timeMs - c.timeMs;
    if (age > MAX_BLOCK_OFFSET_MS || c.bytes > MAX_CLUSTER_BYTES) return true;
    if (this.track.kind === 'video') return (keyframe && age > 0) || age >= VIDEO_CLUSTER_MS;
    return age >= AUDIO_CLUSTER_MS;
  }

  private startCluster(timeMs: number, keyframe: boolean): void {
    this.endCluster();
    const head = Buffer.concat([idBytes(ID.cluster), UNKNOWN_SIZE, uintElement(ID.timecode, timeMs)]);
    const start = this.sink.append(head);
    this.cluster = { start, timeMs, bytes: head.length };
    // A cue is where a player can start decoding: a video cluster that opens on a keyframe.
    if (this.track.kind === 'audio' || keyframe) {
      this.cues.push({ timeMs, position: start - this.segmentDataStart });
    }
  }

  /** Writes the finished cluster's size over its placeholder, and the duration so far. */
  private endCluster(): void {
    const c = this.cluster;
    if (!c) return;
    const dataStart = c.start + 4 + UNKNOWN_SIZE.length;
    this.sink.patch(c.start + 4, sizeBytes(this.sink.length - dataStart, 8));
    this.cluster = undefined;
    this.writeDuration();
  }

  private writeDuration(): void {
    const b = Buffer.alloc(8);
    b.writeDoubleBE(this.endMs);
    this.sink.patch(this.durationOffset, b);
  }

  /**
   * Finalises the file (last cluster, cues, sizes, duration, seek head) and closes it. Idempotent;
   * rejects with the first write error.
   */
  finish(): Promise<void> {
    this.finishing ??= (async () => {
      if (!this.sink.error) this.finalise();
      await this.sink.close();
    })();
    return this.finishing;
  }

  /** Closes the file as it is, unfinalised (after a failure). */
  async abandon(): Promise<void> {
    this.finishing ??= this.sink.close().catch(() => {});
    await this.finishing.catch(() => {});
  }

  private finalise(): void {
    this.endCluster();
    this.writeDuration();
    let cuesPosition: number | undefined;
    if (this.cues.length > 0) {
      const points = this.cues.map((c) =>
        element(
          ID.cuePoint,
          uintElement(ID.cueTime, c.timeMs),
          element(
            ID.cueTrackPositions,
            uintElement(ID.cueTrack, TRACK_NUMBER),
            uintElement(ID.cueClusterPosition, c.position),
          ),
        ),
      );
      cuesPosition = this.sink.append(element(ID.cues, ...points)) - this.segmentDataStart;
    }
    this.sink.patch(this.segmentDataStart - 8, sizeBytes(this.sink.length - this.segmentDataStart, 8));
    const seek = (id: number, position: number) =>
      element(ID.seek, element(ID.seekId, idBytes(id)), uintElement(ID.seekPosition, position));
    const seekHead = element(
      ID.seekHead,
      seek(ID.info, this.infoPosition - this.segmentDataStart),
      seek(ID.tracks, this.tracksPosition - this.segmentDataStart),
      ...(cuesPosition === undefined ? [] : [seek(ID.cues, cuesPosition)]),
    );
    const rest = SEEK_HEAD_RESERVE - seekHead.length;
    // A gap of one byte cannot be a Void; rather leave the reserve as it is (a SeekHead is optional).
    if (rest === 0 || rest >= 2) {
      const filled = rest === 0 ? seekHead : Buffer.concat([seekHead, voidElement(rest)]);
      this.sink.patch(this.segmentDataStart, filled);
    }
  }
}

/** The Opus identification header (RFC 7845 §5.1) that Matroska stores as CodecPrivate. */
function opusHead(channels: number): Buffer {
  const b = Buffer.alloc(19);
  b.write('OpusHead', 0, 'latin1');
  b[8] = 1; // version
  b[9] = channels;
  b.writeUInt16LE(0, 10); // pre-skip: RTP audio starts mid-stream, nothing to skip
  b.writeUInt32LE(48_000, 12); // input sample rate, informational
  b.writeInt16LE(0, 16); // output gain
  b[18] = 0; // mapping family 0: mono or stereo
  return b;
}
