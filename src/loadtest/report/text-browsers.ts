import type { RunSummary } from '../metrics/summary.js';
import type { TextStyle } from './text.js';
import { lpad, num, pad } from './text-format.js';

/**
 * The counters of the browser participants and, per browser, what it received from each member: what a
 * person at that page would have seen. Empty without --browsers. (Its trends are printed by the caller,
 * in the trend table's columns.)
 */
export function browserLines(r: RunSummary, style: TextStyle): string[] {
  if (r.plan.browsers === 0) return [];
  const c = r.metrics.counters;
  const out: string[] = [];
  const bad = (ok: boolean, s: string) => (ok ? s : style.bad(s));
  out.push(
    `  ${pad('browsers', 22)}${bad(c.browsers_failed === 0, `${r.plan.browsers - c.browsers_failed}/${r.plan.browsers} ran, ${c.browsers_failed} failed`)}`,
    `  ${pad('frames', 22)}${c.browser_frames_decoded} decoded, ${bad(c.browser_frames_dropped === 0, `${c.browser_frames_dropped} dropped`)}`,
    `  ${pad('freezes', 22)}${bad(c.browser_freeze_count === 0, `${c.browser_freeze_count} (${num(c.browser_freeze_ms)} ms in all)`)}`,
    `  ${pad('concealed audio', 22)}${c.browser_concealed_samples} samples`,
    `  ${pad('own encoder limited', 22)}${num(c.browser_quality_limited_ms)} ms ${style.dim('(CPU, bandwidth or other; summed over its links)')}`,
  );
  out.push(
    style.dim(
      `  ${pad('browser <- member', 30)}${lpad('size', 9)}${lpad('fps avg', 9)}${lpad('min', 6)}${lpad('frames', 8)}${lpad('dropped', 9)}${lpad('freezes', 9)}${lpad('frozen ms', 11)}${lpad('jb ms', 7)}${lpad('dec ms', 8)}`,
    ),
  );
  for (const b of r.browsers) {
    const limited = Object.entries(b.limitedMs).filter(([, ms]) => ms > 0);
    const sending = limited.length
      ? `, its encoder limited: ${limited.map(([k, ms]) => `${k} ${num(ms)} ms`).join(', ')}`
      : '';
    const state = b.state === 'failed' ? style.bad(b.state) : b.state;
    out.push(`  ${b.browser} (${b.room}) ${state}${sending}${b.error ? `  ${style.dim(b.error)}` : ''}`);
    for (const m of b.remotes) {
      const freezes = lpad(String(m.freezeCount), 9) + lpad(num(m.freezeMs), 11);
      out.push(
        `    ${pad(`<- ${m.remote}`, 28)}${lpad(m.width ? `${m.width}x${m.height}` : '-', 9)}${lpad(num(m.fpsAvg), 9)}${lpad(num(m.fpsMin), 6)} ${lpad(String(m.framesDecoded), 7)} ${lpad(String(m.framesDropped), 8)}${m.freezeCount > 0 ? style.bad(freezes) : freezes}${lpad(num(m.jitterBufferMs), 7)}${lpad(num(m.decodeMs), 8)}`,
      );
    }
  }
  return out;
}
