import { NetProfileError } from './profile.js';
import { NetSchedule } from './schedule.js';

/** A profile (or schedule) for a share of a load test's bots: `--net '25%:loss=10%'`. */
export interface NetShare {
  /** Share of the bots, 0 < pct ≤ 100. */
  sharePct: number;
  schedule: NetSchedule;
  /** As written after the share, for reports: `loss=10%`. */
  text: string;
}

const SHARE = /^(\d+(?:\.\d+)?)%:(.*)$/s;

/**
 * Parses one `--net` value of a load test: `25%:PROFILE` for a share of the bots, or a bare `PROFILE` for
 * all of them. PROFILE may be a schedule (`25%:loss=10%;20s:none`), as on `engage join`.
 */
export function parseNetShare(text: string): NetShare {
  const m = SHARE.exec(text.trim());
  const sharePct = m ? Number(m[1]) : 100;
  const rest = m ? m[2]! : text.trim();
  if (!(sharePct > 0 && sharePct <= 100)) {
    throw new NetProfileError(`a --net share is more than 0% and at most 100%, got "${text}"`);
  }
  return { sharePct, schedule: NetSchedule.parse(rest, { untimedFirst: true }), text: rest };
}

/**
 * Which share each of `botCount` bots gets (its index into `shares`, or -1 for none): round(pct × n)
 * bots per share (largest remainder, so the counts add up), spread evenly over the indexes (a load test
 * numbers its bots room by room, so every room gets its part). The same inputs always give the same
 * assignment. Shares adding up to more than 100% are refused.
 */
export function assignNetShares(botCount: number, shares: readonly NetShare[]): number[] {
  const total = shares.reduce((n, s) => n + s.sharePct, 0);
  if (total > 100 + 1e-9) {
    throw new NetProfileError(`--net shares add up to ${total}%, more than 100%`);
  }
  const exact = shares.map((s) => (s.sharePct / 100) * botCount);
  const counts = exact.map(Math.floor);
  const target = Math.min(botCount, Math.round((total / 100) * botCount));
  const byRemainder = exact
    .map((x, i) => ({ i, r: x - Math.floor(x) }))
    .sort((a, b) => b.r - a.r || a.i - b.i);
  for (const { i } of byRemainder) {
    if (counts.reduce((a, b) => a + b, 0) >= target) break;
    counts[i]!++;
  }
  // Evenly spaced: bot k goes to the share furthest behind its even pace, the unshaped rest included.
  const groups = [...counts, botCount - counts.reduce((a, b) => a + b, 0)];
  const given = groups.map(() => 0);
  const out: number[] = [];
  for (let k = 0; k < botCount; k++) {
    let best = -1;
    let bestDeficit = Number.NEGATIVE_INFINITY;
    for (let g = 0; g < groups.length; g++) {
      if (given[g]! >= groups[g]!) continue;
      const deficit = ((k + 1) * groups[g]!) / botCount - given[g]!;
      if (deficit > bestDeficit + 1e-12) {
        best = g;
        bestDeficit = deficit;
      }
    }
    given[best]!++;
    out.push(best === groups.length - 1 ? -1 : best);
  }
  return out;
}
