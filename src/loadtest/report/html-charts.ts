import type { TimePoint } from '../metrics/summary.js';
import { escapeHtml, fmtClock, fmtTick } from './html-format.js';

/** Charts over time for the HTML report: inline SVG drawn here, with a few lines of tooltip script. */
type SeriesKey = Exclude<keyof TimePoint, 't' | 'instanceSockets'>;

interface Series {
  /** A column of the tooltip data: a TimePoint field, or a name of its own for a computed series. */
  key: string;
  label: string;
  color: string;
  /** `optional`: drawn only when the run measured it (the server's CPU, for an embedded server). */
  optional?: boolean;
  /** Defaults to the TimePoint field `key`. */
  value?: (p: TimePoint) => number | undefined;
}

interface ChartSpec {
  title: string;
  /** Unit for the tooltip. */
  unit: string;
  /** Whole numbers only (counts): no fractional ticks. */
  integer?: boolean;
  series: Series[];
}

const seriesValue = (s: Series, p: TimePoint): number | undefined =>
  s.value ? s.value(p) : (p[s.key as SeriesKey] as number | undefined);

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
    series: [
      { key: 'netLossPct', label: 'before repair (network)', color: COLORS[3] },
      { key: 'lossPct', label: 'after repair', color: COLORS[4] },
    ],
  },
  {
    title: 'Latency (ms)',
    unit: 'ms',
    series: [
      { key: 'rttP50Ms', label: 'RTT p50', color: COLORS[0] },
      { key: 'rttP95Ms', label: 'RTT p95', color: COLORS[3] },
      { key: 'jitterP95Ms', label: 'jitter p95', color: COLORS[1] },
      { key: 'latencyP50Ms', label: 'media latency p50', color: COLORS[2] },
    ],
  },
  {
    title: 'CPU (% of one core)',
    unit: '%',
    series: [
      { key: 'cpuPct', label: 'generator', color: COLORS[2] },
      { key: 'serverCpuPct', label: 'embedded server', color: COLORS[3], optional: true },
      { key: 'browserCpuPct', label: 'browsers’ Chromium', color: COLORS[1], optional: true },
    ],
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

/**
 * The charts with the optional series the run did not measure left out, and, for a run over several
 * instances, one more: each instance's sockets (labelled by host:port of `urls`).
 */
function chartsFor(points: TimePoint[], urls: string[] = []): ChartSpec[] {
  const measured = (s: Series) => points.some((p) => seriesValue(s, p) !== undefined);
  const charts = CHARTS.map((spec) => ({
    ...spec,
    series: spec.series.filter((s) => !s.optional || measured(s)),
  }));
  const instances = Math.max(0, ...points.map((p) => p.instanceSockets?.length ?? 0));
  if (instances === 0) return charts;
  const hostOf = (url: string | undefined, i: number) => {
    try {
      return new URL(url ?? '').host;
    } catch {
      return `instance ${i + 1}`;
    }
  };
  const series = Array.from({ length: instances }, (_, i) => ({
    key: `instanceSockets${i}`,
    label: hostOf(urls[i], i),
    color: COLORS[i % COLORS.length]!,
    value: (p: TimePoint) => p.instanceSockets?.[i],
  }));
  return [
    ...charts,
    { title: 'Sockets per instance (count, read each second)', unit: '', integer: true, series },
  ];
}

export function chartsSection(series: TimePoint[], urls: string[] = []): string {
  const figures = chartsFor(series, urls)
    .map((spec, i) => chart(spec, series, i))
    .join('\n');
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
  for (const s of spec.series) for (const p of points) yMax = Math.max(yMax, finite(seriesValue(s, p)));
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
      const values = points.map((p) => finite(seriesValue(s, p)));
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

function finite(v: number | undefined): number {
  return v !== undefined && Number.isFinite(v) ? v : 0;
}

/** Rounds a pixel coordinate to one decimal: plenty on a 560-wide view box, and short in the file. */
function r(v: number): number {
  return Math.round(v * 10) / 10;
}

/**
 * Hover tooltips: the series as columns of numbers (no strings from the run, so nothing to escape beyond
 * `<`, which numbers never contain) and a few lines that show the values under the cursor.
 */
export function tooltipScript(points: TimePoint[], urls: string[] = []): string {
  if (points.length === 0) return '';
  const series = new Map<string, Series>();
  for (const c of chartsFor(points, urls)) for (const x of c.series) series.set(x.key, x);
  const round = (v: number | undefined) => Math.round(finite(v) * 100) / 100;
  const columns = {
    t: points.map((p) => round(p.t)),
    ...Object.fromEntries([...series].map(([k, x]) => [k, points.map((p) => round(seriesValue(x, p)))])),
  };
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
