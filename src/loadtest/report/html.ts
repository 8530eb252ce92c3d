import {
  COUNTER_METRICS,
  type CounterName,
  TREND_GROUPS,
  TREND_METRICS,
  type TrendName,
} from '../metrics/catalogue.js';
import type { BotResult, InstanceSummary, RoomResult, RunSummary } from '../metrics/summary.js';
import { browsersSection } from './html-browsers.js';
import { CHARTS, chartsSection, tooltipScript } from './html-charts.js';
import { escapeHtml, fmtDate, fmtDuration, fmtNum, pct, unitOf, withUnit } from './html-format.js';
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

/** Escapes text for HTML element content and quoted attribute values. */
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
      kvTable([
        counterRow(s, 'signal_errors', 'error messages from the server', errors > 0),
        counterRow(s, 'signal_reconnects', 'rejoins after the socket dropped; media links kept meanwhile'),
        counterRow(
          s,
          'signal_reconnects_failed',
          'never came back (gave up, refused, or the run ended first); each a failed bot',
          s.metrics.counters.signal_reconnects_failed > 0,
        ),
      ]) +
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
        counterRow(s, 'links_host', 'carried by host candidates'),
        counterRow(s, 'links_srflx', 'carried by STUN (server-reflexive) candidates'),
        counterRow(s, 'links_prflx', 'carried by peer-reflexive candidates'),
        counterRow(s, 'links_relay', `through a TURN relay${s.plan.net?.relayOnly ? ' (--relay-only)' : ''}`),
        counterRow(s, 'bots_started'),
        counterRow(s, 'bots_joined', `${pct(c.bots_joined, c.bots_started)} of started`),
        counterRow(s, 'bots_failed', pct(c.bots_failed, c.bots_started), c.bots_failed > 0),
      ]),
  );
}

function mediaSection(s: RunSummary): string {
  const note =
    s.plan.mode === 'signaling-only' ? '<p class="muted">Signaling-only run: no media was sent.</p>' : '';
  const c = s.metrics.counters;
  const flows = s.run.shards.flows;
  const flowRows =
    s.plan.mode === 'media' && s.plan.video !== 'none'
      ? kvTable([
          counterRow(
            s,
            'video_flows',
            `${pct(c.video_flows, flows)} of ${fmtNum(flows)} (both ways of every link)`,
          ),
          counterRow(s, 'video_flows_stalled', pct(c.video_flows_stalled, flows), c.video_flows_stalled > 0),
          counterRow(s, 'frames_received', 'whole frames, every packet arrived'),
          counterRow(s, 'frames_incomplete', 'never arrived whole', c.frames_incomplete > 0),
          counterRow(
            s,
            'frames_corrupt',
            'whole, but not byte-identical to the clip sent',
            c.frames_corrupt > 0,
          ),
          counterRow(s, 'freeze_count', 'W3C webrtc-stats freezes', c.freeze_count > 0),
          counterRow(s, 'freeze_ms', 'total time frozen'),
        ])
      : '';
  return card('Media', note + trendTable(s, TREND_GROUPS.media) + flowRows, true);
}

/** Each --net profile group: configured against measured, on the flows it sent and received. */
function netGroupsSection(s: RunSummary): string {
  if (!s.netGroups) return '';
  const cell = (v: string, title = '') =>
    `<td class="num"${title ? ` title="${escapeHtml(title)}"` : ''}>${v}</td>`;
  const rows = s.netGroups
    .map((g) => {
      const { out: o, in: i } = g.configured;
      const conf = (v: string) => `<span class="muted">${escapeHtml(v)} →</span> `;
      return (
        `<tr><th><code>${escapeHtml(g.profile)}</code>${g.schedule.includes(';') ? `<br><small class="muted">${escapeHtml(g.schedule)}</small>` : ''}</th>` +
        cell(fmtNum(g.bots.length), g.bots.join(' ')) +
        cell(`${conf(`${o.lossPct}%`)}${fmtNum(g.sent.netLossPct)}%`, `after repair ${g.sent.lossPct}%`) +
        cell(
          `${conf(`${i.lossPct}%`)}${fmtNum(g.received.netLossPct)}%`,
          `after repair ${g.received.lossPct}%`,
        ) +
        cell(`${conf(`+${o.delayMs + i.delayMs} ms`)}${fmtNum(g.sent.rttP50Ms)} ms`) +
        cell(`${fmtNum(g.sent.latencyP50Ms)} ms`, `p95 ${g.sent.latencyP95Ms} ms`) +
        cell(`${conf(`±${o.jitterMs} ms`)}${fmtNum(g.sent.jitterP95Ms)} ms`) +
        cell(
          `${conf(o.rateKbps === undefined ? 'no cap' : `≤${o.rateKbps} kbit/s`)}${fmtNum(g.sent.kbpsPerBotP50)}`,
          `max ${g.sent.kbpsPerBotMax} kbit/s`,
        ) +
        cell(
          `${fmtNum(g.sent.freezeCount)} / ${fmtNum(g.sent.framesCorrupt)}`,
          `received: ${g.received.freezeCount} freezes, ${g.received.framesCorrupt} corrupt`,
        ) +
        '</tr>'
      );
    })
    .join('');
  const bots = s.netGroups
    .map((g) => `<li><code>${escapeHtml(g.profile)}</code>: ${g.bots.map(escapeHtml).join(' ')}</li>`)
    .join('');
  return card(
    'Network profiles',
    '<p class="muted">Configured → measured. Loss is before NACK repair; “sent” is what the group’s bots sent, measured at their receivers; RTT, latency (one-way, per packet) and jitter on those flows; kbit/s is each bot’s media sent over all its links, p50 of a reading a second.</p>' +
      `<table><thead><tr><th>profile</th><th class="num">bots</th><th class="num">loss sent</th><th class="num">loss received</th><th class="num">delay → RTT p50</th><th class="num">latency p50</th><th class="num">jitter → p95</th><th class="num">rate → kbit/s per bot</th><th class="num">freezes / corrupt of what it sent</th></tr></thead><tbody>${rows}</tbody></table>` +
      `<ul class="muted">${bots}</ul>`,
    true,
  );
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

function serverSection(s: RunSummary): string {
  const v = s.server;
  const opt = (n: number | undefined, unit = '') => (n === undefined ? '—' : withUnit(n, unit));
  const note = v.note ? `<p class="muted">${escapeHtml(v.note)}</p>` : '';
  // Wide, after the server's own card: one row per instance, URLs unbroken.
  const instances = v.instances ? card('Instances', instancesTable(v.instances), true) : '';
  if (v.source === 'unavailable') {
    return card('Server', `<p class="muted">The server’s metrics were unavailable.</p>${note}`) + instances;
  }
  return (
    card(
      'Server',
      kvTable([
        {
          key: 'source',
          value: escapeHtml(v.source),
          note: v.source === 'embedded' ? 'engage serve in a child process of the run' : '/metrics',
        },
        ...(v.cpuPct
          ? [
              {
                key: 'CPU',
                value: `${fmtNum(v.cpuPct.avg)}% avg`,
                note: `max ${fmtNum(v.cpuPct.max)}%, of one core; the server’s own process`,
              },
            ]
          : []),
        ...(v.rssMb
          ? [{ key: 'RSS', value: `${fmtNum(v.rssMb.avg)} MB avg`, note: `max ${fmtNum(v.rssMb.max)} MB` }]
          : []),
        { key: 'messages in', value: opt(v.messagesIn) },
        { key: 'messages out', value: opt(v.messagesOut) },
        { key: 'peak sockets', value: opt(v.peakSockets) },
        ...(v.restarts === undefined
          ? []
          : [
              {
                key: 'restarts',
                value: fmtNum(v.restarts),
                note: 'killed and started again on the same port, on purpose (test hook); messages are its last process’s',
                bad: true,
              },
            ]),
        { key: 'relay latency p50', value: opt(v.relayLatencyP50Ms, 'ms'), note: 'bucket upper bound' },
        { key: 'relay latency p99', value: opt(v.relayLatencyP99Ms, 'ms'), note: 'bucket upper bound' },
      ]) +
        (v.errors ? countsTable(v.errors, 'server error', 'No server errors.') : '') +
        note,
    ) + instances
  );
}

/** Each instance of a multi-instance run: its bots as the generator saw them, and its own /metrics. */
function instancesTable(instances: InstanceSummary[]): string {
  const opt = (n: number | undefined) => (n === undefined ? '—' : fmtNum(n));
  const rows = instances
    .map((i) => {
      const errors = Object.entries(i.errors ?? {});
      const errorText =
        i.source === 'unavailable'
          ? '—'
          : errors.length === 0
            ? '0'
            : errors.map(([k, n]) => `${escapeHtml(k)}: ${fmtNum(n)}`).join(', ');
      return (
        `<tr><td><code>${escapeHtml(i.url)}</code>${i.note ? `<br><span class="muted">${escapeHtml(i.note)}</span>` : ''}</td>` +
        `<td class="num">${fmtNum(i.botsJoined)} / ${fmtNum(i.bots)}</td>` +
        `<td class="num${i.botsFailed > 0 ? ' bad' : ''}">${fmtNum(i.botsFailed)}</td>` +
        `<td class="num">${opt(i.peakSockets)}</td><td class="num">${opt(i.messagesIn)}</td>` +
        `<td class="num">${opt(i.messagesOut)}</td><td class="num">${errorText}</td>` +
        `<td class="num${i.signalErrors > 0 ? ' bad' : ''}">${fmtNum(i.signalErrors)}</td>` +
        `<td class="num">${i.relayLatencyP99Ms === undefined ? '—' : `≤ ${fmtNum(i.relayLatencyP99Ms)} ms`}</td></tr>`
      );
    })
    .join('');
  return (
    '<table class="instances"><thead><tr><th>instance</th><th class="num">bots joined</th><th class="num">bots failed</th>' +
    '<th class="num">peak sockets</th><th class="num">messages in</th><th class="num">messages out</th>' +
    '<th class="num">server errors</th><th class="num">errors its bots got</th><th class="num">relay p99</th></tr></thead>' +
    `<tbody>${rows}</tbody></table>`
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
  const withNet = bots.some((b) => b.net !== undefined);
  const rows = bots
    .map(
      (b) =>
        `<tr><td><code>${escapeHtml(b.bot)}</code></td><td><code>${escapeHtml(b.room)}</code></td>` +
        `<td class="${b.state === 'failed' || b.state === 'never-started' ? 'bad' : ''}">${escapeHtml(b.state)}</td>` +
        `<td class="num">${b.joinMeshMs === undefined ? '—' : fmtNum(b.joinMeshMs)}</td>` +
        `<td class="num">${b.meshReadyMs === undefined ? '—' : fmtNum(b.meshReadyMs)}</td>` +
        `<td class="num">${fmtNum(b.linksConnected)} / ${fmtNum(b.linksExpected)}</td>` +
        `<td class="num">${fmtNum(b.lossPct)}%</td>` +
        (withNet ? `<td>${b.net === undefined ? '' : `<code>${escapeHtml(b.net)}</code>`}</td>` : '') +
        `<td class="err">${b.error ? escapeHtml(b.error) : ''}</td></tr>`,
    )
    .join('');
  return card(
    'Worst bots',
    `<table><thead><tr><th>bot</th><th>room</th><th>state</th><th class="num" title="join to links with every member already in the room connected">join mesh ms</th><th class="num" title="join to all its links connected, later joiners included">mesh ready ms</th><th class="num">links</th><th class="num">loss</th>${withNet ? '<th>net</th>' : ''}<th>error</th></tr></thead><tbody>${rows}</tbody></table>`,
    true,
  );
}

// ---------------------------------------------------------------------------------------------------
// Charts: inline SVG, drawn here

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
.instances td code{white-space:nowrap;overflow-wrap:normal}
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
