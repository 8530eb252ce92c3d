/**
 * Writes a minimal Ogg Opus file (RFC 7845) from packets: OpusHead, OpusTags, then one audio packet per
 * page, each page with its CRC. Enough to make files the reader accepts but the sender cannot send.
 */
export function oggOpusFile(packets: Buffer[], channels = 2): Buffer {
  const head = Buffer.alloc(19);
  head.write('OpusHead', 0, 'latin1');
  head[8] = 1;
  head[9] = channels;
  head.writeUInt16LE(312, 10);
  head.writeUInt32LE(48000, 12);
  const tags = Buffer.concat([Buffer.from('OpusTags', 'latin1'), Buffer.alloc(8)]);
  const pages: Buffer[] = [];
  let granule = 0n;
  [head, tags, ...packets].forEach((packet, sequence) => {
    if (sequence >= 2) granule += 5760n;
    pages.push(page(packet, sequence, sequence === 0 ? 0x02 : 0, granule));
  });
  return Buffer.concat(pages);
}

/** A code-3 Opus packet of six 20 ms CELT fullband frames (120 ms) of `frameBytes` each, CBR. */
export function opus120msPacket(frameBytes: number): Buffer {
  const packet = Buffer.alloc(2 + 6 * frameBytes, 0x55);
  packet[0] = (31 << 3) | 3;
  packet[1] = 6;
  return packet;
}

function page(packet: Buffer, sequence: number, flags: number, granule: bigint): Buffer {
  const lacing: number[] = [];
  let left = packet.length;
  while (left >= 255) {
    lacing.push(255);
    left -= 255;
  }
  lacing.push(left);
  const header = Buffer.alloc(27 + lacing.length);
  header.write('OggS', 0, 'latin1');
  header[5] = flags;
  header.writeBigUInt64LE(granule, 6);
  header.writeUInt32LE(0x1234, 14);
  header.writeUInt32LE(sequence, 18);
  header[26] = lacing.length;
  Buffer.from(lacing).copy(header, 27);
  const bytes = Buffer.concat([header, packet]);
  bytes.writeUInt32LE(crc(bytes), 22);
  return bytes;
}

const TABLE = Array.from({ length: 256 }, (_, i) => {
  let r = i << 24;
  for (let bit = 0; bit < 8; bit++) r = r & 0x80000000 ? (r << 1) ^ 0x04c11db7 : r << 1;
  return r >>> 0;
});

function crc(bytes: Buffer): number {
  let c = 0;
  for (const b of bytes) c = ((c << 8) ^ TABLE[((c >>> 24) ^ b) & 0xff]!) >>> 0;
  return c;
}
