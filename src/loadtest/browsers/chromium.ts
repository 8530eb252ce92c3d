import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { UsageError } from '../../util/errors.js';

/** ENGAGE_CHROMIUM names another Chromium (or Chrome) binary; Debian's is the default. */
export const CHROMIUM_ENV = 'ENGAGE_CHROMIUM';
const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

/**
 * The Chromium binary browser participants run: $ENGAGE_CHROMIUM, else the first of Debian's and
 * Ubuntu's usual paths that exists. engage never downloads a browser; none found is a usage error that
 * says how to get one.
 */
export function findChromium(env: NodeJS.ProcessEnv = process.env, candidates = CANDIDATES): string {
  const howTo = `install it (Debian: apt-get install chromium; engage never downloads one) or set ${CHROMIUM_ENV}=/path/to/chromium`;
  const asked = env[CHROMIUM_ENV];
  if (asked) {
    if (!existsSync(asked))
      throw new UsageError(
        `--browsers needs Chromium, and ${CHROMIUM_ENV}=${asked} is no such file: ${howTo}`,
      );
    return asked;
  }
  const found = candidates.find((p) => existsSync(p));
  if (found) return found;
  throw new UsageError(
    `--browsers needs Chromium and none was found (looked for ${candidates.join(', ') || 'nothing'}): ${howTo}`,
  );
}

/**
 * Chromium's flags for a browser participant: fake camera and microphone playing the clip's decoded files
 * (no permission prompt), loopback ICE candidates allowed and not hidden behind mDNS, no GPU, and none of
 * the browser's own network traffic (updates, sync, QUIC). Pages are not throttled in the background:
 * every page of a headless browser is one.
 */
export function chromiumArgs(media: { videoFile: string; audioFile: string }): string[] {
  return [
    '--use-fake-ui-for-media-stream',
    '--use-fake-device-for-media-stream',
    `--use-file-for-fake-video-capture=${media.videoFile}`,
    `--use-file-for-fake-audio-capture=${media.audioFile}`,
    '--allow-loopback-in-peer-connection',
    '--disable-features=WebRtcHideLocalIpsWithMdns',
    '--autoplay-policy=no-user-gesture-required',
    '--disable-background-timer-throttling',
    '--disable-renderer-backgrounding',
    '--disable-backgrounding-occluded-windows',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ];
}

/** Linux USER_HZ: /proc/<pid>/stat counts CPU time in these ticks. */
const TICKS_PER_S = 100;

interface ProcStat {
  ppid: number;
  cpuTicks: number;
}

function procStat(pid: string): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) may hold spaces and parentheses: the fields after it follow the last ')'.
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { ppid: Number(f[1]), cpuTicks: Number(f[11]) + Number(f[12]) };
}

function pssMb(pid: number): number {
  try {
    const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

/** What the browser participants' Chromium costs this machine, as generator health reports it. */
export interface BrowserUsage {
  /** CPU of every Chromium process, % of one core, since the reading before; undefined for the first. */
  cpuPct: number | undefined;
  /** Proportional set size of every Chromium process (shared pages split between them), MB. */
  pssMb: number;
  processes: number;
}

/**
 * Reads the CPU and memory of the Chromium process tree that Playwright started under this process (the
 * browser process is the child of ours run with --remote-debugging-pipe, its renderers and utilities
 * below it), from /proc. A process that ended between readings counts up to its last one. Off Linux
 * it reads nothing (undefined).
 */
export class ChromiumTreeMeter {
  private last: { ticks: Map<number, number>; atMs: number } | undefined;

  read(): BrowserUsage | undefined {
    let names: string[];
    try {
      names = readdirSync('/proc');
    } catch {
      return undefined;
    }
    const stats = new Map<number, ProcStat>();
    const children = new Map<number, number[]>();
    for (const name of names) {
      if (!/^\d+$/.test(name)) continue;
      const s = procStat(name);
      if (!s) continue;
      const pid = Number(name);
      stats.set(pid, s);
      children.set(s.ppid, [...(children.get(s.ppid) ?? []), pid]);
    }
    const roots = (children.get(process.pid) ?? []).filter((pid) => isPlaywrightChromium(pid));
    const tree = new Map<number, number>();
    const queue = [...roots];
    while (queue.length > 0) {
      const pid = queue.shift()!;
      tree.set(pid, stats.get(pid)!.cpuTicks);
      queue.push(...(children.get(pid) ?? []));
    }
    const atMs = performance.now();
    let cpuPct: number | undefined;
    const last = this.last;
    // As for the generator: CPU time is accounted in scheduler ticks, so a short interval reads far off.
    if (!last || atMs - last.atMs >= 500) {
      if (last) {
        let ticks = 0;
        for (const [pid, t] of tree) ticks += t - (last.ticks.get(pid) ?? 0);
        // A process gone since the last reading took its ticks with it: nothing to add, nothing negative.
        cpuPct = Math.max(0, ((ticks / TICKS_PER_S) * 1000 * 100) / (atMs - last.atMs));
      }
      this.last = { ticks: tree, atMs };
    }
    let pss = 0;
    for (const pid of tree.keys()) pss += pssMb(pid);
    return { cpuPct, pssMb: pss, processes: tree.size };
  }
}

function isPlaywrightChromium(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('--remote-debugging-pipe');
  } catch {
    return false;
  }
}
