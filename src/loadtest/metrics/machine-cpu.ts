import { readFileSync } from 'node:fs';

/** Cumulative CPU time of the whole machine, in kernel ticks (Linux /proc/stat); undefined elsewhere. */
export interface MachineCpu {
  busy: number;
  total: number;
}

export function readMachineCpu(): MachineCpu | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
    const ticks = line.trim().split(/\s+/).slice(1).map(Number);
    if (ticks.length < 4 || ticks.some((t) => !Number.isFinite(t))) return undefined;
    const total = ticks.reduce((a, b) => a + b, 0);
    // idle and iowait are the only ticks nobody ran in.
    const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0);
    return { busy: total - idle, total };
  } catch {
    return undefined;
  }
}

/** Busy share of all cores between two readings, as % of one core (so 2 cores fully busy = 200). */
export function machineBusyPct(from: MachineCpu, to: MachineCpu, cores: number): number | undefined {
  const total = to.total - from.total;
  if (total <= 0) return undefined;
  return ((to.busy - from.busy) / total) * cores * 100;
}
