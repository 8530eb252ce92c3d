import { execFileSync, spawnSync } from 'node:child_process';

/** ffmpeg/ffprobe are optional for the tests: checks that need them are skipped where they are missing. */
export const hasFfprobe = spawnSync('ffprobe', ['-version'], { stdio: 'ignore' }).status === 0;
export const hasFfmpeg = spawnSync('ffmpeg', ['-version'], { stdio: 'ignore' }).status === 0;

/** Counts the packets of the first stream of `kind` in a file, as ffprobe sees them. */
export function ffprobePacketCount(file: string, kind: 'v' | 'a'): number {
  const out = execFileSync(
    'ffprobe',
    [
      '-v',
      'error',
      '-select_streams',
      `${kind}:0`,
      '-count_packets',
      '-show_entries',
      'stream=nb_read_packets',
      '-of',
      'csv=p=0',
      file,
    ],
    { encoding: 'utf8' },
  );
  return Number(out.trim());
}

/** Runs ffmpeg quietly; throws with its stderr on failure. */
export function ffmpeg(args: string[]): void {
  execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
}

/** What ffprobe says at `-v warning` while reading every packet of a file: '' for a clean file. */
export function ffprobeWarnings(file: string): string {
  const r = spawnSync(
    'ffprobe',
    ['-v', 'warning', '-count_packets', '-show_entries', 'stream=nb_read_packets', file],
    {
      encoding: 'utf8',
    },
  );
  if (r.status !== 0) return r.stderr || `ffprobe exited ${r.status}`;
  return r.stderr.trim();
}

/** Decodes a file (from `seekS` on, when given) and returns ffmpeg's warnings and errors: '' when clean. */
export function ffmpegDecodeWarnings(file: string, seekS?: number): string {
  const seek = seekS === undefined ? [] : ['-ss', String(seekS)];
  const r = spawnSync('ffmpeg', ['-hide_banner', '-v', 'warning', ...seek, '-i', file, '-f', 'null', '-'], {
    encoding: 'utf8',
  });
  if (r.status !== 0) return r.stderr || `ffmpeg exited ${r.status}`;
  return r.stderr.trim();
}
