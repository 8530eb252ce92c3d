import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { constants, existsSync } from 'node:fs';
import { access, mkdir, readFile, rename, rm } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { assetsDir, BUILTIN_CLIPS, isBuiltinClipName } from '../../peer/media/clip.js';
import { UsageError } from '../../util/errors.js';

/** What a browser participant's fake camera and microphone play: the bots' own clips, decoded. */
export interface FakeMedia {
  /** Raw video (YUV4MPEG2) for --use-file-for-fake-video-capture: same size and frame rate as the clip. */
  videoFile: string;
  /** PCM WAV for --use-file-for-fake-audio-capture. */
  audioFile: string;
}

/** Where decoded clips are kept between runs: $XDG_CACHE_HOME/engage or ~/.cache/engage. */
export function fakeMediaCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CACHE_HOME || path.join(homedir(), '.cache');
  return path.join(base, 'engage', 'fake-media');
}

/** Whether ffmpeg runs here; browsers need it (once per clip) to decode the clips for Chromium. */
export function hasFfmpeg(): boolean {
  return spawnSync('ffmpeg', ['-version'], { stdio: 'ignore' }).status === 0;
}

function clipFile(source: string, kind: 'video' | 'audio'): string {
  return isBuiltinClipName(source)
    ? path.join(assetsDir(), BUILTIN_CLIPS[source][kind])
    : path.resolve(source);
}

/**
 * Decodes the clips the bots send (`--video`, `--audio`: builtin, builtin-light or a file) into the raw
 * files Chromium's fake devices read, so a browser participant sends the same picture and sound as a bot
 * (its own encoder makes its own bitstream). Chromium cannot read VP8 or Opus for its fake devices. Each
 * file is made once and cached under fakeMediaCacheDir(), named by the hash of the clip's bytes; a run
 * that finds it there starts at once. ffmpeg missing is a usage error that says how to get it.
 */
export async function prepareFakeMedia(
  video: string,
  audio: string,
  cacheDir = fakeMediaCacheDir(),
): Promise<FakeMedia> {
  if (video === 'none' || audio === 'none')
    throw new UsageError(
      '--browsers sends the clip as each browser\'s camera and microphone: use it with --video and --audio clips, not "none"',
    );
  const dir = await writableCacheDir(cacheDir);
  const videoFile = await decoded(clipFile(video, 'video'), 'y4m', dir);
  const audioFile = await decoded(clipFile(audio, 'audio'), 'wav', dir);
  return { videoFile, audioFile };
}

/** `dir`, made if need be; a home that cannot be written (a read-only container) falls back to the temp dir. */
async function writableCacheDir(dir: string): Promise<string> {
  try {
    await mkdir(dir, { recursive: true });
    await access(dir, constants.W_OK);
    return dir;
  } catch {
    const fallback = path.join(tmpdir(), 'engage-fake-media');
    await mkdir(fallback, { recursive: true });
    return fallback;
  }
}

async function decoded(source: string, ext: 'y4m' | 'wav', cacheDir: string): Promise<string> {
  let bytes: Buffer;
  try {
    bytes = await readFile(source);
  } catch (err) {
    throw new UsageError(`cannot read ${source}: ${(err as Error).message}`);
  }
  const hash = createHash('sha256').update(bytes).digest('hex').slice(0, 16);
  const out = path.join(cacheDir, `${path.basename(source).replace(/\.[^.]*$/, '')}-${hash}.${ext}`);
  if (existsSync(out)) return out;
  if (!hasFfmpeg())
    throw new UsageError(
      "--browsers needs ffmpeg once, to decode the clip for Chromium's fake camera: install it (Debian: apt-get install ffmpeg) and put it on PATH",
    );
  // Written under a private name, then renamed: a run that dies half way, or two runs at once, never
  // leave a half-written file under the name the next run trusts.
  const partial = `${out}.${process.pid}.partial`;
  const args =
    ext === 'y4m'
      ? ['-i', source, '-pix_fmt', 'yuv420p', '-f', 'yuv4mpegpipe', partial]
      : ['-i', source, '-ac', '2', '-ar', '48000', '-c:a', 'pcm_s16le', '-f', 'wav', partial];
  try {
    await run('ffmpeg', ['-v', 'error', '-nostdin', '-y', ...args]);
    await rename(partial, out);
  } catch (err) {
    await rm(partial, { force: true });
    throw new Error(`ffmpeg could not decode ${source} for the browsers: ${(err as Error).message}`);
  }
  return out;
}

function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      if (stderr.length < 4000) stderr += d.toString();
    });
    child.on('error', reject);
    child.on('exit', (code, signal) =>
      code === 0 ? resolve() : reject(new Error(`exit ${code ?? signal}: ${stderr.trim()}`)),
    );
  });
}
