import type { RunSummary } from '../metrics/summary.js';
import { browsersSection } from './html-browsers.js';
import { CHARTS, chartsSection, tooltipScript } from './html-charts.js';
import { escapeHtml, fmtDate, fmtDuration, fmtNum, unitOf, withUnit } from './html-format.js';
import { generatorSection } from './html-generator.js';
import {
  chatSection,
  connectivitySection,
  mediaSection,
  netGroupsSection,
  signalingSection,
} from './html-measured.js';
import { serverSection } from './html-server.js';
import { CSS } from './html-style.js';
import { card, counterRow, kvTable, trendTable } from './html-tables.js';
import { worstBotsSection, worstRoomsSection } from './html-worst.js';
import { writeFileAtomic } from './json.js';
import { describeFailure } from './text.js';

export { CHARTS, escapeHtml, fmtNum };

/**
 * The HTML report: one self-contained file (inline CSS, charts as inline SVG from html-charts.ts, a few lines of
 * inline JS for chart tooltips), readable offline; it references nothing outside itself. Every string
 * that comes from the run (names, errors, URL) goes through `escapeHtml`.
 */
export function reportHtml(summary: RunSummary): string {
  const { run, plan } = summary;
  const title = `engage loadtest · ${run.id}`;
  const body = [
    header(summary),
    run.failures.length > 0
      ? banner(
          'bad',
          'Run failed',
          'Part of the load generator broke, so the run was stopped early and exits 1; the figures cover only what ran.',
          run.failures.map(describeFailure),
        )
      : '',
    run.interrupted
      ? banner(
          'bad',
          'Interrupted',
          `The run was stopped after ${fmtDuration(run.durationS)} of the planned ${fmtDuration(plan.durationS)}; the figures cover only what ran.`,
        )
      : '',
    summary.generator.saturated
      ? banner(
          'warn',
          'Load generator saturated',
          'This machine ran out of headroom during the run, so latencies and losses below may be the generator’s, not the server’s. Use fewer bots per machine or more machines.',
          summary.generator.warnings,
        )
      : '',
    thresholdsSection(summary),
    '<div class="grid">',
    signalingSection(summary),
    connectivitySection(summary),
    mediaSection(summary),
    browsersSection(summary, { card, trendTable, kvTable, counterRow }),
    netGroupsSection(summary),
    chatSection(summary),
    generatorSection(summary),
    serverSection(summary),
    worstRoomsSection(summary.worstRooms),
    worstBotsSection(summary.worstBots),
    '</div>',
    chartsSection(summary.timeSeries, run.urls),
    `<footer>engage loadtest report · schema ${escapeHtml(summary.schema)} · ${escapeHtml(run.id)}</footer>`,
  ].join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${CSS}</style>
</head>
<body>
${body}
${tooltipScript(summary.timeSeries, run.urls)}
</body>
</html>
`;
}

/** Writes the HTML report to `path` atomically (parent directories created; never a half-written file). */
export async function writeHtmlReport(summary: RunSummary, path: string): Promise<void> {
  await writeFileAtomic(path, reportHtml(summary));
}

/** The run's target, start, bots, mode and media at a glance. */
function header({ run, plan }: RunSummary): string {
  const sizes = [...new Set(plan.roomSizes)];
  const roomText =
    sizes.length === 1
      ? `${plan.rooms} × ${sizes[0]} bots`
      : `${plan.rooms} (sizes ${plan.roomSizes.join(', ')})`;
  const facts: Array<[string, string]> = [
    [
      'Target',
      run.urls.length > 1
        ? `${run.urls.map((u) => `<code>${escapeHtml(u)}</code>`).join(', ')} <span class="tag">${run.urls.length} instances</span>`
        : `<code>${escapeHtml(run.url)}</code>${run.embeddedServer ? ' <span class="tag">embedded server</span>' : ''}`,
    ],
    ['Started', `${escapeHtml(fmtDate(run.startedAt))} · ran ${escapeHtml(fmtDuration(run.durationS))}`],
    ['Bots', `${fmtNum(plan.bots)} in ${escapeHtml(roomText)} · ramp ${fmtNum(plan.rampPerS)}/s`],
    [
      'Mode',
      `${escapeHtml(plan.mode)} · ${fmtDuration(plan.durationS)} planned + ${fmtDuration(plan.graceS)} grace · ${fmtNum(plan.workers)} workers${plan.recording ? ' · recording' : ''}`,
    ],
    [
      'Media',
      plan.mode === 'media' ? escapeHtml(plan.media) : '<span class="muted">none (signaling only)</span>',
    ],
  ];
  return `<header>
<h1>engage loadtest <span class="runid">${escapeHtml(run.id)}</span></h1>
<dl class="facts">${facts.map(([k, v]) => `<dt>${k}</dt><dd>${v}</dd>`).join('')}</dl>
</header>`;
}

function banner(kind: 'bad' | 'warn', head: string, text: string, items: string[] = []): string {
  const list = items.length ? `<ul>${items.map((w) => `<li>${escapeHtml(w)}</li>`).join('')}</ul>` : '';
  return `<div class="banner ${kind}" role="alert"><strong>${escapeHtml(head)}</strong> ${escapeHtml(text)}${list}</div>`;
}

function thresholdsSection({ thresholds }: RunSummary): string {
  if (thresholds.length === 0) {
    return '<section class="thresholds"><h2>Thresholds</h2><p class="muted">No thresholds were set.</p></section>';
  }
  const failed = thresholds.filter((t) => !t.ok).length;
  const verdict =
    failed === 0
      ? `<span class="ok">All ${thresholds.length} passed</span>`
      : `<span class="bad">${failed} of ${thresholds.length} failed</span>`;
  const rows = thresholds
    .map(
      (t) =>
        `<tr class="${t.ok ? 'pass' : 'fail'}"><td class="mark">${t.ok ? '✓' : '✗'}</td>` +
        `<td><code>${escapeHtml(t.threshold)}</code></td>` +
        `<td class="num">${escapeHtml(withUnit(t.actual, unitOf(t.metric)))}</td></tr>`,
    )
    .join('');
  return `<section class="thresholds"><h2>Thresholds <small>${verdict}</small></h2>
<table><thead><tr><th></th><th>threshold</th><th class="num">actual</th></tr></thead><tbody>${rows}</tbody></table></section>`;
}
