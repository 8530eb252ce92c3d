import type { BotResult, RoomResult } from './summary.js';

/** One bot as its own generator saw it: what a report carries so links can be judged from both ends. */
export interface BotRecord {
  bot: string;
  room: string;
  state: BotResult['state'];
  error?: string;
  meshReadyMs?: number;
  /** Its join_mesh_ms: absent for the first in its room, and until its links to earlier members connected. */
  joinMeshMs?: number;
  /** It joined at some point (it may have failed or left since). */
  joined: boolean;
  /** Remotes its link ever reached connected with, by its own account. */
  connected: string[];
  /** Remotes whose link with it failed, by its own account. */
  failed: string[];
  lossSum: number;
  lossCount: number;
  /** Lowest received fps over its link samples; absent without samples. */
  minFps?: number;
  /** Its --net profile group, as written; absent without --net. */
  net?: string;
}

export interface LinkJudgement {
  expected: number;
  connected: number;
  failed: number;
  rooms: RoomResult[];
}

/**
 * Judges every planned pair from the ends whose records are present: a pair is expected when at least
 * one of its bots is; it is connected when every present end says its link to the other connected, so
 * a pair between bots of two generators is connected only if both say so; and it failed when its
 * present ends all joined and either it never connected or an end saw it fail. An absent end (its
 * generator's report is not among those merged) neither confirms nor contradicts.
 */
export function judgeLinks(
  plannedRooms: Map<string, string[]>,
  records: Map<string, BotRecord>,
): LinkJudgement {
  let expected = 0;
  let connected = 0;
  let failed = 0;
  const rooms: RoomResult[] = [];
  for (const [room, members] of plannedRooms) {
    const present = members.filter((m) => records.has(m));
    if (present.length === 0) continue;
    const row = {
      expected: 0,
      connected: 0,
      failed: 0,
      lossSum: 0,
      lossCount: 0,
      minFps: Number.POSITIVE_INFINITY,
    };
    const connectedTo = new Map(present.map((m) => [m, new Set(records.get(m)!.connected)]));
    const failedWith = new Map(present.map((m) => [m, new Set(records.get(m)!.failed)]));
    for (let i = 0; i < members.length; i++) {
      for (let j = i + 1; j < members.length; j++) {
        const ends = [members[i]!, members[j]!];
        const seen = ends.filter((e) => records.has(e));
        if (seen.length === 0) continue;
        row.expected++;
        const other = (e: string) => (e === ends[0] ? ends[1]! : ends[0]!);
        const isConnected = seen.every((e) => connectedTo.get(e)!.has(other(e)));
        const judged = seen.every((e) => records.get(e)!.joined);
        if (isConnected) row.connected++;
        if (judged && (!isConnected || seen.some((e) => failedWith.get(e)!.has(other(e))))) row.failed++;
      }
    }
    let joined = 0;
    for (const m of present) {
      const r = records.get(m)!;
      if (r.joined) joined++;
      row.lossSum += r.lossSum;
      row.lossCount += r.lossCount;
      if (r.minFps !== undefined) row.minFps = Math.min(row.minFps, r.minFps);
    }
    expected += row.expected;
    connected += row.connected;
    failed += row.failed;
    rooms.push({
      room,
      bots: joined,
      linksExpected: row.expected,
      linksConnected: row.connected,
      linksFailed: row.failed,
      lossPct: row.lossCount === 0 ? 0 : Math.round((row.lossSum / row.lossCount) * 10) / 10,
      minVideoFps: Number.isFinite(row.minFps) ? row.minFps : 0,
    });
  }
  return { expected, connected, failed, rooms };
}

/** The rooms that did worst: fewest links connected, then most loss, then lowest fps. */
export function worstRooms(rooms: RoomResult[], limit = 5): RoomResult[] {
  const score = (r: RoomResult) => (r.linksExpected === 0 ? 1 : r.linksConnected / r.linksExpected);
  return [...rooms]
    .sort((a, b) => score(a) - score(b) || b.lossPct - a.lossPct || a.minVideoFps - b.minVideoFps)
    .slice(0, limit);
}

/** The bots that did worst: failed, never started, then most links missing, slowest mesh, most loss. */
export function worstBots(
  records: Iterable<BotRecord>,
  roomSize: (room: string) => number,
  limit = 5,
): BotResult[] {
  const rows: BotResult[] = [...records].map((b) => ({
    bot: b.bot,
    room: b.room,
    state: b.state,
    ...(b.error === undefined ? {} : { error: b.error }),
    ...(b.meshReadyMs === undefined ? {} : { meshReadyMs: Math.round(b.meshReadyMs) }),
    ...(b.joinMeshMs === undefined ? {} : { joinMeshMs: Math.round(b.joinMeshMs) }),
    linksConnected: b.connected.length,
    linksExpected: roomSize(b.room) - 1,
    lossPct: b.lossCount === 0 ? 0 : Math.round((b.lossSum / b.lossCount) * 10) / 10,
    ...(b.net === undefined ? {} : { net: b.net }),
  }));
  const rank = (r: BotResult) => (r.state === 'failed' ? 0 : r.state === 'never-started' ? 1 : 2);
  return rows
    .sort(
      (a, b) =>
        rank(a) - rank(b) ||
        b.linksExpected - b.linksConnected - (a.linksExpected - a.linksConnected) ||
        (b.meshReadyMs ?? Number.POSITIVE_INFINITY) - (a.meshReadyMs ?? Number.POSITIVE_INFINITY) ||
        b.lossPct - a.lossPct,
    )
    .slice(0, limit);
}
