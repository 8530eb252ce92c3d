import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { assetsDir } from '../../../src/peer/media/clip.js';
import { MediaFormatError } from '../../../src/peer/media/errors.js';
import { parseIvf } from '../../../src/peer/media/ivf.js';
import { ffprobePacketCount, hasFfprobe } from './ffmpeg.js';

const assets = assetsDir();
const main = path.join(assets, 'video-640x360.ivf');
const light = path.join(assets, 'video-320x180.ivf');

describe('parseIvf', () => {
  it('reads the built-in 640x360 clip: 300 VP8 frames, a keyframe every 30', () => {
    const { header, frames } = parseIvf(readFileSync(main));
    expect(header).toMatchObject({
      fourcc: 'VP80',
      width: 640,
      height: 360,
      timebaseNum: 1,
      timebaseDen: 30,
    });
    expect(header.frameCount).toBe(300);
    expect(frames.map((f) => f.pts)).toEqual(Array.from({ length: 300 }, (_, i) => i));
    const keyframes = frames.flatMap((f, i) => (f.keyframe ? [i] : []));
    expect(keyframes).toEqual([0, 30, 60, 90, 120, 150, 180, 210, 240, 270]);
    const bytes = frames.reduce((sum, f) => sum + f.data.length, 0);
    // ~300 kbps over 10 s
    expect((bytes * 8) / 10 / 1000).toBeGreaterThan(250);
    expect((bytes * 8) / 10 / 1000).toBeLessThan(350);
  });

  it('reads the load profile: 150 frames at 15 fps, a keyframe every 15', () => {
    const { header, frames } = parseIvf(readFileSync(light));
    expect(header).toMatchObject({
      fourcc: 'VP80',
      width: 320,
      height: 180,
      timebaseDen: 15,
      frameCount: 150,
    });
    expect(frames.flatMap((f, i) => (f.keyframe ? [i] : []))).toEqual(
      Array.from({ length: 10 }, (_, i) => i * 15),
    );
  });

  it.skipIf(!hasFfprobe)('counts as many frames as ffprobe', () => {
    expect(parseIvf(readFileSync(main)).frames.length).toBe(ffprobePacketCount(main, 'v'));
    expect(parseIvf(readFileSync(light)).frames.length).toBe(ffprobePacketCount(light, 'v'));
  });

  describe('rejects malformed files clearly', () => {
    const good = readFileSync(light);

    it('a wrong signature', () => {
      const bad = Buffer.from(good);
      bad.write('RIFF', 0, 'latin1');
      expect(() => parseIvf(bad)).toThrow(MediaFormatError);
      expect(() => parseIvf(bad)).toThrow(/not an IVF file/);
      expect(() => parseIvf(Buffer.alloc(0))).toThrow(/not an IVF file/);
    });

    it('an unknown version or timebase', () => {
      const version = Buffer.from(good);
      version.writeUInt16LE(3, 4);
      expect(() => parseIvf(version)).toThrow(/unsupported IVF version 3/);
      const timebase = Buffer.from(good);
      timebase.writeUInt32LE(0, 16);
      expect(() => parseIvf(timebase)).toThrow(/timebase/);
    });

    it('a frame cut off in its data or its header', () => {
      expect(() => parseIvf(good.subarray(0, good.length - 1))).toThrow(
        /IVF frame 149 is truncated: it declares/,
      );
      const firstFrameEnd = 32 + 12 + good.readUInt32LE(32);
      expect(() => parseIvf(good.subarray(0, firstFrameEnd + 5))).toThrow(
        /IVF frame 1 is truncated: its 12-byte header/,
      );
    });
  });
});
