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

export interface WebmFile {
  docType: string;
  tracks: WebmTrack[];
  /** Every track's frames, in file order. */
  frames: WebmFrame[];
}

// Element IDs, marker bits included as the Matroska spec writes them.
const ID = {
  ebml: 0x1a45dfa3,
  docType: 0x4282,
  segment: 0x18538067,
  info: 0x1549a966,
  timecodeScale: 0x2ad7b1,
  tracks: 0x1654ae6b,
  trackEntry: 0xae,
  trackNumber: 0xd7,
  trackType: 0x83,
  codecId: 0x86,
  defaultDuration: 0x23e383,
  contentEncodings: 0x6d80,
  video: 0xe0,
  pixelWidth: 0xb0,
  pixelHeight: 0xba,
  audio: 0xe1,
  samplingFrequency: 0xb5,
  channels: 0x9f,
  cluster: 0x1f43b675,
  timecode: 0xe7,
  simpleBlock: 0xa3,
  blockGroup: 0xa0,
  block: 0xa1,
  blockDuration: 0x9b,
} as const;

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
]);

const TRACK_KINDS: Record<number, WebmTrack['kind']> = { 1: 'video', 2: 'audio' };

/**
 * Reads the tracks and frames of a WebM (or plain Matroska) file: just enough EBML for VP8/Opus clips
 * and for werift's own MediaRecorder output, which writes Segment and Clusters of unknown size (a live
 * writer cannot seek back). A flat scan handles those: it steps into the masters above instead of
 * relying on their sizes. SimpleBlocks and BlockGroups with every lacing kind are read.
 */
export function parseWebm(file: Buffer): WebmFile {
  if (file.length < 4 || file.readUInt32BE(0) !== ID.ebml) {
    throw new MediaFormatError('not a WebM file: it does not start with an EBML header');
  }

  let docType = '';
  let timecodeScaleNs = 1_000_000;
  let clusterTime = 0;
  const tracks: WebmTrack[] = [];
  const frames: WebmFrame[] = [];
  let groupFrames: WebmFrame[] = [];

  for (let offset = 0; offset < file.length; ) {
    const element = readElementHeader(file, offset);
    if (DESCEND.has(element.id)) {
      if (element.id === ID.trackEntry) tracks.push({ number: 0, kind: 'other', codecId: '' });
      if (element.id === ID.blockGroup) groupFrames = [];
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
      case ID.timecode:
        clusterTime = readUint(data);
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
    offset = end;
  }

  if (docType === '') throw new MediaFormatError('not a WebM file: its EBML header has no DocType');
  return { docType, tracks, frames };
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
