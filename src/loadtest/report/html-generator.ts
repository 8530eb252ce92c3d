import type { RunSummary } from '../metrics/summary.js';
import { escapeHtml, fmtNum } from './html-format.js';
import { card, kvTable } from './html-tables.js';

// The HTML report's card of the load generator itself: its CPU, memory and lag, and each shard of a sharded run.

export function generatorSection(s: RunSummary): string {
  const g = s.generator;
  const state = g.saturated
    ? '<p class="banner warn"><strong>Saturated:</strong> results may reflect the generator, not the server.</p>'
    : '<p class="ok">Not saturated.</p>';
  const warnings = g.warnings.length
    ? `<ul class="warnings">${g.warnings.map((w) => `<li>⚠ ${escapeHtml(w)}</li>`).join('')}</ul>`
    : '';
  return card(
    'Load generator',
    state +
      kvTable([
        { key: 'cores / workers', value: `${fmtNum(g.cores)} / ${fmtNum(g.workers)}` },
        {
          key: 'CPU',
          value: `${fmtNum(g.cpuPct.avg)}% avg`,
          note: `max ${fmtNum(g.cpuPct.max)}%, of one core (${fmtNum(g.cores * 100)}% = all cores); main thread and workers only`,
        },
        { key: 'RSS', value: `${fmtNum(g.rssMb.avg)} MB avg`, note: `max ${fmtNum(g.rssMb.max)} MB` },
        ...(g.browserCpuPct && g.browserPssMb
          ? [
              {
                key: 'browsers’ CPU',
                value: `${fmtNum(g.browserCpuPct.avg)}% avg`,
                note: `max ${fmtNum(g.browserCpuPct.max)}%, of one core; every process of the browser participants’ Chromium`,
              },
              {
                key: 'browsers’ memory',
                value: `${fmtNum(g.browserPssMb.avg)} MB avg`,
                note: `max ${fmtNum(g.browserPssMb.max)} MB PSS (shared pages split between its processes)`,
              },
            ]
          : []),
        {
          key: 'loop lag p99',
          value: `${fmtNum(g.loopLagP99Ms)} ms`,
          note: 'event-loop delay, main thread and workers',
        },
      ]) +
      warnings +
      shardsTable(s),
  );
}

/** The per-generator table of a sharded run. */
function shardsTable(s: RunSummary): string {
  if (!s.shards) return '';
  const { count, included } = s.run.shards;
  const missing = Array.from({ length: count }, (_, i) => i).filter((i) => !included.includes(i));
  const rows = s.shards
    .map(
      (r) =>
        `<tr><td>${r.shard}</td><td>${escapeHtml(r.host)}</td><td class="num">${fmtNum(r.bots)}</td><td class="num">${fmtNum(r.joined)}</td><td class="num">${fmtNum(r.cpuAvgPct)}% / ${fmtNum(r.cpuMaxPct)}%</td><td class="num">${fmtNum(r.loopLagP99Ms)}</td><td>${r.saturated ? '<span class="bad">yes</span>' : 'no'}</td><td class="num">${fmtNum(r.startOffsetMs)}</td><td class="num">${r.lateMs > 0 ? `<span class="bad">${fmtNum(r.lateMs)}</span>` : '0'}</td><td class="num">${r.clockOffsetMs === undefined ? 'not measured' : `${fmtNum(r.clockOffsetMs)} ± ${fmtNum(r.clockUncertaintyMs ?? 0)}`}</td></tr>`,
    )
    .join('');
  const partial = missing.length
    ? `<p class="banner warn"><strong>Partial:</strong> shard(s) ${missing.join(', ')} of ${count} not included; links to their bots are judged by one end only.</p>`
    : '';
  return `${partial}<table><thead><tr><th>shard</th><th>host</th><th class="num">bots</th><th class="num">joined</th><th class="num">CPU avg / max</th><th class="num">lag p99 ms</th><th>saturated</th><th class="num">start offset ms</th><th class="num">late ms</th><th class="num">clock vs server ms</th></tr></thead><tbody>${rows}</tbody></table>`;
}
