/**
 * `join_mesh_ms` of one bot: from its join to the moment its links with every member already in the
 * room when it joined are connected — the wait a newcomer has before it sees everyone who was there.
 * `mesh_ready_ms` also waits for the members who join after it, which the ramp alone makes long.
 *
 * Roles are fixed by the protocol (docs/protocol.md): members already in the room offer to a newcomer,
 * and the newcomer offers to those who come later. So a member that offered first was present; the bot
 * knows it has heard from all of them once it holds a link to every expected member, and the wait is
 * then read off the timestamps. A bot that found its room empty has no such wait and gives no sample.
 */
export class JoinMeshTimer {
  /** Each member's role as its first link decided it, and when a link to it first connected. */
  private readonly members = new Map<string, { present: boolean; connectedAt?: number }>();
  private timed = false;

  constructor(
    private readonly joinedAt: number,
    private readonly expectedPeers: number,
  ) {}

  /** A link to `remote` exists; `present` when the remote offered it (it was in the room first). */
  linked(remote: string, present: boolean): void {
    if (!this.members.has(remote)) this.members.set(remote, { present });
  }

  /** A link to `remote` reached connected at `at` (performance.now()). */
  connected(remote: string, at: number): void {
    const member = this.members.get(remote);
    if (member && member.connectedAt === undefined) member.connectedAt = at;
  }

  /**
   * The wait, once it is known, and only once: undefined before every expected member has a link and
   * every present one has connected, after it was taken, and always for a bot that found the room empty.
   */
  take(): number | undefined {
    if (this.timed || this.members.size < this.expectedPeers) return undefined;
    let last: number | undefined;
    for (const m of this.members.values()) {
      if (!m.present) continue;
      if (m.connectedAt === undefined) return undefined;
      last = Math.max(last ?? m.connectedAt, m.connectedAt);
    }
    this.timed = true;
    return last === undefined ? undefined : last - this.joinedAt;
  }
}
