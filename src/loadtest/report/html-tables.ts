import { COUNTER_METRICS, type CounterName, TREND_METRICS, type TrendName } from '../metrics/catalogue.js';
import type { RunSummary } from '../metrics/summary.js';
import { escapeHtml, fmtNum } from './html-format.js';

// The HTML report's building blocks: a card per section and the tables inside them.

export function card(title: string, content: string, wide = false): string {
  return `<section class="card${wide ? ' wide' : ''}"><h2>${escapeHtml(title)}</h2>${content}</section>`;
}

export function trendTable(summary: RunSummary, names: readonly TrendName[]): string {
  const cols = ['count', 'min', 'avg', 'p50', 'p90', 'p95', 'p99', 'max'] as const;
  const rows = names
    .map((name) => {
      const s = summary.metrics.trends[name];
      const cells =
        s.count === 0
          ? `<td class="num">0</td><td colspan="7" class="muted">no samples</td>`
          : cols
              .map((c) => `<td class="num">${c === 'count' ? fmtNum(s.count) : fmtNum(s[c])}</td>`)
              .join('');
      return `<tr><th title="${escapeHtml(TREND_METRICS[name])}"><code>${name}</code></th>${cells}</tr>`;
    })
    .join('');
  return `<table class="trends"><thead><tr><th>trend</th>${cols.map((c) => `<th class="num">${c}</th>`).join('')}</tr></thead><tbody>${rows}</tbody></table>`;
}

/** Key/value rows; a value marked `bad` is shown in red. */
export function kvTable(
  rows: Array<{ key: string; value: string; note?: string; bad?: boolean; title?: string }>,
): string {
  const body = rows
    .map(
      (r) =>
        `<tr><th${r.title ? ` title="${escapeHtml(r.title)}"` : ''}>${r.key}</th>` +
        `<td class="num${r.bad ? ' bad' : ''}">${r.value}</td><td class="muted">${r.note ?? ''}</td></tr>`,
    )
    .join('');
  return `<table class="kv"><tbody>${body}</tbody></table>`;
}

export function counterRow(summary: RunSummary, name: CounterName, note = '', bad = false) {
  return {
    key: `<code>${name}</code>`,
    value: fmtNum(summary.metrics.counters[name]),
    note,
    bad,
    title: COUNTER_METRICS[name],
  };
}

export function countsTable(
  counts: Record<string, number> | undefined,
  keyLabel: string,
  empty: string,
): string {
  const entries = Object.entries(counts ?? {}).sort((a, b) => b[1] - a[1]);
  if (entries.length === 0) return `<p class="muted">${escapeHtml(empty)}</p>`;
  const rows = entries
    .map(([k, n]) => `<tr><td><code>${escapeHtml(k)}</code></td><td class="num bad">${fmtNum(n)}</td></tr>`)
    .join('');
  return `<table class="kv"><thead><tr><th>${escapeHtml(keyLabel)}</th><th class="num">count</th></tr></thead><tbody>${rows}</tbody></table>`;
}
