import {
  COUNTER_METRICS,
  type CounterName,
  TREND_GROUPS,
  TREND_METRICS,
  type TrendName,
} from '../metrics.js';
import type { BotResult, RoomResult, RunSummary, TimePoint } from '../summary.js';
import { writeFileAtomic } from './json.js';

/**
 * The HTML report: one self-contained file (inline CSS, charts as inline SVG drawn here, a few lines of
 * inline JS for chart tooltips), readable offline; it references nothing outside itself. Every string
 * that comes from the run (names, errors, URL) goes through `escapeHtml`.
 */
export function reportHtml(summary: RunSummary): string {
  const { run, plan } = summary;
  const title = `engage loadtest · ${run.id}`;
  const body = [
    header(summary),
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
    chatSection(summary),
    generatorSection(summary),
    serverSection(summary),
    worstRoomsSection(summary.worstRooms),
    worstBotsSection(summary.worstBots),
    '</div>',
    chartsSection(summary.timeSeries),
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
${tooltipScript(summary.timeSeries)}
</body>
</html>
`;
}

/** Writes the HTML report to `path` atomically (parent directories created; never a half-written file). */
export async function writeHtmlReport(summary: RunSummary, path: string): Promise<void> {
  await writeFileAtomic(path, reportHtml(summary));
}

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return String(text).replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}

const ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

// ---------------------------------------------------------------------------------------------------
// Formatting

/** A number with as many decimals as its size deserves: 1234 → "1,234", 12.34 → "12.3", 0.456 → "0.46". */
export function fmtNum(v: number): string {
  if (!Number.isFinite(v)) return '—';
  const abs = Math.abs(v);
  const digits = abs >= 100 || Number.isInteger(v) ? 0 : abs >= 10 ? 1 : 2;
  const [int, frac] = Math.abs(Number(v.toFixed(digits)))
    .toString()
    .split('.');
  const grouped = int!.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${v < 0 && Number(v.toFixed(digits)) !== 0 ? '−' : ''}${grouped}${frac ? `.${frac}` : ''}`;
}

/** Compact axis labels: 1500 → "1.5k", 2000000 → "2M". */
function fmtTick(v: number): string {
  const abs = Math.abs(v);
  if (abs >= 1e6) return `${Number((v / 1e6).toPrecision(3))}M`;
  if (abs >= 1e4) return `${Number((v / 1e3).toPrecision(3))}k`;
  return fmtNum(v);
}

function fmtDuration(s: number): string {
  if (!Number.isFinite(s)) return '—';
  if (s < 60) return `${fmtNum(s)} s`;
  const total = Math.round(s);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const sec = total % 60;
  if (h > 0) return `${h} h ${String(m).padStart(2, '0')} min`;
  return `${m} min ${String(sec).padStart(2, '0')} s`;
}

/** `t` seconds as an axis label: "45s" on short runs, "2:05" on longer ones. */
function fmtClock(t: number, long: boolean): string {
  if (!long) return `${fmtNum(t)}s`;
  const total = Math.round(t);
  return `${Math.floor(total / 60)}:${String(total % 60).padStart(2, '0')}`;
}

function fmtDate(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${d.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

function pct(part: number, whole: number): string {
  return whole > 0 ? `${fmtNum((part / whole) * 100)}%` : '—';
}

/** The unit a metric name ends with (house rule 7), for display next to a value. */
function unitOf(metric: string): string {
  if (metric.endsWith('_ms')) return 'ms';
  if (metric.endsWith('_kbps')) return 'kbps';
  if (metric.endsWith('_pct')) return '%';
  if (metric.endsWith('_mb')) return 'MB';
  if (metric.endsWith('_fps')) return 'fps';
  return '';
}

function withUnit(v: number, unit: string): string {
  if (!unit) return fmtNum(v);
  return unit === '%' ? `${fmtNum(v)}%` : `${fmtNum(v)} ${unit}`;
}

// ---------------------------------------------------------------------------------------------------
// Sections

function header({ run, plan }: RunSummary): string {
  const sizes = [...new Set(plan.roomSizes)];
  const roomText =
    sizes.length === 1
      ? `${plan.rooms} × ${sizes[0]} bots`
      : `${plan.rooms} (sizes ${plan.roomSizes.join(', ')})`;
  const facts: Array<[string, string]> = [
    [
      'Target',
      `<code>${escapeHtml(run.url)}</code>${run.embeddedServer ? ' <span class="tag">embedded server</span>' : ''}`,
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

function card(title: string, content: string, wide = false): string {
  return `<section class="card${wide ? ' wide' : ''}"><h2>${escapeHtml(title)}</h2>${content}</section>`;
}

function trendTable(summary: RunSummary, names: readonly TrendName[]): string {
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
function kvTable(
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

function counterRow(summary: RunSummary, name: CounterName, note = '', bad = false) {
  return {
    key: `<code>${name}</code>`,
    value: fmtNum(summary.metrics.counters[name]),
    note,
    bad,
    title: COUNTER_METRICS[name],
  };
}

function countsTable(counts: Record<string, number> | undefined, keyLabel: string, empty: string): string {
  const entries = Object.entries(counts ?? {}).sort((a, b) => b[1] - a[1]);
  if (entries.length === 0) return `<p class="muted">${escapeHtml(empty)}</p>`;
  const rows = entries
    .map(([k, n]) => `<tr><td><code>${escapeHtml(k)}</code></td><td class="num bad">${fmtNum(n)}</td></tr>`)
    .join('');
  return `<table class="kv"><thead><tr><th>${escapeHtml(keyLabel)}</th><th class="num">count</th></tr></thead><tbody>${rows}</tbody></table>`;
}

function signalingSection(s: RunSummary): string {
  const errors = s.metrics.counters.signal_errors;
  return card(
    'Signaling',
    trendTable(s, TREND_GROUPS.signaling) +
      kvTable([counterRow(s, 'signal_errors', 'error messages from the server', errors > 0)]) +
      countsTable(s.signalErrors, 'error code', 'No signaling errors.'),
  );
}

function connectivitySection(s: RunSummary): string {
  const c = s.metrics.counters;
  return card(
    'Connectivity',
    trendTable(s, TREND_GROUPS.connectivity) +
      kvTable([
        counterRow(s, 'links_expected', 'n(n−1)/2 per room'),
        counterRow(s, 'links_connected', `${pct(c.links_connected, c.links_expected)} of expected`),
        counterRow(s, 'links_failed', pct(c.links_failed, c.links_expected), c.links_failed > 0),
        counterRow(s, 'bots_started'),
        counterRow(s, 'bots_joined', `${pct(c.bots_joined, c.bots_started)} of started`),
        counterRow(s, 'bots_failed', pct(c.bots_failed, c.bots_started), c.bots_failed > 0),
      ]),
  );
}

function mediaSection(s: RunSummary): string {
  const note =
    s.plan.mode === 'signaling-only' ? '<p class="muted">Signaling-only run: no media was sent.</p>' : '';
  return card('Media', note + trendTable(s, TREND_GROUPS.media), true);
}

function chatSection(s: RunSummary): string {
  const c = s.metrics.counters;
  const lost = Math.max(0, c.chat_sent - c.chat_received);
  return card(
    'Chat',
    trendTable(s, TREND_GROUPS.chat) +
      kvTable([
        counterRow(s, 'chat_sent'),
        counterRow(s, 'chat_received', `${pct(c.chat_received, c.chat_sent)} of sent`),
        { key: 'unanswered', value: fmtNum(lost), note: pct(lost, c.chat_sent), bad: lost > 0 },
      ]),
  );
}

function generatorSection(s: RunSummary): string {
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
          note: `max ${fmtNum(g.cpuPct.max)}%, of one core (${fmtNum(g.cores * 100)}% = all cores)`,
        },
        { key: 'RSS', value: `${fmtNum(g.rssMb.avg)} MB avg`, note: `max ${fmtNum(g.rssMb.max)} MB` },
        {
          key: 'loop lag p99',
          value: `${fmtNum(g.loopLagP99Ms)} ms`,
          note: 'event-loop delay, main thread and workers',
        },
      ]) +
      warnings,
  );
}

function serverSection(s: RunSummary): string {
  const v = s.server;
  const opt = (n: number | undefined, unit = '') => (n === undefined ? '—' : withUnit(n, unit));
  const note = v.note ? `<p class="muted">${escapeHtml(v.note)}</p>` : '';
  if (v.source === 'unavailable') {
    return card('Server', `<p class="muted">The server’s metrics were unavailable.</p>${note}`);
  }
  return card(
    'Server',
    kvTable([
      {
        key: 'source',
        value: escapeHtml(v.source),
        note: v.source === 'embedded' ? 'in-process server' : '/metrics',
      },
      { key: 'messages in', value: opt(v.messagesIn) },
      { key: 'messages out', value: opt(v.messagesOut) },
      { key: 'peak sockets', value: opt(v.peakSockets) },
      { key: 'relay latency p50', value: opt(v.relayLatencyP50Ms, 'ms'), note: 'bucket upper bound' },
      { key: 'relay latency p99', value: opt(v.relayLatencyP99Ms, 'ms'), note: 'bucket upper bound' },
    ]) +
      (v.errors ? countsTable(v.errors, 'server error', 'No server errors.') : '') +
      note,
  );
}

function worstRoomsSection(rooms: RoomResult[]): string {
  if (rooms.length === 0) return card('Worst rooms', '<p class="muted">No rooms to rank.</p>');
  const rows = rooms
    .map(
      (r) =>
        `<tr><td><code>${escapeHtml(r.room)}</code></td><td class="num">${fmtNum(r.bots)}</td>` +
        `<td class="num">${fmtNum(r.linksConnected)} / ${fmtNum(r.linksExpected)}</td>` +
        `<td class="num${r.linksFailed > 0 ? ' bad' : ''}">${fmtNum(r.linksFailed)}</td>` +
        `<td class="num">${fmtNum(r.lossPct)}%</td><td class="num">${fmtNum(r.minVideoFps)}</td></tr>`,
    )
    .join('');
  return card(
    'Worst rooms',
    `<table><thead><tr><th>room</th><th class="num">bots</th><th class="num">links connected</th><th class="num">links failed</th><th class="num">loss</th><th class="num">min video fps</th></tr></thead><tbody>${rows}</tbody></table>`,
  );
}

function worstBotsSection(bots: BotResult[]): string {
  if (bots.length === 0) return card('Worst bots', '<p class="muted">No bots to rank.</p>', true);
  const rows = bots
    .map(
      (b) =>
        `<tr><td><code>${escapeHtml(b.bot)}</code></td><td><code>${escapeHtml(b.room)}</code></td>` +
        `<td class="${b.state === 'failed' || b.state === 'never-started' ? 'bad' : ''}">${escapeHtml(b.state)}</td>` +
        `<td class="num">${b.meshReadyMs === undefined ? '—' : fmtNum(b.meshReadyMs)}</td>` +
        `<td class="num">${fmtNum(b.linksConnected)} / ${fmtNum(b.linksExpected)}</td>` +
        `<td class="num">${fmtNum(b.lossPct)}%</td>` +
        `<td class="err">${b.error ? escapeHtml(b.error) : ''}</td></tr>`,
    )
    .join('');
  return card(
    'Worst bots',
    `<table><thead><tr><th>bot</th><th>room</th><th>state</th><th class="num">mesh ready ms</th><th class="num">links</th><th class="num">loss</th><th>error</th></tr></thead><tbody>${rows}</tbody></table>`,
    true,
  );
}

// ---------------------------------------------------------------------------------------------------
// Charts: inline SVG, drawn here

type SeriesKey = Exclude<keyof TimePoint, 't'>;

interface ChartSpec {
  title: string;
  /** Unit for the tooltip. */
  unit: string;
  /** Whole numbers only (counts): no fractional ticks. */
  integer?: boolean;
  series: Array<{ key: SeriesKey; label: string; color: string }>;
}

const COLORS = ['#2563eb', '#ea580c', '#16a34a', '#9333ea', '#dc2626'] as const;

/** The charts of the report, in order; titles carry their units. */
export const CHARTS: ChartSpec[] = [
  {
    title: 'Bots & links (count)',
    unit: '',
    integer: true,
    series: [
      { key: 'bots', label: 'bots', color: COLORS[0] },
      { key: 'links', label: 'links', color: COLORS[1] },
    ],
  },
  {
    title: 'Received bitrate (kbps)',
    unit: 'kbps',
    series: [
      { key: 'videoKbps', label: 'video', color: COLORS[0] },
      { key: 'audioKbps', label: 'audio', color: COLORS[1] },
    ],
  },
  {
    title: 'Packet loss (%)',
    unit: '%',
    series: [{ key: 'lossPct', label: 'loss', color: COLORS[4] }],
  },
  {
    title: 'Latency (ms)',
    unit: 'ms',
    series: [
      { key: 'rttP50Ms', label: 'RTT p50', color: COLORS[0] },
      { key: 'rttP95Ms', label: 'RTT p95', color: COLORS[3] },
      { key: 'jitterP95Ms', label: 'jitter p95', color: COLORS[1] },
    ],
  },
  {
    title: 'Generator CPU (% of one core)',
    unit: '%',
    series: [{ key: 'cpuPct', label: 'CPU', color: COLORS[2] }],
  },
  {
    title: 'Generator event-loop lag (ms)',
    unit: 'ms',
    series: [{ key: 'loopLagMs', label: 'loop lag', color: COLORS[3] }],
  },
  {
    title: 'Generator memory (RSS, MB)',
    unit: 'MB',
    series: [{ key: 'rssMb', label: 'RSS', color: COLORS[0] }],
  },
  {
    title: 'Signaling errors (count)',
    unit: '',
    integer: true,
    series: [{ key: 'errors', label: 'errors', color: COLORS[4] }],
  },
];

const W = 560;
const H = 200;
const M = { left: 46, right: 12, top: 10, bottom: 24 };
/** Polylines keep at most this many points per series (min/max per bucket above it), keeping files small. */
const MAX_POINTS = 600;

function chartsSection(series: TimePoint[]): string {
  const figures = CHARTS.map((spec, i) => chart(spec, series, i)).join('\n');
  return `<section class="charts"><h2>Over time</h2><div class="chartgrid">${figures}</div></section>`;
}

/** "Nice" tick positions (1, 2, 2.5, 5 × 10^k) covering [0, max], about `count` of them. */
function niceTicks(max: number, count: number, integer = false): number[] {
  if (!(max > 0)) return [0, 1];
  const raw = max / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  let step = ([1, 2, 2.5, 5, 10].find((m) => m * mag >= raw) ?? 10) * mag;
  if (integer) step = step < 1 ? 1 : step === 2.5 ? 2 : step;
  const ticks: number[] = [];
  for (let v = 0; v < max + step * 0.999; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

/** Tick positions on a time axis in seconds: 1/2/5/10/15/30 s, then whole minutes. */
function timeTicks(max: number): number[] {
  const steps = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400];
  const step = steps.find((s) => max / s <= 6) ?? Math.ceil(max / 6 / 3600) * 3600;
  const ticks: number[] = [];
  for (let v = 0; v <= max + 1e-9; v += step) ticks.push(v);
  return ticks;
}

/** Indexes to draw: all of them, or the min and max of each bucket when there are too many. */
function sampleIndexes(values: number[]): number[] {
  if (values.length <= MAX_POINTS) return values.map((_, i) => i);
  const buckets = MAX_POINTS / 2;
  const size = values.length / buckets;
  const out: number[] = [];
  for (let b = 0; b < buckets; b++) {
    const from = Math.floor(b * size);
    const to = Math.min(values.length, Math.floor((b + 1) * size));
    let lo = from;
    let hi = from;
    for (let i = from; i < to; i++) {
      if (values[i]! < values[lo]!) lo = i;
      if (values[i]! > values[hi]!) hi = i;
    }
    if (lo === hi) out.push(lo);
    else out.push(Math.min(lo, hi), Math.max(lo, hi));
  }
  return out;
}

function chart(spec: ChartSpec, points: TimePoint[], index: number): string {
  const legend = `<div class="legend">${spec.series
    .map((s) => `<span><i style="background:${s.color}"></i>${escapeHtml(s.label)}</span>`)
    .join('')}</div>`;
  const head = `<figcaption><h3>${escapeHtml(spec.title)}</h3>${legend}</figcaption>`;
  const px0 = M.left;
  const px1 = W - M.right;
  const py0 = H - M.bottom;
  const py1 = M.top;
  if (points.length === 0) {
    const h = 48;
    return `<figure class="chart">${head}<svg viewBox="0 0 ${W} ${h}" role="img" aria-label="${escapeHtml(spec.title)}: no data">
<rect x="${px0}" y="1" width="${px1 - px0}" height="${h - 2}" class="frame"/>
<text x="${(px0 + px1) / 2}" y="${h / 2 + 4}" text-anchor="middle" class="nodata">No data</text></svg></figure>`;
  }

  const ts = points.map((p) => p.t);
  const tMin = Math.min(0, ...ts);
  const tMax = Math.max(...ts, tMin + 1);
  let yMax = 0;
  for (const s of spec.series) for (const p of points) yMax = Math.max(yMax, finite(p[s.key]));
  const yTicks = niceTicks(yMax, 4, spec.integer);
  const yTop = yTicks[yTicks.length - 1]!;
  const x = (t: number) => px0 + ((t - tMin) / (tMax - tMin)) * (px1 - px0);
  const y = (v: number) => py0 - (finite(v) / yTop) * (py0 - py1);
  const long = tMax >= 120;

  const grid = yTicks
    .map(
      (v) =>
        `<line x1="${px0}" x2="${px1}" y1="${r(y(v))}" y2="${r(y(v))}" class="grid"/>` +
        `<text x="${px0 - 5}" y="${r(y(v)) + 3.5}" text-anchor="end">${fmtTick(v)}</text>`,
    )
    .join('');
  const xTicks = timeTicks(tMax)
    .filter((t) => t >= tMin)
    .map(
      (t) =>
        `<line x1="${r(x(t))}" x2="${r(x(t))}" y1="${py0}" y2="${py0 + 4}" class="axis"/>` +
        `<text x="${r(x(t))}" y="${py0 + 15}" text-anchor="middle">${fmtClock(t, long)}</text>`,
    )
    .join('');
  const lines = spec.series
    .map((s) => {
      const values = points.map((p) => finite(p[s.key]));
      if (points.length === 1) {
        return `<circle cx="${r(x(ts[0]!))}" cy="${r(y(values[0]!))}" r="3" fill="${s.color}"/>`;
      }
      const coords = sampleIndexes(values)
        .map((i) => `${r(x(ts[i]!))},${r(y(values[i]!))}`)
        .join(' ');
      return `<polyline points="${coords}" fill="none" stroke="${s.color}" stroke-width="1.5" stroke-linejoin="round"/>`;
    })
    .join('');
  const data = [
    `data-keys="${spec.series.map((s) => s.key).join(' ')}"`,
    `data-labels="${escapeHtml(spec.series.map((s) => s.label).join('|'))}"`,
    `data-unit="${escapeHtml(spec.unit)}"`,
    `data-t="${tMin} ${tMax}"`,
    `data-long="${long ? 1 : 0}"`,
  ].join(' ');
  return `<figure class="chart" id="chart-${index}" ${data}>${head}<div class="plot"><svg viewBox="0 0 ${W} ${H}" role="img" aria-label="${escapeHtml(spec.title)}">
<g class="ticks">${grid}${xTicks}</g>
<line x1="${px0}" x2="${px1}" y1="${py0}" y2="${py0}" class="axis"/><line x1="${px0}" x2="${px0}" y1="${py1}" y2="${py0}" class="axis"/>
${lines}
<line class="cursor" x1="0" x2="0" y1="${py1}" y2="${py0}" visibility="hidden"/>
</svg><div class="tip" hidden></div></div></figure>`;
}

function finite(v: number): number {
  return Number.isFinite(v) ? v : 0;
}

/** Rounds a pixel coordinate to one decimal: plenty on a 560-wide view box, and short in the file. */
function r(v: number): number {
  return Math.round(v * 10) / 10;
}

/**
 * Hover tooltips: the series as columns of numbers (no strings from the run, so nothing to escape beyond
 * `<`, which numbers never contain) and a few lines that show the values under the cursor.
 */
function tooltipScript(points: TimePoint[]): string {
  if (points.length === 0) return '';
  const keys: Array<keyof TimePoint> = ['t', ...new Set(CHARTS.flatMap((c) => c.series.map((s) => s.key)))];
  const columns = Object.fromEntries(
    keys.map((k) => [k, points.map((p) => Math.round(finite(p[k]) * 100) / 100)]),
  );
  return `<script type="application/json" id="series">${JSON.stringify(columns)}</script>
<script>
(() => {
  const d = JSON.parse(document.getElementById('series').textContent);
  const L = ${M.left}, R = ${W - M.right}, VW = ${W};
  const fmt = (v) => (Math.abs(v) >= 100 ? Math.round(v).toLocaleString('en-US') : String(Math.round(v * 100) / 100));
  const clock = (t, long) => long ? Math.floor(t / 60) + ':' + String(Math.round(t % 60)).padStart(2, '0') : t + 's';
  for (const fig of document.querySelectorAll('figure.chart[data-keys]')) {
    const svg = fig.querySelector('svg'), tip = fig.querySelector('.tip'), cur = svg.querySelector('.cursor');
    const keys = fig.dataset.keys.split(' '), labels = fig.dataset.labels.split('|'), unit = fig.dataset.unit;
    const [t0, t1] = fig.dataset.t.split(' ').map(Number), long = fig.dataset.long === '1';
    svg.addEventListener('mousemove', (e) => {
      const box = svg.getBoundingClientRect(), px = ((e.clientX - box.left) / box.width) * VW;
      const t = t0 + ((px - L) / (R - L)) * (t1 - t0);
      let i = 0;
      for (let lo = 0, hi = d.t.length - 1; lo <= hi; ) {
        const mid = (lo + hi) >> 1;
        if (d.t[mid] < t) lo = mid + 1; else hi = mid - 1;
        i = Math.min(lo, d.t.length - 1);
      }
      if (i > 0 && Math.abs(d.t[i - 1] - t) < Math.abs(d.t[i] - t)) i--;
      const cx = L + ((d.t[i] - t0) / (t1 - t0)) * (R - L);
      cur.setAttribute('x1', cx); cur.setAttribute('x2', cx); cur.setAttribute('visibility', 'visible');
      tip.textContent = clock(d.t[i], long) + '  ' + keys.map((k, j) => labels[j] + ' ' + fmt(d[k][i]) + (unit ? ' ' + unit : '')).join(' · ');
      tip.hidden = false;
    });
    svg.addEventListener('mouseleave', () => { tip.hidden = true; cur.setAttribute('visibility', 'hidden'); });
  }
})();
</script>`;
}

// ---------------------------------------------------------------------------------------------------

const CSS = `
:root{--fg:#1f2328;--muted:#656d76;--line:#d8dee4;--bg:#fff;--soft:#f6f8fa;--ok:#1a7f37;--bad:#cf222e;--warn:#9a6700}
*{box-sizing:border-box}
body{margin:0 auto;max-width:1200px;padding:20px 24px 40px;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--fg);background:var(--bg)}
code{font:12.5px ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace}
h1{font-size:22px;margin:0 0 8px}h1 .runid{font-weight:400;color:var(--muted)}
h2{font-size:16px;margin:0 0 8px}h2 small{font-size:13px;font-weight:600;margin-left:8px}
h3{font-size:13px;margin:0}
.facts{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;margin:0 0 16px}
.facts dt{color:var(--muted)}.facts dd{margin:0}
.tag{font-size:11px;border:1px solid var(--line);border-radius:10px;padding:0 6px;color:var(--muted)}
.banner{border-radius:6px;padding:10px 14px;margin:0 0 14px;border:1px solid}
.banner.bad{background:#ffebe9;border-color:#ff8182;color:#82071e}
.banner.warn{background:#fff8c5;border-color:#d4a72c;color:#4d2d00}
.banner ul{margin:6px 0 0;padding-left:20px}
.ok{color:var(--ok)}.bad{color:var(--bad)}.muted{color:var(--muted)}
table{border-collapse:collapse;width:100%;margin:0 0 10px}
th,td{padding:3px 8px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
thead th{font-size:12px;color:var(--muted);font-weight:600;border-bottom-color:#afb8c1}
tbody th{font-weight:400}
.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.num.bad{font-weight:600}
.thresholds{margin:0 0 18px}
.thresholds table{width:auto;min-width:50%}
.thresholds .mark{font-weight:700;width:1.5em}
.thresholds tr.pass .mark,.thresholds tr.pass td.num{color:var(--ok)}
.thresholds tr.fail .mark,.thresholds tr.fail td.num{color:var(--bad);font-weight:600}
.thresholds tr.fail{background:#fff5f5}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(520px,1fr));gap:14px 22px;margin-bottom:18px}
.card{min-width:0;border-top:2px solid var(--fg);padding-top:6px}
.card.wide{grid-column:1/-1}
.card table.kv{width:auto;min-width:60%}
.card p{margin:4px 0 8px}
.warnings{margin:4px 0;padding-left:18px;color:var(--warn)}
td.err{color:var(--bad);font-size:12.5px;overflow-wrap:anywhere}
td code{overflow-wrap:anywhere}
.charts h2{border-top:2px solid var(--fg);padding-top:6px}
.chartgrid{display:grid;grid-template-columns:repeat(auto-fill,minmax(520px,1fr));gap:14px 22px}
figure{margin:0}
figcaption{display:flex;align-items:baseline;justify-content:space-between;gap:10px;margin-bottom:2px}
.legend{display:flex;gap:12px;font-size:12px;color:var(--muted)}
.legend i{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:4px;vertical-align:-1px}
.plot{position:relative}
svg{display:block;width:100%;height:auto;overflow:visible}
svg text{font-size:10.5px;fill:var(--muted);font-family:inherit}
svg .grid{stroke:#eaeef2}svg .axis{stroke:#8c959f}svg .frame{fill:var(--soft);stroke:var(--line)}
svg .nodata{font-size:13px}
svg .cursor{stroke:#8c959f;stroke-dasharray:3 3}
.tip{position:absolute;top:0;right:0;background:rgba(255,255,255,.94);border:1px solid var(--line);border-radius:4px;padding:2px 6px;font-size:12px;font-variant-numeric:tabular-nums;pointer-events:none}
footer{margin-top:24px;font-size:12px;color:var(--muted)}
@media print{.tip,.cursor{display:none}}
`;
