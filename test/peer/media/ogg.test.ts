import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { assetsDir } from '../../../src/peer/media/clip.js';
import { MediaFormatError } from '../../../src/peer/media/errors.js';
import { parseOggOpus } from '../../../src/peer/media/ogg.js';
import { opusPacketSamples } from '../../../src/peer/media/opus.js';
import { ffprobePacketCount, hasFfprobe } from './ffmpeg.js';

const assets = assetsDir();
const audio20 = path.join(assets, 'audio-20ms.ogg');
const audio120 = path.join(assets, 'audio-120ms.ogg');

describe('parseOggOpus', () => {
  it('reads the 20 ms clip: stereo, 501 packets of 960 samples, ~10 s', () => {
    const { head, packets } = parseOggOpus(readFileSync(audio20));
    expect(head).toMatchObject({ channels: 2, preSkip: 312, inputSampleRate: 48000, mappingFamily: 0 });
    expect(packets.length).toBe(501);
    expect(new Set(packets.map((p) => p.samples))).toEqual(new Set([960]));
    const seconds = packets.reduce((sum, p) => sum + p.samples, 0) / 48000;
    expect(seconds).toBeCloseTo(10, 1);
  });

  it('reads the 120 ms clip: 84 packets of 5760 samples (code-3 packets of six 20 ms CELT frames), ~10 s', () => {
    const { head, packets } = parseOggOpus(readFileSync(audio120));
    expect(head.channels).toBe(2);
    expect(packets.length).toBe(84);
    expect(new Set(packets.map((p) => p.samples))).toEqual(new Set([5760]));
    expect(packets.reduce((sum, p) => sum + p.samples, 0) / 48000).toBeCloseTo(10.08, 2);
    // ~32 kbps
    const kbps = (packets.reduce((sum, p) => sum + p.data.length, 0) * 8) / 10 / 1000;
    expect(kbps).toBeGreaterThan(24);
    expect(kbps).toBeLessThan(40);
  });

  it.skipIf(!hasFfprobe)('counts as many packets as ffprobe', () => {
    expect(parseOggOpus(readFileSync(audio20)).packets.length).toBe(ffprobePacketCount(audio20, 'a'));
    expect(parseOggOpus(readFileSync(audio120)).packets.length).toBe(ffprobePacketCount(audio120, 'a'));
  });

  describe('rejects malformed files clearly', () => {
    const good = readFileSync(audio20);

    it('a file that is not Ogg', () => {
      expect(() => parseOggOpus(Buffer.from('RIFF....WAVEfmt '.repeat(4)))).toThrow(MediaFormatError);
      expect(() => parseOggOpus(Buffer.alloc(0))).toThrow(/not an Ogg file/);
    });

    it('a damaged page (CRC)', () => {
      const bad = Buffer.from(good);
      bad[300] = bad[300]! ^ 0xff;
      expect(() => parseOggOpus(bad)).toThrow(/fails its CRC check/);
    });

    it('a truncated file', () => {
      expect(() => parseOggOpus(good.subarray(0, good.length - 10))).toThrow(/truncated/);
    });

    it('an Ogg stream that is not Opus', () => {
      const bad = Buffer.from(good);
      bad.write('Vorbis!!', 28, 'latin1');
      fixCrc(bad, 0);
      expect(() => parseOggOpus(bad)).toThrow(/no Opus stream/);
    });

    it('a missing page', () => {
      // Drop the OpusTags page: the audio's first page then has the wrong sequence number.
      const firstPageEnd = pageEnd(good, 0);
      const secondPageEnd = pageEnd(good, firstPageEnd);
      const bad = Buffer.concat([good.subarray(0, firstPageEnd), good.subarray(secondPageEnd)]);
      expect(() => parseOggOpus(bad)).toThrow(/Ogg page 1 of the Opus stream is missing/);
    });
  });
});

describe('opusPacketSamples (RFC 6716 TOC)', () => {
  const toc = (config: number, code: number) => (config << 3) | code;

  it('reads the frame size of each mode', () => {
    expect(opusPacketSamples(Buffer.from([toc(3, 0)]))).toBe(2880); // SILK NB 60 ms
    expect(opusPacketSamples(Buffer.from([toc(13, 0)]))).toBe(960); // hybrid FB 20 ms
    expect(opusPacketSamples(Buffer.from([toc(16, 0)]))).toBe(120); // CELT NB 2.5 ms
    expect(opusPacketSamples(Buffer.from([toc(31, 0)]))).toBe(960); // CELT FB 20 ms
  });

  it('reads the frame count of codes 0-3', () => {
    expect(opusPacketSamples(Buffer.from([toc(31, 1), 0, 0]))).toBe(1920);
    expect(opusPacketSamples(Buffer.from([toc(31, 2), 1, 0]))).toBe(1920);
    expect(opusPacketSamples(Buffer.from([toc(31, 3), 0x80 | 5]))).toBe(4800);
  });

  it('rejects impossible packets', () => {
    expect(() => opusPacketSamples(Buffer.alloc(0))).toThrow(/empty/);
    expect(() => opusPacketSamples(Buffer.from([toc(31, 3)]))).toThrow(/frame-count byte/);
    expect(() => opusPacketSamples(Buffer.from([toc(31, 3), 0]))).toThrow(/frame count of 0/);
    expect(() => opusPacketSamples(Buffer.from([toc(3, 3), 3]))).toThrow(/longer than the 120 ms/);
  });
});

function pageEnd(file: Buffer, start: number): number {
  const segments = file[start + 26]!;
  let body = 0;
  for (let i = 0; i < segments; i++) body += file[start + 27 + i]!;
  return start + 27 + segments + body;
}

/** Recomputes a page's CRC after a test edited it (Ogg CRC-32, polynomial 0x04c11db7). */
function fixCrc(file: Buffer, start: number): void {
  const end = pageEnd(file, start);
  file.writeUInt32LE(0, start + 22);
  let crc = 0;
  for (let i = start; i < end; i++) {
    crc ^= file[i]! << 24;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x80000000 ? (crc << 1) ^ 0x04c11db7 : crc << 1;
  }
  file.writeUInt32LE(crc >>> 0, start + 22);
}
