import { TREND_GROUPS } from '../metrics/catalogue.js';
import type { RunSummary } from '../metrics/summary.js';
import { escapeHtml, fmtNum, pct } from './html-format.js';
import { card, counterRow, countsTable, kvTable, trendTable } from './html-tables.js';

// The HTML report's cards of what the bots measured: signaling, connectivity, media, network profiles, chat.

export function signalingSection(s: RunSummary): string {
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

export function connectivitySection(s: RunSummary): string {
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

export function mediaSection(s: RunSummary): string {
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
export function netGroupsSection(s: RunSummary): string {
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

export function chatSection(s: RunSummary): string {
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
