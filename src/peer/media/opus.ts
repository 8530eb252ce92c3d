import { MediaFormatError } from './errors.js';

/** Frame size in 48 kHz samples for each of the 32 TOC configurations (RFC 6716 §3.1, table 2). */
const FRAME_SAMPLES: readonly number[] = [
  // SILK NB, MB, WB: 10, 20, 40, 60 ms
  480, 960, 1920, 2880, 480, 960, 1920, 2880, 480, 960, 1920, 2880,
  // Hybrid SWB, FB: 10, 20 ms
  480, 960, 480, 960,
  // CELT NB, WB, SWB, FB: 2.5, 5, 10, 20 ms
  120, 240, 480, 960, 120, 240, 480, 960, 120, 240, 480, 960, 120, 240, 480, 960,
];

/** RFC 6716 §3.4 [R5]: a packet holds at most 120 ms of audio. */
const MAX_PACKET_SAMPLES = 5760;

/**
 * Duration of one Opus packet in 48 kHz samples, from its TOC byte (and, for code 3, the frame-count
 * byte). The RTP clock of Opus is always 48 kHz (RFC 7587 §4.1), whatever the input rate was.
 */
export function opusPacketSamples(packet: Buffer): number {
  const toc = packet[0];
  if (toc === undefined) throw new MediaFormatError('empty Opus packet');
  const frameSamples = FRAME_SAMPLES[toc >> 3]!;
  let frames: number;
  switch (toc & 0x03) {
    case 0:
      frames = 1;
      break;
    case 1:
    case 2:
      frames = 2;
      break;
    default: {
      const countByte = packet[1];
      if (countByte === undefined)
        throw new MediaFormatError('Opus code-3 packet without its frame-count byte');
      frames = countByte & 0x3f;
      if (frames === 0) throw new MediaFormatError('Opus code-3 packet with a frame count of 0');
    }
  }
  const samples = frames * frameSamples;
  if (samples > MAX_PACKET_SAMPLES) {
    throw new MediaFormatError(`Opus packet of ${samples / 48} ms is longer than the 120 ms allowed`);
  }
  return samples;
}
