import type { BotResult, RoomResult } from '../metrics/summary.js';
import { escapeHtml, fmtNum } from './html-format.js';
import { card } from './html-tables.js';

// The HTML report's rankings: the rooms and bots that fared worst.

export function worstRoomsSection(rooms: RoomResult[]): string {
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

export function worstBotsSection(bots: BotResult[]): string {
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
