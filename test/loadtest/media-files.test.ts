import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runLoadtest } from '../../src/loadtest/runner.js';
import { loadClip, MAX_RTP_PAYLOAD_BYTES, parseClip } from '../../src/peer/media/clip.js';
import { MediaFormatError } from '../../src/peer/media/errors.js';
import { ClipSource } from '../../src/peer/media/source.js';
import { oggOpusFile, opus120msPacket } from './opus-file.js';

let dir: string;
let tooBig: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'engage-media-'));
  tooBig = join(dir, 'loud.ogg');
  // Three 120 ms packets: 482, 1802 and 482 bytes. The second cannot go in one RTP packet.
  await writeFile(tooBig, oggOpusFile([opus120msPacket(80), opus120msPacket(300), opus120msPacket(80)]));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('media files are checked when they are loaded', () => {
  it('refuses an Opus packet larger than one RTP packet, naming the file, the packet and its size', async () => {
    const error = await loadClip(tooBig, 'audio').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MediaFormatError);
    expect((error as MediaFormatError).exitCode).toBe(2);
    expect((error as Error).message).toBe(
      `${tooBig}: Opus packet 1 (at 0.12 s) is 1802 bytes, more than the ${MAX_RTP_PAYLOAD_BYTES} bytes of one RTP packet, and an Opus packet cannot be split (RFC 7587): re-encode it at a lower bitrate or with shorter packets`,
    );
  });

  it('accepts packets up to the limit, and the source checks a smaller limit of its own at once', () => {
    // 2 + 6 × 199 = 1196 bytes: fits.
    const clip = parseClip(oggOpusFile([opus120msPacket(199)]), 'audio', 'fits.ogg');
    expect(clip.frames[0]!.data.length).toBe(1196);
    expect(() => new ClipSource(clip, { maxPayloadSize: 1000 })).toThrow(MediaFormatError);
    expect(() => new ClipSource(clip, { maxPayloadSize: 1000 })).toThrow(
      /^fits\.ogg: Opus packet 0 .* 1196 bytes/,
    );
    new ClipSource(clip).close();
  });

  it('the built-in clips pass', async () => {
    for (const name of ['builtin', 'builtin-light']) {
      await expect(loadClip(name, 'audio')).resolves.toMatchObject({ kind: 'audio' });
      await expect(loadClip(name, 'video')).resolves.toMatchObject({ kind: 'video' });
    }
  });

  it('makes runLoadtest refuse the run with a usage error before anything starts', async () => {
    const t0 = performance.now();
    let progressed = false;
    const error = await runLoadtest(
      {
        bots: 2,
        rooms: 1,
        durationMs: 60_000,
        rampPerS: 5,
        graceMs: 1000,
        signalingOnly: false,
        video: 'builtin-light',
        audio: tooBig,
        thresholds: [],
      },
      {
        signal: new AbortController().signal,
        progress: () => {
          progressed = true;
        },
      },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MediaFormatError);
    expect((error as Error).message).toContain('loud.ogg: Opus packet 1');
    expect(progressed).toBe(false);
    // No server, worker or clock was started: the refusal takes no longer than reading the file.
    expect(performance.now() - t0).toBeLessThan(5000);
  });
});
