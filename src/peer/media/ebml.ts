/**
 * The EBML (RFC 8794) and Matroska/WebM element IDs engage reads and writes, and the encoding side of
 * EBML. IDs carry their marker bits, as the Matroska spec writes them.
 */
export const ID = {
  ebml: 0x1a45dfa3,
  ebmlVersion: 0x4286,
  ebmlReadVersion: 0x42f7,
  ebmlMaxIdLength: 0x42f2,
  ebmlMaxSizeLength: 0x42f3,
  docType: 0x4282,
  docTypeVersion: 0x4287,
  docTypeReadVersion: 0x4285,
  void: 0xec,
  segment: 0x18538067,
  seekHead: 0x114d9b74,
  seek: 0x4dbb,
  seekId: 0x53ab,
  seekPosition: 0x53ac,
  info: 0x1549a966,
  timecodeScale: 0x2ad7b1,
  duration: 0x4489,
  muxingApp: 0x4d80,
  writingApp: 0x5741,
  tracks: 0x1654ae6b,
  trackEntry: 0xae,
  trackNumber: 0xd7,
  trackUid: 0x73c5,
  trackType: 0x83,
  flagLacing: 0x9c,
  codecId: 0x86,
  codecPrivate: 0x63a2,
  seekPreRoll: 0x56bb,
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
  cues: 0x1c53bb6b,
  cuePoint: 0xbb,
  cueTime: 0xb3,
  cueTrackPositions: 0xb7,
  cueTrack: 0xf7,
  cueClusterPosition: 0xf1,
} as const;

/** The size field of an element whose end is not known yet: 8 bytes, all value bits set. */
export const UNKNOWN_SIZE = Buffer.from([0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);

/** An element ID as bytes: its length is given by its marker bit, so its natural big-endian form. */
export function idBytes(id: number): Buffer {
  const length = id >= 0x1000000 ? 4 : id >= 0x10000 ? 3 : id >= 0x100 ? 2 : 1;
  const b = Buffer.alloc(length);
  b.writeUIntBE(id, 0, length);
  return b;
}

/** An element data size as an EBML variable-length integer, `length` bytes (1-8) or the shortest. */
export function sizeBytes(size: number, length?: number): Buffer {
  let n = length ?? 1;
  // All value bits set would mean "unknown size", so a size needs one more byte than its bits alone.
  if (length === undefined) while (size >= 2 ** (7 * n) - 1) n++;
  if (n > 8 || size >= 2 ** (7 * n) - 1) throw new RangeError(`EBML size ${size} does not fit ${n} bytes`);
  const b = Buffer.alloc(n);
  let v = size;
  for (let i = n - 1; i >= 0; i--) {
    b[i] = v % 256;
    v = Math.floor(v / 256);
  }
  b[0]! |= 0x80 >> (n - 1);
  return b;
}

/** A whole element: ID, size, data. */
export function element(id: number, ...data: Buffer[]): Buffer {
  const body = data.length === 1 ? data[0]! : Buffer.concat(data);
  return Buffer.concat([idBytes(id), sizeBytes(body.length), body]);
}

/** An unsigned integer element's data: the fewest bytes that hold it (at least one). */
export function uintBytes(value: number): Buffer {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`not an EBML uint: ${value}`);
  let n = 1;
  while (n < 8 && value >= 2 ** (8 * n)) n++;
  const b = Buffer.alloc(n);
  let v = value;
  for (let i = n - 1; i >= 0; i--) {
    b[i] = v % 256;
    v = Math.floor(v / 256);
  }
  return b;
}

export function uintElement(id: number, value: number): Buffer {
  return element(id, uintBytes(value));
}

export function floatElement(id: number, value: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeDoubleBE(value);
  return element(id, b);
}

export function stringElement(id: number, value: string): Buffer {
  return element(id, Buffer.from(value, 'utf8'));
}

/** A Void element of exactly `total` bytes (at least 2): padding a reader skips. */
export function voidElement(total: number): Buffer {
  if (total < 2) throw new RangeError('a Void element takes at least 2 bytes');
  // Pick the size length so that ID + size field + zeros add up to `total` exactly.
  for (let n = 1; n <= 8; n++) {
    const data = total - 1 - n;
    if (data >= 0 && data < 2 ** (7 * n) - 1)
      return Buffer.concat([idBytes(ID.void), sizeBytes(data, n), Buffer.alloc(data)]);
  }
  throw new RangeError(`no Void element of ${total} bytes`);
}
