import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { assetsDir, loadClip, parseClip } from '../../../src/peer/media/clip.js';
import { MediaFormatError } from '../../../src/peer/media/errors.js';
import { UsageError } from '../../../src/util/errors.js';

const dir = mkdtempSync(path.join(tmpdir(), 'engage-clip-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('loadClip', () => {
  it('loads the built-in clips', async () => {
    const video = await loadClip('builtin', 'video');
    expect(video).toMatchObject({ kind: 'video', codec: 'vp8', clockRate: 90000, width: 640, height: 360 });
    expect(video.name).toBe('builtin:video-640x360.ivf');
    expect(video.frames.length).toBe(300);
    expect(video.frames.every((f) => f.durationTicks === 3000)).toBe(true);
    expect(video.loopTicks).toBe(900_000);
    expect(video.frames.filter((f) => f.keyframe).length).toBe(10);

    const audio = await loadClip('builtin', 'audio');
    expect(audio).toMatchObject({ kind: 'audio', codec: 'opus', clockRate: 48000, channels: 2 });
    expect(audio.frames.every((f) => f.durationTicks === 960 && f.keyframe)).toBe(true);
    expect(audio.loopTicks / 48000).toBeCloseTo(10, 1);
  });

  it('loads the light load-test profile', async () => {
    const video = await loadClip('builtin-light', 'video');
    expect(video).toMatchObject({ width: 320, height: 180, loopTicks: 900_000 });
    expect(video.frames.length).toBe(150);
    expect(video.frames[0]!.durationTicks).toBe(6000);
    const audio = await loadClip('builtin-light', 'audio');
    expect(audio.frames.every((f) => f.durationTicks === 5760)).toBe(true);
  });

  it('reads a file once per process: every caller gets the same clip', async () => {
    const [a, b] = await Promise.all([loadClip('builtin', 'video'), loadClip('builtin', 'video')]);
    expect(a).toBe(b);
    const byPath = await loadClip(
      path.relative(process.cwd(), path.join(assetsDir(), 'video-640x360.ivf')),
      'video',
    );
    expect(byPath).toBe(a);
    expect(await loadClip('builtin', 'audio')).not.toBe(a);
  });

  it('reports a missing file as a usage error', async () => {
    await expect(loadClip(path.join(dir, 'nope.ivf'), 'video')).rejects.toThrow(UsageError);
    await expect(loadClip(path.join(dir, 'nope.ivf'), 'video')).rejects.toThrow(
      /cannot read video file .*nope\.ivf/,
    );
  });

  it('names the file in format errors, and does not cache them', async () => {
    const file = path.join(dir, 'broken.ogg');
    writeFileSync(file, readFileSync(path.join(assetsDir(), 'audio-120ms.ogg')).subarray(0, 100));
    await expect(loadClip(file, 'audio')).rejects.toThrow(MediaFormatError);
    await expect(loadClip(file, 'audio')).rejects.toThrow(/broken\.ogg: Ogg file is truncated/);
    writeFileSync(file, readFileSync(path.join(assetsDir(), 'audio-120ms.ogg')));
    expect((await loadClip(file, 'audio')).frames.length).toBe(84);
  });
});

describe('parseClip', () => {
  const ivf = readFileSync(path.join(assetsDir(), 'video-320x180.ivf'));
  const ogg = readFileSync(path.join(assetsDir(), 'audio-20ms.ogg'));

  it('refuses a file of the other kind or an unknown format', () => {
    expect(() => parseClip(ivf, 'audio', 'x')).toThrow(/IVF file holds video/);
    expect(() => parseClip(ogg, 'video', 'x')).toThrow(/Ogg file holds audio/);
    expect(() => parseClip(Buffer.from('GIF89a....'), 'video', 'x')).toThrow(/expected VP8 in IVF or WebM/);
    expect(() => parseClip(Buffer.alloc(0), 'audio', 'x')).toThrow(/expected Opus in Ogg or WebM/);
  });

  it('refuses IVF that is not VP8', () => {
    const vp9 = Buffer.from(ivf);
    vp9.write('VP90', 8, 'latin1');
    expect(() => parseClip(vp9, 'video', 'x')).toThrow(/IVF codec VP90 is not VP8/);
  });

  it('starts a video at its first keyframe, so that every loop decodes', () => {
    // Drop the first frame (a keyframe) from the IVF: the clip must then start at frame 15.
    const firstFrameEnd = 32 + 12 + ivf.readUInt32LE(32);
    const cut = Buffer.concat([ivf.subarray(0, 32), ivf.subarray(firstFrameEnd)]);
    const clip = parseClip(cut, 'video', 'cut');
    expect(clip.frames.length).toBe(150 - 15);
    expect(clip.frames[0]!.keyframe).toBe(true);
  });

  it('gives the last IVF frame the length of one timebase unit', () => {
    const clip = parseClip(ivf, 'video', 'x');
    expect(clip.frames.at(-1)!.durationTicks).toBe(6000);
  });
});
