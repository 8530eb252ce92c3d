import { MediaFormatError } from './errors.js';
import { opusPacketSamples } from './opus.js';

/** The identification header of an Ogg Opus stream (RFC 7845 §5.1). */
export interface OpusHead {
  channels: number;
  /** Samples (48 kHz) the decoder drops at the start; RTP carries them anyway. */
  preSkip: number;
  /** The rate of the encoder's input, for information only: Opus always decodes at 48 kHz. */
  inputSampleRate: number;
  /** Q7.8 dB gain. */
  outputGain: number;
  mappingFamily: number;
}

export interface OggOpusPacket {
  data: Buffer;
  /** Duration in 48 kHz samples, from the packet's TOC byte. */
  samples: number;
}

export interface OggOpusFile {
  head: OpusHead;
  packets: OggOpusPacket[];
}

const CAPTURE = 'OggS';
const PAGE_HEADER_BYTES = 27;
const FLAG_CONTINUED = 0x01;
const FLAG_FIRST = 0x02;

/**
 * Reads the first Opus stream of an Ogg file into its audio packets (RFC 7845): the OpusHead and
 * OpusTags headers are checked and dropped, packets split over pages are joined, other logical streams
 * (a Theora video beside it, say) are ignored. Every page's CRC is checked, so a damaged file fails here
 * with a clear message instead of sending garbage.
 */
export function parseOggOpus(file: Buffer): OggOpusFile {
  if (file.length < PAGE_HEADER_BYTES || file.toString('latin1', 0, 4) !== CAPTURE) {
    throw new MediaFormatError(`not an Ogg file: it does not start with "${CAPTURE}"`);
  }
  let serial: number | undefined;
  let expectedPage = 0;
  const packets: Buffer[] = [];
  let partial: Buffer[] = [];

  for (let offset = 0; offset < file.length; ) {
    const page = readPage(file, offset);
    offset = page.end;
    if (serial === undefined) {
      // A stream is found by its first page: flagged as the beginning of the stream, OpusHead inside.
      if (!(page.flags & FLAG_FIRST) || !startsWith(page.body, 'OpusHead')) continue;
      serial = page.serial;
    } else if (page.serial !== serial) {
      continue;
    }
    if (page.sequence !== expectedPage) {
      throw new MediaFormatError(
        `Ogg page ${expectedPage} of the Opus stream is missing (found page ${page.sequence} at byte ${page.start})`,
      );
    }
    expectedPage++;
    if (page.flags & FLAG_CONTINUED && partial.length === 0) {
      throw new MediaFormatError(`Ogg page ${page.sequence} continues a packet that never started`);
    }
    let bodyOffset = 0;
    for (const lacing of page.lacing) {
      partial.push(page.body.subarray(bodyOffset, bodyOffset + lacing));
      bodyOffset += lacing;
      // A lacing value below 255 ends the packet; 255 means it goes on in the next segment.
      if (lacing < 255) {
        packets.push(partial.length === 1 ? partial[0]! : Buffer.concat(partial));
        partial = [];
      }
    }
  }

  if (serial === undefined) {
    throw new MediaFormatError(
      'no Opus stream in this Ogg file (only Opus is supported, not Vorbis or others)',
    );
  }
  if (partial.length > 0) throw new MediaFormatError('Ogg file is truncated: its last packet is cut off');
  const [headPacket, tagsPacket, ...audio] = packets;
  const head = parseOpusHead(headPacket!);
  if (!tagsPacket || !startsWith(tagsPacket, 'OpusTags')) {
    throw new MediaFormatError('Ogg Opus stream lacks its OpusTags header (RFC 7845 §5.2)');
  }
  if (audio.length === 0) throw new MediaFormatError('Ogg Opus stream holds no audio packets');
  return {
    head,
    packets: audio.map((data, index) => {
      if (data.length === 0) throw new MediaFormatError(`Opus packet ${index} is empty`);
      return { data, samples: opusPacketSamples(data) };
    }),
  };
}

interface OggPage {
  start: number;
  end: number;
  flags: number;
  serial: number;
  sequence: number;
  lacing: Uint8Array;
  body: Buffer;
}

function readPage(file: Buffer, start: number): OggPage {
  if (start + PAGE_HEADER_BYTES > file.length) {
    throw new MediaFormatError(`Ogg file is truncated: page header at byte ${start} is cut off`);
  }
  if (file.toString('latin1', start, start + 4) !== CAPTURE) {
    throw new MediaFormatError(`Ogg file is damaged: no page starts at byte ${start}`);
  }
  const version = file[start + 4]!;
  if (version !== 0) throw new MediaFormatError(`unsupported Ogg page version ${version} at byte ${start}`);
  const segments = file[start + 26]!;
  const lacingStart = start + PAGE_HEADER_BYTES;
  const bodyStart = lacingStart + segments;
  if (bodyStart > file.length) {
    throw new MediaFormatError(`Ogg file is truncated: page at byte ${start} is cut off`);
  }
  const lacing = file.subarray(lacingStart, bodyStart);
  let bodyBytes = 0;
  for (const value of lacing) bodyBytes += value;
  const end = bodyStart + bodyBytes;
  if (end > file.length)
    throw new MediaFormatError(`Ogg file is truncated: page at byte ${start} is cut off`);
  const sequence = file.readUInt32LE(start + 18);
  if (oggCrc(file, start, end) !== file.readUInt32LE(start + 22)) {
    throw new MediaFormatError(
      `Ogg page ${sequence} at byte ${start} fails its CRC check: the file is damaged`,
    );
  }
  return {
    start,
    end,
    flags: file[start + 5]!,
    serial: file.readUInt32LE(start + 14),
    sequence,
    lacing,
    body: file.subarray(bodyStart, end),
  };
}

function parseOpusHead(packet: Buffer): OpusHead {
  if (packet.length < 19 || !startsWith(packet, 'OpusHead')) {
    throw new MediaFormatError('Ogg Opus stream has a malformed OpusHead header (RFC 7845 §5.1)');
  }
  const version = packet[8]!;
  // The upper nibble is the major version; a change there means an incompatible layout.
  if (version >> 4 !== 0) throw new MediaFormatError(`unsupported Ogg Opus version ${version}`);
  const channels = packet[9]!;
  if (channels === 0) throw new MediaFormatError('OpusHead declares 0 channels');
  return {
    channels,
    preSkip: packet.readUInt16LE(10),
    inputSampleRate: packet.readUInt32LE(12),
    outputGain: packet.readInt16LE(16),
    mappingFamily: packet[18]!,
  };
}

function startsWith(buffer: Buffer, magic: string): boolean {
  return buffer.length >= magic.length && buffer.toString('latin1', 0, magic.length) === magic;
}

/** Ogg's CRC-32: polynomial 0x04c11db7, not reflected, initial 0, over the page with its CRC field zeroed. */
const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let r = i << 24;
    for (let bit = 0; bit < 8; bit++) r = r & 0x80000000 ? (r << 1) ^ 0x04c11db7 : r << 1;
    table[i] = r >>> 0;
  }
  return table;
})();

function oggCrc(file: Buffer, start: number, end: number): number {
  let crc = 0;
  for (let i = start; i < end; i++) {
    const byte = i >= start + 22 && i < start + 26 ? 0 : file[i]!;
    crc = ((crc << 8) ^ CRC_TABLE[((crc >>> 24) ^ byte) & 0xff]!) >>> 0;
  }
  return crc;
}
