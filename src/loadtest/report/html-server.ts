import type { InstanceSummary, RunSummary } from '../metrics/summary.js';
import { escapeHtml, fmtNum, withUnit } from './html-format.js';
import { card, countsTable, kvTable } from './html-tables.js';

// The HTML report's cards of the server under test: its own metrics, and each instance of a multi-instance run.

export function serverSection(s: RunSummary): string {
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
