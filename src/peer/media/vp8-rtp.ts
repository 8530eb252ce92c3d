/**
 * Where the VP8 data starts in a VP8 RTP payload (RFC 7741), after its payload descriptor; -1 for a
 * payload too short for its descriptor. No allocation: receivers call it for every packet.
 */
export function vp8DataOffset(payload: Buffer): number {
  if (payload.length < 1) return -1;
  const b0 = payload[0]!;
  let offset = 1;
  if (b0 & 0x80) {
    if (payload.length < 2) return -1;
    const x = payload[1]!;
    offset = 2;
    if (x & 0x80) {
      // PictureID: 7 or 15 bits (M bit).
      if (payload.length <= offset) return -1;
      offset += payload[offset]! & 0x80 ? 2 : 1;
    }
    if (x & 0x40) offset += 1; // TL0PICIDX
    if (x & 0x30) offset += 1; // TID / KEYIDX
  }
  return offset > payload.length ? -1 : offset;
}

/** Whether a VP8 RTP payload starts a frame: S bit set, partition index 0. */
export function vp8StartsFrame(payload: Buffer): boolean {
  const b0 = payload[0] ?? 0;
  return (b0 & 0x10) !== 0 && (b0 & 0x07) === 0;
}

/**
 * Reads a VP8 RTP payload (RFC 7741): where the VP8 data starts, and whether the packet starts a frame.
 */
export function vp8PayloadStart(payload: Buffer): { offset: number; startOfFrame: boolean } | undefined {
  const offset = vp8DataOffset(payload);
  return offset < 0 ? undefined : { offset, startOfFrame: vp8StartsFrame(payload) };
}

/** The width and height of the keyframe this packet starts, or undefined when it starts none. */
export function vp8KeyframeSize(payload: Buffer): { width: number; height: number } | undefined {
  const start = vp8PayloadStart(payload);
  if (!start?.startOfFrame) return undefined;
  const f = payload.subarray(start.offset);
  if (f.length < 10 || (f[0]! & 0x01) !== 0) return undefined;
  if (f[3] !== 0x9d || f[4] !== 0x01 || f[5] !== 0x2a) return undefined;
  return { width: f.readUInt16LE(6) & 0x3fff, height: f.readUInt16LE(8) & 0x3fff };
}
