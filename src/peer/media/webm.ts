import { ID } from './ebml.js';
import { MediaFormatError } from './errors.js';

export interface WebmTrack {
  number: number;
  kind: 'video' | 'audio' | 'other';
  /** Matroska codec ID, e.g. `V_VP8`, `A_OPUS`. */
  codecId: string;
  width?: number;
  height?: number;
  channels?: number;
  samplingFrequency?: number;
  defaultDurationNs?: number;
}

export interface WebmFrame {
  track: number;
  /** Presentation time of the block; frames laced into one block all carry the block's time. */
  timeNs: number;
  data: Buffer;
  /** The SimpleBlock keyframe flag; absent for a Block inside a BlockGroup, which has none. */
  keyframe?: boolean;
  /** From a BlockGroup's BlockDuration, when the muxer wrote one. */
  durationNs?: number;
}

export interface WebmCluster {
  /** Offset of the Cluster element from the start of the Segment's data (what cues and seeks name). */
  position: number;
  timeNs: number;
  /** False for a Cluster written with an unknown size. */
  sized: boolean;
}

export interface WebmCue {
  timeNs: number;
  track: number;
  clusterPosition: number;
}

export interface WebmFile {
  docType: string;
  /** From the Segment Info, when the muxer wrote one. */
  durationNs?: number;
  /** False for a Segment written with an unknown size (a live file that was never finalised). */
  segmentSized: boolean;
  tracks: WebmTrack[];
  /** Every track's frames, in file order. */
  frames: WebmFrame[];
  clusters: WebmCluster[];
  cues: WebmCue[];
}

/**
 * Masters whose children we need. The scan steps into these (known size or not) and skips every other
 * element whole, so IDs reused inside elements we skip (Cues, Tags, ...) are never misread.
 */
const DESCEND = new Set<number>([
  ID.ebml,
  ID.segment,
  ID.info,
  ID.tracks,
  ID.trackEntry,
  ID.video,
  ID.audio,
  ID.cluster,
  ID.blockGroup,
  ID.cues,
]);

/** Inside Cues, only these are stepped into and read; other IDs there mean other things. */
const CUE_MASTERS = new Set<number>([ID.cuePoint, ID.cueTrackPositions]);
const CUE_FIELDS = new Set<number>([ID.cueTime, ID.cueTrack, ID.cueClusterPosition]);

const TRACK_KINDS: Record<number, WebmTrack['kind']> = { 1: 'video', 2: 'audio' };

/**
 * Reads the tracks and frames of a WebM (or plain Matroska) file: just enough EBML for VP8/Opus clips
 * and for live recordings, which leave the Segment and the last Cluster of unknown size (a writer that
 * died never came back to fill them in; werift's MediaRecorder leaves every Cluster so). A flat scan
 * handles those: it steps into the masters above instead of relying on their sizes. SimpleBlocks and
 * BlockGroups with every lacing kind are read, and the cues and cluster positions, to check a file's
 * index.
 */
export function parseWebm(file: Buffer): WebmFile {
  if (file.length < 4 || file.readUInt32BE(0) !== ID.ebml) {
    throw new MediaFormatError('not a WebM file: it does not start with an EBML header');
  }

  let docType = '';
  let timecodeScaleNs = 1_000_000;
  let duration: number | undefined;
  let clusterTime = 0;
  let segmentDataStart = 0;
  let segmentSized = false;
  const tracks: WebmTrack[] = [];
  const frames: WebmFrame[] = [];
  const clusters: WebmCluster[] = [];
  const cues: WebmCue[] = [];
  let groupFrames: WebmFrame[] = [];

  let cuesEnd = 0;

  for (let offset = 0; offset < file.length; ) {
    const element = readElementHeader(file, offset);
    const inCues = offset < cuesEnd;
    if (inCues ? CUE_MASTERS.has(element.id) : DESCEND.has(element.id)) {
      if (element.id === ID.cues) cuesEnd = element.size === undefined ? 0 : element.dataStart + element.size;
      if (element.id === ID.trackEntry) tracks.push({ number: 0, kind: 'other', codecId: '' });
      if (element.id === ID.blockGroup) groupFrames = [];
      if (element.id === ID.segment) {
        segmentDataStart = element.dataStart;
        segmentSized = element.size !== undefined;
      }
      if (element.id === ID.cluster) {
        clusters.push({ position: offset - segmentDataStart, timeNs: 0, sized: element.size !== undefined });
      }
      if (element.id === ID.cuePoint) cues.push({ timeNs: 0, track: 0, clusterPosition: -1 });
      offset = element.dataStart;
      continue;
    }
    if (element.size === undefined) {
      throw new MediaFormatError(
        `WebM element 0x${element.id.toString(16)} at byte ${offset} has an unknown size`,
      );
    }
    const end = element.dataStart + element.size;
    if (end > file.length) {
      throw new MediaFormatError(
        `WebM file is truncated: element 0x${element.id.toString(16)} at byte ${offset} needs ${end - file.length} more bytes`,
      );
    }
    const data = file.subarray(element.dataStart, end);
    const track = tracks.at(-1);
    offset = end;
    if (inCues !== CUE_FIELDS.has(element.id)) continue;
    switch (element.id) {
      case ID.docType:
        docType = data.toString('latin1');
        if (docType !== 'webm' && docType !== 'matroska') {
          throw new MediaFormatError(`not a WebM file: its EBML DocType is "${docType}"`);
        }
        break;
      case ID.timecodeScale:
        timecodeScaleNs = readUint(data);
        break;
      case ID.trackNumber:
        if (track) track.number = readUint(data);
        break;
      case ID.trackType:
        if (track) track.kind = TRACK_KINDS[readUint(data)] ?? 'other';
        break;
      case ID.codecId:
        if (track) track.codecId = data.toString('latin1').replace(/\0+$/, '');
        break;
      case ID.defaultDuration:
        if (track) track.defaultDurationNs = readUint(data);
        break;
      case ID.pixelWidth:
        if (track) track.width = readUint(data);
        break;
      case ID.pixelHeight:
        if (track) track.height = readUint(data);
        break;
      case ID.channels:
        if (track) track.channels = readUint(data);
        break;
      case ID.samplingFrequency:
        if (track) track.samplingFrequency = data.length === 4 ? data.readFloatBE(0) : data.readDoubleBE(0);
        break;
      case ID.contentEncodings:
        // Compressed or encrypted frames would need undoing before they are sendable.
        throw new MediaFormatError(
          'WebM tracks with content encoding (compression/encryption) are not supported',
        );
      case ID.duration:
        duration = data.length === 4 ? data.readFloatBE(0) : data.readDoubleBE(0);
        break;
      case ID.timecode:
        clusterTime = readUint(data);
        if (clusters.length > 0) clusters.at(-1)!.timeNs = clusterTime * timecodeScaleNs;
        break;
      case ID.cueTime:
        if (cues.length > 0) cues.at(-1)!.timeNs = readUint(data) * timecodeScaleNs;
        break;
      case ID.cueTrack:
        if (cues.length > 0) cues.at(-1)!.track = readUint(data);
        break;
      case ID.cueClusterPosition:
        if (cues.length > 0) cues.at(-1)!.clusterPosition = readUint(data);
        break;
      case ID.simpleBlock:
        frames.push(...readBlock(data, offset, clusterTime, timecodeScaleNs, true));
        break;
      case ID.block:
        groupFrames = readBlock(data, offset, clusterTime, timecodeScaleNs, false);
        frames.push(...groupFrames);
        break;
      case ID.blockDuration: {
        const durationNs = readUint(data) * timecodeScaleNs;
        for (const frame of groupFrames) frame.durationNs = durationNs;
        break;
      }
    }
  }

  if (docType === '') throw new MediaFormatError('not a WebM file: its EBML header has no DocType');
  return {
    docType,
    ...(duration === undefined ? {} : { durationNs: duration * timecodeScaleNs }),
    segmentSized,
    tracks,
    frames,
    clusters,
    cues,
  };
}

interface ElementHeader {
  id: number;
  /** undefined: the "unknown size" of a live writer. */
  size: number | undefined;
  dataStart: number;
}

function readElementHeader(file: Buffer, offset: number): ElementHeader {
  const id = readVint(file, offset, 4, 'element ID');
  const size = readVint(file, offset + id.length, 8, 'element size');
  const idValue = file.readUIntBE(offset, id.length);
  return {
    id: idValue,
    size: size.allOnes ? undefined : size.value,
    dataStart: offset + id.length + size.length,
  };
}

/** An EBML variable-length integer: the count of leading zero bits gives its length (RFC 8794 §4). */
function readVint(
  buffer: Buffer,
  offset: number,
  maxLength: number,
  what: string,
): { value: number; length: number; allOnes: boolean } {
  const first = buffer[offset];
  if (first === undefined)
    throw new MediaFormatError(`WebM file is truncated: ${what} at byte ${offset} is cut off`);
  const length = first === 0 ? 9 : Math.clz32(first) - 23;
  if (length > maxLength)
    throw new MediaFormatError(`WebM file is damaged: invalid ${what} at byte ${offset}`);
  if (offset + length > buffer.length) {
    throw new MediaFormatError(`WebM file is truncated: ${what} at byte ${offset} is cut off`);
  }
  const marker = 0x80 >> (length - 1);
  let value = first & (marker - 1);
  let allOnes = value === marker - 1;
  for (let i = 1; i < length; i++) {
    const byte = buffer[offset + i]!;
    value = value * 256 + byte;
    allOnes &&= byte === 0xff;
  }
  return { value, length, allOnes };
}

function readUint(data: Buffer): number {
  let value = 0;
  for (const byte of data) value = value * 256 + byte;
  return value;
}

const LACING_NONE = 0;
const LACING_XIPH = 1;
const LACING_FIXED = 2;

/** One (Simple)Block: track number, 16-bit time relative to the cluster, flags, then one or more frames. */
function readBlock(
  block: Buffer,
  elementOffset: number,
  clusterTime: number,
  timecodeScaleNs: number,
  simple: boolean,
): WebmFrame[] {
  const damaged = () => new MediaFormatError(`WebM block at byte ${elementOffset} is damaged`);
  const trackVint = readVint(block, 0, 8, 'block track number');
  let p = trackVint.length;
  if (p + 3 > block.length) throw damaged();
  const timeNs = (clusterTime + block.readInt16BE(p)) * timecodeScaleNs;
  const flags = block[p + 2]!;
  p += 3;
  const base = { track: trackVint.value, timeNs, ...(simple ? { keyframe: (flags & 0x80) !== 0 } : {}) };
  const lacing = (flags >> 1) & 0x03;
  if (lacing === LACING_NONE) return [{ ...base, data: block.subarray(p) }];

  const count = block[p++];
  if (count === undefined) throw damaged();
  const frameCount = count + 1;
  const sizes: number[] = [];
  if (lacing === LACING_FIXED) {
    const rest = block.length - p;
    if (rest % frameCount !== 0) throw damaged();
    for (let i = 0; i < frameCount; i++) sizes.push(rest / frameCount);
  } else if (lacing === LACING_XIPH) {
    for (let i = 0; i < frameCount - 1; i++) {
      let size = 0;
      let byte: number | undefined;
      do {
        byte = block[p++];
        if (byte === undefined) throw damaged();
        size += byte;
      } while (byte === 255);
      sizes.push(size);
    }
  } else {
    // EBML lacing: the first size, then signed differences to the previous size.
    const firstSize = readVint(block, p, 8, 'lace size');
    p += firstSize.length;
    sizes.push(firstSize.value);
    for (let i = 1; i < frameCount - 1; i++) {
      const diff = readVint(block, p, 8, 'lace size');
      p += diff.length;
      const bias = 2 ** (7 * diff.length - 1) - 1;
      sizes.push(sizes[i - 1]! + diff.value - bias);
    }
  }
  if (lacing !== LACING_FIXED) {
    const used = sizes.reduce((a, b) => a + b, 0);
    if (used > block.length - p) throw damaged();
    sizes.push(block.length - p - used);
  }
  const frames: WebmFrame[] = [];
  for (const size of sizes) {
    if (size < 0 || p + size > block.length) throw damaged();
    frames.push({ ...base, data: block.subarray(p, p + size) });
    p += size;
  }
  return frames;
}
