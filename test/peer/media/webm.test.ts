import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { assetsDir, parseClip } from '../../../src/peer/media/clip.js';
import { MediaFormatError } from '../../../src/peer/media/errors.js';
import { parseWebm } from '../../../src/peer/media/webm.js';
import { ffmpeg, ffprobePacketCount, hasFfmpeg, hasFfprobe } from './ffmpeg.js';

const dir = mkdtempSync(path.join(tmpdir(), 'engage-webm-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(!hasFfmpeg)('parseWebm on a file muxed by ffmpeg', () => {
  const file = path.join(dir, 'light.webm');
  const assets = assetsDir();
  if (hasFfmpeg) {
    ffmpeg([
      '-i',
      path.join(assets, 'video-320x180.ivf'),
      '-i',
      path.join(assets, 'audio-120ms.ogg'),
      '-c',
      'copy',
      '-f',
      'webm',
      file,
    ]);
  }

  it('finds both tracks and all their frames', () => {
    const webm = parseWebm(readFileSync(file));
    expect(webm.docType).toBe('webm');
    const video = webm.tracks.find((t) => t.kind === 'video');
    const audio = webm.tracks.find((t) => t.kind === 'audio');
    expect(video).toMatchObject({ codecId: 'V_VP8', width: 320, height: 180 });
    expect(audio).toMatchObject({ codecId: 'A_OPUS', channels: 2, samplingFrequency: 48000 });
    expect(webm.frames.filter((f) => f.track === video!.number).length).toBe(150);
    expect(webm.frames.filter((f) => f.track === audio!.number).length).toBe(84);
  });

  it.skipIf(!hasFfprobe)('counts as many frames as ffprobe', () => {
    const webm = parseWebm(readFileSync(file));
    const video = webm.tracks.find((t) => t.kind === 'video')!;
    expect(webm.frames.filter((f) => f.track === video.number).length).toBe(ffprobePacketCount(file, 'v'));
  });

  it('gives the same clips as the IVF and Ogg files it was made from', () => {
    const bytes = readFileSync(file);
    const video = parseClip(bytes, 'video', 'light.webm');
    const ivf = parseClip(readFileSync(path.join(assets, 'video-320x180.ivf')), 'video', 'ivf');
    expect(video.frames.length).toBe(ivf.frames.length);
    expect(video.frames.every((f, i) => f.data.equals(ivf.frames[i]!.data))).toBe(true);
    expect(video.frames.map((f) => f.keyframe)).toEqual(ivf.frames.map((f) => f.keyframe));
    // WebM keeps milliseconds: each frame is 66 or 67 ms, the loop still 10 s.
    expect(video.loopTicks).toBeCloseTo(900_000, -2);
    const audio = parseClip(bytes, 'audio', 'light.webm');
    expect(audio.frames.length).toBe(84);
    expect(audio.frames.every((f) => f.durationTicks === 5760)).toBe(true);
  });
});

// A hand-built Matroska file: unknown-size Segment and Clusters (as live writers such as werift's
// MediaRecorder make them), the three lacing kinds, a BlockGroup, and a skipped Cues element.
describe('parseWebm on a hand-built file', () => {
  const opus = (size: number, fill: number) =>
    Buffer.concat([Buffer.from([(31 << 3) | 0]), Buffer.alloc(size - 1, fill)]);
  const frames = [
    opus(10, 1),
    opus(300, 2),
    opus(20, 3),
    opus(40, 4),
    opus(8, 5),
    opus(30, 6),
    opus(30, 7),
    opus(50, 8),
  ];

  const xiph = block(
    1,
    0,
    0x80 | (1 << 1),
    Buffer.from([2, 10, 255, 45]),
    frames[0]!,
    frames[1]!,
    frames[2]!,
  );
  const ebmlSizes = Buffer.from([2, 0x80 | 40, 0x40 | ((8191 + 8 - 40) >> 8), (8191 + 8 - 40) & 0xff]);
  const ebml = block(1, 60, 0x80 | (3 << 1), ebmlSizes, frames[3]!, frames[4]!, frames[5]!);
  const fixed = block(1, 120, 0x80 | (2 << 1), Buffer.from([1]), frames[6]!, opus(30, 9));
  const group = el(0xa0, el(0xa1, block(1, 0, 0, Buffer.alloc(0), frames[7]!)), el(0x9b, uint(20)));
  const file = Buffer.concat([
    el(0x1a45dfa3, el(0x4282, Buffer.from('webm'))),
    unknownSize(0x18538067),
    el(0x1549a966, el(0x2ad7b1, uint(1_000_000))),
    el(
      0x1654ae6b,
      el(
        0xae,
        el(0xd7, uint(1)),
        el(0x83, uint(2)),
        el(0x86, Buffer.from('A_OPUS')),
        el(0xe1, el(0x9f, uint(2))),
      ),
    ),
    unknownSize(0x1f43b675),
    el(0xe7, uint(0)),
    el(0xa3, xiph),
    el(0xa3, ebml),
    unknownSize(0x1f43b675),
    el(0xe7, uint(1000)),
    el(0xa3, fixed),
    group,
    el(0x1c53bb6b, el(0xbb, el(0xb3, uint(0)), el(0xb0, uint(99)))),
  ]);

  it('reads every frame with its time', () => {
    const webm = parseWebm(file);
    expect(webm.tracks).toEqual([{ number: 1, kind: 'audio', codecId: 'A_OPUS', channels: 2 }]);
    expect(webm.frames.map((f) => f.data)).toEqual([...frames.slice(0, 7), opus(30, 9), frames[7]]);
    expect(webm.frames.map((f) => f.timeNs / 1e6)).toEqual([0, 0, 0, 60, 60, 60, 1120, 1120, 1000]);
    expect(webm.frames.at(-1)).toMatchObject({ durationNs: 20_000_000 });
    expect(webm.frames.at(-1)!.keyframe).toBeUndefined();
    expect(webm.frames[0]!.keyframe).toBe(true);
  });

  it('makes an audio clip of it', () => {
    const clip = parseClip(file, 'audio', 'hand-built');
    expect(clip.frames.length).toBe(9);
    expect(clip.loopTicks).toBe(9 * 960);
  });

  it('rejects the wrong kind and damaged files clearly', () => {
    expect(() => parseClip(file, 'video', 'hand-built')).toThrow(/has no video track/);
    expect(() => parseWebm(Buffer.from('not webm at all'))).toThrow(MediaFormatError);
    expect(() => parseWebm(file.subarray(0, file.length - 3))).toThrow(/WebM file is truncated/);
    const badDocType = Buffer.from(file);
    badDocType.write('mp4x', badDocType.indexOf('webm'), 'latin1');
    expect(() => parseWebm(badDocType)).toThrow(/DocType is "mp4x"/);
  });
});

function idBytes(id: number): Buffer {
  const bytes: number[] = [];
  for (let v = id; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from(bytes);
}

function sizeVint(size: number): Buffer {
  for (let length = 1; length <= 8; length++) {
    if (size < 2 ** (7 * length) - 1) {
      const out = Buffer.alloc(length);
      let v = size;
      for (let i = length - 1; i >= 0; i--) {
        out[i] = v & 0xff;
        v = Math.floor(v / 256);
      }
      out[0] = out[0]! | (0x80 >> (length - 1));
      return out;
    }
  }
  throw new Error('too big');
}

function el(id: number, ...children: Buffer[]): Buffer {
  const data = Buffer.concat(children);
  return Buffer.concat([idBytes(id), sizeVint(data.length), data]);
}

function unknownSize(id: number): Buffer {
  return Buffer.concat([idBytes(id), Buffer.from([0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])]);
}

function uint(value: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(value);
  return out;
}

function block(
  track: number,
  time: number,
  flags: number,
  lacingHeader: Buffer,
  ...frames: Buffer[]
): Buffer {
  const head = Buffer.alloc(4);
  head[0] = 0x80 | track;
  head.writeInt16BE(time, 1);
  head[3] = flags;
  return Buffer.concat([head, lacingHeader, ...frames]);
}
