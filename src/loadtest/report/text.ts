import type { TrendStats } from '../../util/trend.js';
import { TREND_GROUPS, type TrendName } from '../metrics/catalogue.js';
import type { InstanceSummary, RunFailure, RunSummary } from '../metrics/summary.js';
import { browserLines } from './text-browsers.js';
import { lpad, num, pad } from './text-format.js';

/** How the CLI colours the summary; library code only marks what is good, bad or minor. */
export interface TextStyle {
  ok(s: string): string;
  bad(s: string): string;
  warn(s: string): string;
  dim(s: string): string;
  bold(s: string): string;
}

export const plainStyle: TextStyle = {
  ok: (s) => s,
  bad: (s) => s,
  warn: (s) => s,
  dim: (s) => s,
  bold: (s) => s,
};

const COLUMNS = ['count', 'min', 'avg', 'p50', 'p90', 'p95', 'p99', 'max'] as const;

function trendRow(name: string, s: TrendStats, style: TextStyle): string {
  // A name longer than its column takes room from the count's, so the figures stay in their columns.
  const label = name.length < 22 ? pad(name, 22) : `${name} `;
  const countWidth = Math.max(1, 29 - label.length);
  if (s.count === 0) return `  ${label}${style.dim(lpad('-', countWidth))}`;
  return `  ${label}${COLUMNS.map((c) => lpad(c === 'count' ? String(s.count) : num(s[c]), c === 'count' ? countWidth : 9)).join('')}`;
}

function header(title: string, style: TextStyle): string {
  return `${style.bold(pad(title, 24))}${style.dim(COLUMNS.map((c) => lpad(c, c === 'count' ? 7 : 9)).join(''))}`;
}

/** The end-of-run summary for a terminal: thresholds first, then grouped tables, then the worst rooms and bots. */
export function renderSummary(r: RunSummary, style: TextStyle = plainStyle): string {
  const out: string[] = [];
  const t = r.metrics.trends;
  const c = r.metrics.counters;
  const trend = (name: TrendName) => trendRow(name, t[name], style);
  out.push(
    style.bold(
      `engage loadtest · run ${r.run.id} · ${r.plan.bots} bots${r.plan.browsers ? ` (${r.plan.browsers} of them browsers)` : ''} in ${r.plan.rooms} room${r.plan.rooms === 1 ? '' : 's'} (${r.plan.mode}) · ${r.run.durationS} s${shardsTitle(r)}`,
    ),
  );
  out.push(
    r.run.urls.length > 1
      ? `servers ${r.run.urls.join(', ')} (${r.run.urls.length} instances; each room's members spread over them)`
      : `server  ${r.run.url}${r.run.embeddedServer ? ' (embedded)' : ''}`,
  );
  out.push(`sent    ${r.plan.media}${r.plan.recording ? ' · recording on' : ''}`);
  out.push(
    `plan    ramp ${r.plan.rampPerS} bots/s, hold ${r.plan.durationS} s, room sizes ${summarizeSizes(r.plan.roomSizes)}, ${r.plan.workers} worker(s)`,
  );
  out.push(...shardNotes(r, style));
  if (r.run.interrupted) out.push(style.warn('INTERRUPTED: the run was stopped before its planned end'));
  for (const f of r.run.failures) out.push(style.bad(`FAILED: ${describeFailure(f)}`));

  if (r.thresholds.length > 0) {
    out.push('', style.bold('THRESHOLDS'));
    for (const th of r.thresholds) {
      const mark = th.ok ? style.ok('✓') : style.bad('✗');
      out.push(`  ${mark} ${pad(th.threshold, 40)} ${th.ok ? num(th.actual) : style.bad(num(th.actual))}`);
    }
  }

  out.push('', header('SIGNALING', style), ...TREND_GROUPS.signaling.map(trend));
  const errors = Object.entries(r.signalErrors);
  out.push(
    `  ${pad('signal_errors', 22)}${lpad(String(c.signal_errors), 7)}${errors.length ? `  ${errors.map(([k, v]) => `${k}: ${v}`).join(', ')}` : ''}`,
  );
  out.push(reconnectsRow(r, style));

  out.push('', header('CONNECTIVITY', style), ...TREND_GROUPS.connectivity.map(trend));
  const linksOk = c.links_connected === c.links_expected && c.links_failed === 0;
  out.push(
    `  ${pad('links', 22)}${(linksOk ? style.ok : style.bad)(`${c.links_connected}/${c.links_expected} connected`)}, ${c.links_failed} failed  ${style.dim('(n(n-1)/2 per room)')}`,
  );
  out.push(
    `  ${pad('carried by', 22)}${viaText(r)}${r.plan.net?.relayOnly ? `  ${style.dim('(--relay-only)')}` : ''}`,
  );
  const bots = r.run.shards.bots;
  const botsOk = c.bots_joined === bots && c.bots_failed === 0;
  out.push(
    `  ${pad('bots', 22)}${(botsOk ? style.ok : style.bad)(`${c.bots_joined}/${bots} joined`)}, ${c.bots_failed} failed`,
  );

  if (r.plan.mode === 'media') {
    out.push('', header('MEDIA', style));
    for (const m of TREND_GROUPS.media) {
      out.push(trend(m));
    }
    if (r.plan.video !== 'none') {
      const flows = r.run.shards.flows;
      const videoOk = c.video_flows === flows && c.video_flows_stalled === 0;
      out.push(
        `  ${pad('video flows', 22)}${(videoOk ? style.ok : style.bad)(`${c.video_flows}/${flows} flowed in every sample`)}, ${c.video_flows_stalled} stalled  ${style.dim('(both ways of every link)')}`,
      );
    }
    if (r.plan.video !== 'none') {
      const framesOk = c.frames_corrupt === 0;
      out.push(
        `  ${pad('frames', 22)}${c.frames_received} whole, ${c.frames_incomplete} incomplete, ${(framesOk ? (s: string) => s : style.bad)(`${c.frames_corrupt} corrupt`)}; freezes ${c.freeze_count} (${Math.round(c.freeze_ms)} ms)`,
      );
    }
    if (r.netGroups) out.push('', ...netGroupsTable(r, style));
    out.push('', header('CHAT', style), ...TREND_GROUPS.chat.map(trend));
    out.push(`  ${pad('chat', 22)}${c.chat_received}/${c.chat_sent} pings answered`);
    if (r.plan.browsers > 0) {
      out.push('', header('WHAT HUMANS SEE', style), ...TREND_GROUPS.browser.map(trend));
      out.push(...browserLines(r, style));
    }
  }

  out.push('', style.bold('SERVER'));
  const s = r.server;
  if (s.source === 'unavailable') out.push(`  ${style.dim(s.note ?? 'no metrics')}`);
  else {
    out.push(
      `  messages in ${s.messagesIn ?? 0}, out ${s.messagesOut ?? 0}; relay latency p50 ${bound(s.relayLatencyP50Ms)}, p99 ${bound(s.relayLatencyP99Ms)}` +
        (s.peakSockets === undefined ? '' : `; peak sockets ${s.peakSockets}`),
    );
    if (s.restarts !== undefined)
      out.push(
        `  ${style.warn(`restarted ${s.restarts} time(s) during the run, on purpose (test hook)`)}; the counts above are its last process's`,
      );
    const se = Object.entries(s.errors ?? {});
    out.push(`  errors ${se.length === 0 ? '0' : se.map(([k, v]) => `${k}: ${v}`).join(', ')}`);
    if (s.note) out.push(`  ${style.dim(s.note)}`);
  }
  if (s.instances) out.push(...instanceRows(s.instances, style));
  if (s.cpuPct && s.rssMb) {
    out.push(
      `  its own process: CPU avg ${num(s.cpuPct.avg)}% max ${num(s.cpuPct.max)}% (of ${r.generator.cores * 100}%); RSS max ${num(s.rssMb.max)} MB`,
    );
  }

  const g = r.generator;
  out.push('', style.bold('GENERATOR'));
  out.push(
    `  ${g.cores} cores, ${g.workers} worker(s); own CPU avg ${num(g.cpuPct.avg)}% max ${num(g.cpuPct.max)}% (of ${g.cores * 100}%); ` +
      `RSS max ${num(g.rssMb.max)} MB; event-loop lag p99 ${num(g.loopLagP99Ms)} ms`,
  );
  if (g.browserCpuPct && g.browserPssMb)
    out.push(
      `  browsers' Chromium: CPU avg ${num(g.browserCpuPct.avg)}% max ${num(g.browserCpuPct.max)}% (of ${g.cores * 100}%); PSS max ${num(g.browserPssMb.max)} MB`,
    );
  if (g.saturated) for (const w of g.warnings) out.push(`  ${style.warn(`⚠ ${w}`)}`);
  else out.push(`  ${style.ok('not saturated')}`);
  if (r.shards) out.push(...shardTable(r.shards, style));

  if (r.worstRooms.length > 0 && r.plan.rooms > 1) {
    out.push(
      '',
      style.bold('WORST ROOMS'),
      style.dim(
        `  ${pad('room', 24)}${lpad('bots', 6)}${lpad('links', 10)}${lpad('loss %', 9)}${lpad('min fps', 9)}`,
      ),
    );
    for (const room of r.worstRooms) {
      out.push(
        `  ${pad(room.room, 24)}${lpad(String(room.bots), 6)}${lpad(`${room.linksConnected}/${room.linksExpected}`, 10)}${lpad(num(room.lossPct), 9)}${lpad(num(room.minVideoFps), 9)}`,
      );
    }
  }
  if (r.worstBots.length > 0) {
    out.push(
      '',
      style.bold('WORST BOTS'),
      style.dim(
        `  ${pad('bot', 12)}${pad('room', 20)}${pad('state', 14)}${lpad('join ms', 9)}${lpad('mesh ms', 9)}${lpad('links', 8)}${lpad('loss %', 8)}`,
      ),
    );
    for (const b of r.worstBots) {
      const state = b.state === 'failed' ? style.bad(pad(b.state, 14)) : pad(b.state, 14);
      out.push(
        `  ${pad(b.bot, 12)}${pad(b.room, 20)}${state}${lpad(b.joinMeshMs === undefined ? '-' : String(b.joinMeshMs), 9)}${lpad(b.meshReadyMs === undefined ? '-' : String(b.meshReadyMs), 9)}${lpad(`${b.linksConnected}/${b.linksExpected}`, 8)}${lpad(num(b.lossPct), 8)}${b.net ? `  net ${b.net}` : ''}${b.error ? `  ${style.dim(b.error)}` : ''}`,
      );
    }
  }
  return out.join('\n');
}

/** A histogram quantile: an upper bound, or `-` when there is none (no samples, or past the largest bucket). */
const bound = (ms: number | undefined) => (ms === undefined ? '-' : `≤ ${ms} ms`);

/** One row per instance of a multi-instance run: its bots (the generator's view) and its own counts. */
function instanceRows(instances: InstanceSummary[], style: TextStyle): string[] {
  const cols: Array<[string, number]> = [
    ['joined', 9],
    ['failed', 8],
    ['peak sockets', 14],
    ['msgs in', 10],
    ['msgs out', 10],
    ['errors', 8],
    ['p99 ms', 8],
  ];
  const width = Math.max(12, ...instances.map((i) => i.url.length)) + 2;
  const rows = [style.dim(`  ${pad('instance', width)}${cols.map(([h, w]) => lpad(h, w)).join('')}`)];
  for (const i of instances) {
    const serverErrors = Object.values(i.errors ?? {}).reduce((a, b) => a + b, 0);
    const cells = [
      `${i.botsJoined}/${i.bots}`,
      String(i.botsFailed),
      i.peakSockets === undefined ? '-' : String(i.peakSockets),
      i.messagesIn === undefined ? '-' : String(i.messagesIn),
      i.messagesOut === undefined ? '-' : String(i.messagesOut),
      i.source === 'unavailable' ? '-' : String(serverErrors),
      i.relayLatencyP99Ms === undefined ? '-' : `≤${i.relayLatencyP99Ms}`,
    ];
    const line = `  ${pad(i.url, width)}${cells.map((c, k) => lpad(c, cols[k]![1])).join('')}`;
    rows.push(i.botsFailed > 0 ? style.bad(line) : line);
    if (i.note) rows.push(`    ${style.dim(i.note)}`);
  }
  return rows;
}

/** Connected pairs by the candidates that carried them: `host 5, relay 1`. */
export function viaText(r: RunSummary): string {
  const c = r.metrics.counters;
  const parts = (['host', 'srflx', 'prflx', 'relay'] as const)
    .filter((t) => c[`links_${t}`] > 0)
    .map((t) => `${t} ${c[`links_${t}`]}`);
  const unknown =
    c.links_connected -
    (['host', 'srflx', 'prflx', 'relay'] as const).reduce((n, t) => n + c[`links_${t}`], 0);
  if (unknown > 0) parts.push(`not sampled ${unknown}`);
  return `${parts.length === 0 ? '-' : parts.join(', ')} of ${c.links_connected} connected`;
}

/**
 * The --net groups, configured against measured: loss on the flows a group sent (where an `out:` profile
 * shows) and received (where an `in:` one does), before NACK repair, RTT, jitter, one-way latency and
 * each bot's media rate over all its links.
 */
function netGroupsTable(r: RunSummary, style: TextStyle): string[] {
  const out = [
    style.bold('NETWORK PROFILES') +
      style.dim(
        '  configured → measured, on what each group sent (at its receivers) and received; loss before NACK repair',
      ),
    style.dim(
      `  ${pad('profile', 26)}${lpad('bots', 5)}${lpad('loss sent', 16)}${lpad('loss recv', 16)}${lpad('delay→rtt p50', 17)}${lpad('latency p50', 12)}${lpad('jitter p95', 16)}${lpad('kbps/bot sent', 20)}${lpad('freezes', 9)}`,
    ),
  ];
  for (const g of r.netGroups ?? []) {
    const { out: o, in: i } = g.configured;
    const arrow = (conf: string, measured: string) => `${conf} → ${measured}`;
    const rate = o.rateKbps === undefined ? '-' : `≤${o.rateKbps}`;
    const freezes = g.sent.freezeCount;
    out.push(
      `  ${pad(g.profile, 26)}${lpad(String(g.bots.length), 5)}` +
        lpad(arrow(`${o.lossPct}%`, `${num(g.sent.netLossPct)}%`), 16) +
        lpad(arrow(`${i.lossPct}%`, `${num(g.received.netLossPct)}%`), 16) +
        lpad(arrow(`+${o.delayMs + i.delayMs}`, `${num(g.sent.rttP50Ms)} ms`), 17) +
        lpad(`${num(g.sent.latencyP50Ms)} ms`, 12) +
        lpad(arrow(`±${o.jitterMs}`, `${num(g.sent.jitterP95Ms)} ms`), 16) +
        lpad(arrow(rate, `${num(g.sent.kbpsPerBotP50)} (max ${num(g.sent.kbpsPerBotMax)})`), 20) +
        lpad(String(freezes), 9),
    );
    if (g.schedule.includes(';')) out.push(style.dim(`  ${pad('', 26)}over time: ${g.schedule}`));
  }
  for (const g of r.netGroups ?? []) out.push(style.dim(`  ${g.profile}: ${g.bots.join(' ')}`));
  return out;
}

/** Rejoins after the signaling socket dropped, and bots that never came back (each also a failed bot). */
function reconnectsRow(r: RunSummary, style: TextStyle): string {
  const c = r.metrics.counters;
  const lost = c.signal_reconnects_failed;
  const text = `${c.signal_reconnects} rejoined, ${lost} never came back`;
  const note = style.dim('(links kept through the outage)');
  return `  ${pad('signal_reconnects', 22)}${lpad(String(c.signal_reconnects), 7)}  ${lost > 0 ? style.bad(text) : text}  ${note}`;
}

/** One line saying what broke, where, and what it took down. */
export function describeFailure(f: RunFailure): string {
  if (f.component === 'browser')
    return `a browser participant failed: ${f.reason}. It is counted failed; the bots' run carried on.`;
  const what = f.component === 'host' ? `host ${f.host ?? '?'} (worker thread)` : 'the embedded server';
  const bots = f.bots === 0 ? '' : `; its ${f.bots} running bot${f.bots === 1 ? '' : 's'} counted failed`;
  return `${what} failed: ${f.reason}${bots}. The run was stopped early.`;
}

function summarizeSizes(sizes: number[]): string {
  const max = sizes[0] ?? 0;
  const min = sizes.at(-1) ?? 0;
  return max === min ? String(max) : `${min}-${max}`;
}

/** `· shards 0,1,2 of 3`: which generators' parts this summary covers. */
function shardsTitle(r: RunSummary): string {
  const { count, included } = r.run.shards;
  return count === 1 ? '' : ` · shard${included.length === 1 ? '' : 's'} ${included.join(',')} of ${count}`;
}

/** Shards missing from the summary, and shards that began their ramp late. */
function shardNotes(r: RunSummary, style: TextStyle): string[] {
  const { count, included } = r.run.shards;
  const notes: string[] = [];
  if (included.length < count) {
    const missing = Array.from({ length: count }, (_, i) => i).filter((i) => !included.includes(i));
    notes.push(
      style.warn(
        `PARTIAL: shard${missing.length === 1 ? '' : 's'} ${missing.join(',')} of ${count} not included; links to their bots are judged by one end only (merge every part with engage report merge)`,
      ),
    );
  }
  for (const s of r.shards ?? [])
    if (s.lateMs > 0)
      notes.push(
        style.warn(`LATE: shard ${s.shard} began its ramp ${num(s.lateMs / 1000)} s after --start-at`),
      );
  return notes;
}

/** The server's clock minus the generator's: how far apart the shards' own timestamps may be. */
function clockText(s: NonNullable<RunSummary['shards']>[number]): string {
  if (s.clockOffsetMs === undefined) return 'not measured';
  return `${s.clockOffsetMs >= 0 ? '+' : ''}${s.clockOffsetMs} ms ±${s.clockUncertaintyMs ?? '?'}`;
}

/** The per-generator table of a sharded run. */
function shardTable(rows: NonNullable<RunSummary['shards']>, style: TextStyle): string[] {
  const out = [
    style.dim(
      `  ${pad('shard', 7)}${pad('host', 18)}${lpad('bots', 6)}${lpad('joined', 8)}${lpad('CPU avg', 9)}${lpad('max', 7)}${lpad('lag p99', 9)}  ${pad('saturated', 10)}${lpad('offset ms', 10)}${lpad('late ms', 9)}  clock vs server`,
    ),
  ];
  for (const s of rows) {
    out.push(
      `  ${pad(String(s.shard), 7)}${pad(s.host.slice(0, 17), 18)}${lpad(String(s.bots), 6)}${lpad(String(s.joined), 8)}${lpad(`${num(s.cpuAvgPct)}%`, 9)}${lpad(`${num(s.cpuMaxPct)}%`, 7)}${lpad(num(s.loopLagP99Ms), 9)}  ${s.saturated ? style.warn(pad('yes', 10)) : pad('no', 10)}${lpad(String(s.startOffsetMs), 10)}${lpad(String(s.lateMs), 9)}  ${clockText(s)}`,
    );
  }
  return out;
}
