import { MediaFormatError } from './errors.js';
import { isVp8Keyframe } from './vp8.js';

export interface IvfHeader {
  /** Codec four-character code, e.g. `VP80`. */
  fourcc: string;
  width: number;
  height: number;
  /** A frame's pts times `timebaseNum / timebaseDen` is its time in seconds. */
  timebaseNum: number;
  timebaseDen: number;
  /** Frames actually read from the file. */
  frameCount: number;
  /**
   * The header's own length field. Not trusted: ffmpeg writes the duration in timebase units there
   * (equal to the frame count only at a timebase of one frame), and 0 or 0xffffffff when it could not
   * seek back.
   */
  declaredLength: number;
}

export interface IvfFrame {
  data: Buffer;
  /** Presentation time in timebase units. */
  pts: number;
  /** VP8 keyframe per the payload header; always false for other codecs. */
  keyframe: boolean;
}

export interface IvfFile {
  header: IvfHeader;
  frames: IvfFrame[];
}

const SIGNATURE = 'DKIF';
const FILE_HEADER_BYTES = 32;
const FRAME_HEADER_BYTES = 12;

/**
 * Reads an IVF file (the raw VP8/VP9/AV1 container of libvpx and `ffmpeg -f ivf`): a 32-byte file header,
 * then per frame a 4-byte size, an 8-byte pts and the encoded frame. Frames share the file's memory.
 */
export function parseIvf(file: Buffer): IvfFile {
  if (file.length < FILE_HEADER_BYTES || file.toString('latin1', 0, 4) !== SIGNATURE) {
    throw new MediaFormatError(`not an IVF file: it does not start with "${SIGNATURE}"`);
  }
  const version = file.readUInt16LE(4);
  if (version !== 0) throw new MediaFormatError(`unsupported IVF version ${version}`);
  const headerBytes = file.readUInt16LE(6);
  if (headerBytes < FILE_HEADER_BYTES || headerBytes > file.length) {
    throw new MediaFormatError(`IVF header length ${headerBytes} is invalid for a ${file.length}-byte file`);
  }
  const fourcc = file.toString('latin1', 8, 12);
  const width = file.readUInt16LE(12);
  const height = file.readUInt16LE(14);
  // IVF stores the rate first (the timebase denominator), then the scale (its numerator).
  const timebaseDen = file.readUInt32LE(16);
  const timebaseNum = file.readUInt32LE(20);
  const declaredLength = file.readUInt32LE(24);
  if (timebaseDen === 0 || timebaseNum === 0) {
    throw new MediaFormatError(`IVF timebase ${timebaseNum}/${timebaseDen} is invalid`);
  }

  const frames: IvfFrame[] = [];
  for (let offset = headerBytes; offset < file.length; ) {
    const index = frames.length;
    if (offset + FRAME_HEADER_BYTES > file.length) {
      throw new MediaFormatError(`IVF frame ${index} is truncated: its 12-byte header is cut off`);
    }
    const size = file.readUInt32LE(offset);
    const pts = Number(file.readBigInt64LE(offset + 4));
    const start = offset + FRAME_HEADER_BYTES;
    if (start + size > file.length) {
      throw new MediaFormatError(
        `IVF frame ${index} is truncated: it declares ${size} bytes, ${file.length - start} remain`,
      );
    }
    const data = file.subarray(start, start + size);
    frames.push({ data, pts, keyframe: fourcc === 'VP80' && isVp8Keyframe(data) });
    offset = start + size;
  }

  return {
    header: { fourcc, width, height, timebaseNum, timebaseDen, frameCount: frames.length, declaredLength },
    frames,
  };
}
