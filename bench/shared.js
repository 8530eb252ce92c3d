// Pieces the benchmarks share: the plain-text table they print, what a bot's links have received, and how
// busy the whole machine was.
import { readFileSync } from 'node:fs';

/** /proc/stat counts in USER_HZ, 100 per second on Linux whatever the kernel's own tick rate. */
const USER_HZ = 100;

/**
 * Busy CPU time of the whole machine in seconds, all cores (Linux /proc/stat; undefined elsewhere): with a
 * process's own CPU it tells how much other processes took during a window (a noisy neighbour).
 */
export function machineBusySeconds() {
  try {
    const fields = readFileSync('/proc/stat', 'utf8')
      .split('\n', 1)[0]
      .trim()
      .split(/\s+/)
      .slice(1)
      .map(Number);
    // user nice system idle iowait irq softirq steal ...; guest time is already inside user and nice.
    const [user, nice, system, , , irq, softirq, steal] = fields;
    return (user + nice + system + irq + softirq + (steal ?? 0)) / USER_HZ;
  } catch {
    return undefined;
  }
}

/**
 * One numeric flag of a bench: its default when not given (undefined for a flag without one), else the
 * number given, which must be within the flag's bounds.
 */
export function numberFlag(name, flag, raw) {
  const v = raw === undefined ? flag.default : Number(raw);
  if (v === undefined) return undefined;
  if (!Number.isFinite(v) || v < flag.min || v > flag.max) {
    throw new Error(`--${name} must be a number in ${flag.min}..${flag.max}, got ${raw}`);
  }
  return v;
}

/** A plain-text table: column widths from the widest cell, columns in `left` aligned left. */
export function table(headers, rows, left = [0]) {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) =>
    cells
      .map((c, i) => (left.includes(i) ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i])))
      .join('  ');
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** Per directed link, what has arrived so far (for deltas over a measuring window). */
export function snapshotFlows(bots) {
  const flows = new Map();
  for (const b of bots) {
    for (const link of b.links.values()) {
      flows.set(`${b.name}<-${link.remoteName}`, {
        frames: link.inbound.video.frames,
        videoBytes: link.inbound.video.bytes,
        audioPackets: link.inbound.audio.packets,
      });
    }
  }
  return flows;
}

/** min, avg and max of a list (zeros when empty). */
export const summarize = (values) => {
  if (values.length === 0) return { min: 0, avg: 0, max: 0 };
  return {
    min: Math.min(...values),
    avg: values.reduce((a, b) => a + b, 0) / values.length,
    max: Math.max(...values),
  };
};
