import { TREND_GROUPS, type TrendName } from '../metrics/catalogue.js';
import type { BrowserResult, RunSummary } from '../metrics/summary.js';
import { escapeHtml, fmtNum } from './html-format.js';

/** The HTML report's own building blocks (html.ts), so this section looks like the others. */
export interface HtmlParts {
  card(title: string, content: string, wide?: boolean): string;
  trendTable(summary: RunSummary, names: readonly TrendName[]): string;
  kvTable(rows: Array<{ key: string; value: string; note?: string; bad?: boolean; title?: string }>): string;
  counterRow(
    summary: RunSummary,
    name: keyof RunSummary['metrics']['counters'],
    note?: string,
    bad?: boolean,
  ): { key: string; value: string; note: string; bad: boolean; title: string };
}

/**
 * "What humans see": the browser participants' own figures (getStats() of real Chromium pages): their
 * trends and counters, then per browser what it received from each member. Empty without --browsers.
 */
export function browsersSection(s: RunSummary, h: HtmlParts): string {
  if (s.plan.browsers === 0) return '';
  const c = s.metrics.counters;
  const counters = h.kvTable([
    h.counterRow(
      s,
      'browsers_failed',
      `of ${fmtNum(s.plan.browsers)} browser participants`,
      c.browsers_failed > 0,
    ),
    h.counterRow(s, 'browser_frames_decoded'),
    h.counterRow(
      s,
      'browser_frames_dropped',
      'W3C framesDropped: before decoding, or too late to show',
      c.browser_frames_dropped > 0,
    ),
    h.counterRow(s, 'browser_freeze_count', 'W3C freezeCount, all remote tracks', c.browser_freeze_count > 0),
    h.counterRow(s, 'browser_freeze_ms', 'total freeze duration, ms', c.browser_freeze_ms > 0),
    h.counterRow(s, 'browser_concealed_samples', 'audio lost or late, filled in by the decoder'),
    h.counterRow(
      s,
      'browser_quality_limited_ms',
      'its own encoder held back (CPU, bandwidth, other), ms summed over its links',
      c.browser_quality_limited_ms > 0,
    ),
  ]);
  const intro =
    '<p class="muted">Real Chromium pages in the rooms, sending the same clip as their camera: their decoder, jitter buffer and renderer report what a person there would have seen.</p>';
  return h.card(
    'What humans see (browsers)',
    intro + h.trendTable(s, TREND_GROUPS.browser) + counters + s.browsers.map(browserTable).join(''),
    true,
  );
}

function browserTable(b: BrowserResult): string {
  const limited = Object.entries(b.limitedMs).filter(([, ms]) => ms > 0);
  const sending = limited.length
    ? ` · its encoder limited: ${limited.map(([k, ms]) => `${escapeHtml(k)} ${fmtNum(ms)} ms`).join(', ')}`
    : '';
  const state = `<span class="${b.state === 'failed' ? 'bad' : 'muted'}">${escapeHtml(b.state)}</span>`;
  const error = b.error ? ` <span class="bad">${escapeHtml(b.error)}</span>` : '';
  const head = `<h3><code>${escapeHtml(b.browser)}</code> in <code>${escapeHtml(b.room)}</code> · ${state}${sending}${error}</h3>`;
  if (b.remotes.length === 0) return `${head}<p class="muted">No media received.</p>`;
  const cols = [
    'from',
    'size',
    'fps avg',
    'fps min',
    'frames',
    'dropped',
    'freezes',
    'jitter buffer',
    'decode',
  ];
  const rows = b.remotes
    .map((m) => {
      const cells = [
        `<td><code>${escapeHtml(m.remote)}</code></td>`,
        `<td class="num">${m.width ? `${m.width}×${m.height}` : '—'}</td>`,
        `<td class="num${m.stalled ? ' bad' : ''}">${fmtNum(m.fpsAvg)}</td>`,
        `<td class="num">${fmtNum(m.fpsMin)}</td>`,
        `<td class="num">${fmtNum(m.framesDecoded)}</td>`,
        `<td class="num${m.framesDropped > 0 ? ' bad' : ''}">${fmtNum(m.framesDropped)}</td>`,
        `<td class="num${m.freezeCount > 0 ? ' bad' : ''}">${fmtNum(m.freezeCount)}${m.freezeCount ? ` (${fmtNum(m.freezeMs)} ms)` : ''}</td>`,
        `<td class="num">${fmtNum(m.jitterBufferMs)} ms</td>`,
        `<td class="num">${fmtNum(m.decodeMs)} ms</td>`,
      ];
      return `<tr>${cells.join('')}</tr>`;
    })
    .join('');
  return `${head}<table><thead><tr>${cols.map((c) => `<th>${c}</th>`).join('')}</tr></thead><tbody>${rows}</tbody></table>`;
}
