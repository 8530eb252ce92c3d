import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

export interface Probe {
  codec: string;
  width?: number;
  height?: number;
  /** Frames (video) or packets (audio) ffprobe decoded/read. */
  frames: number;
  durationS: number;
}

/** What ffprobe makes of a recording; these tests require ffprobe (.ci/run installs ffmpeg). */
export function probe(file: string): Probe {
  const out = execFileSync(
    'ffprobe',
    [
      '-v',
      'error',
      '-count_packets',
      '-show_entries',
      'stream=codec_name,width,height,nb_read_packets:format=duration',
      '-of',
      'json',
      file,
    ],
    { encoding: 'utf8' },
  );
  const j = JSON.parse(out) as {
    streams: Array<{ codec_name: string; width?: number; height?: number; nb_read_packets: string }>;
    format: { duration: string };
  };
  const s = j.streams[0]!;
  return {
    codec: s.codec_name,
    width: s.width,
    height: s.height,
    frames: Number(s.nb_read_packets),
    durationS: Number(j.format.duration),
  };
}

export function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)],
  );
}
