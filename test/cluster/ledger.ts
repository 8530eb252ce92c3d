import { WebSocket } from 'ws';
import { type Msg, TestClient } from '../helpers/client.js';

/** What became of one message, as its sender saw it. */
export type Outcome =
  /** Its echo came back: the room got it (a room-wide message reaches the sender too). */
  | 'delivered'
  /** `unavailable`, "was not done": it must have reached nobody. */
  | 'refused'
  /** `unavailable`, "not confirmed": it may have reached the room, or not. */
  | 'unconfirmed'
  /** No answer, but the sender was told to rejoin (4503) after it: its place was lost, and it knows. */
  | 'rejoin'
  /** Nothing at all: lost in silence. */
  | 'silent';

interface Sent {
  id: string;
  from: LedgerMember;
  at: number;
}

/** A member of the room that sends numbered room-wide messages and records everything it hears. */
export class LedgerMember {
  private n = 0;
  readonly sent: Sent[] = [];

  constructor(
    readonly name: string,
    readonly client: TestClient,
  ) {}

  get open(): boolean {
    return this.client.ws.readyState === WebSocket.OPEN;
  }

  /** Sends the next message, unless its socket is no longer open (then nothing was sent). */
  send(ledger: Ledger): void {
    if (!this.open) return;
    const id = `${this.name}.${this.n++}`;
    // The id is the action, so an error's `ref` names the very message it refuses.
    this.client.say(this.name, `m-${id}`, {});
    const sent = { id, from: this, at: Date.now() };
    this.sent.push(sent);
    ledger.all.push(sent);
  }

  heard(id: string): boolean {
    return this.client.messages.some((m) => m.action === `m-${id}`);
  }

  errorFor(id: string): Msg | undefined {
    return this.client.messages.find((m) => m.action === 'error' && m.keyword.ref === `m-${id}`);
  }

  get toldToRejoin(): boolean {
    return this.client.messages.some((m) => m.action === 'error' && m.keyword.code === 'rejoin');
  }
}

/**
 * Counts every message sent to a room and checks each was delivered or refused with a reason: the
 * "nothing lost in silence" promise of docs/protocol.md, checked from the clients' side only.
 */
export class Ledger {
  readonly all: Sent[] = [];

  outcome(sent: Sent): Outcome {
    const { from, id } = sent;
    if (from.heard(id)) return 'delivered';
    const err = from.errorFor(id);
    if (err?.keyword.code === 'unavailable') {
      return /not confirmed/.test(String(err.keyword.message)) ? 'unconfirmed' : 'refused';
    }
    if (from.toldToRejoin) return 'rejoin';
    return 'silent';
  }

  /**
   * Every outcome counted, and what breaks the promise: a message nobody answered for, a refused one that
   * reached someone anyway, a delivered one that a member still in the room did not get.
   */
  verdict(members: LedgerMember[]): { counts: Record<Outcome, number>; violations: string[] } {
    const counts: Record<Outcome, number> = {
      delivered: 0,
      refused: 0,
      unconfirmed: 0,
      rejoin: 0,
      silent: 0,
    };
    const violations: string[] = [];
    for (const sent of this.all) {
      const outcome = this.outcome(sent);
      counts[outcome]++;
      const others = members.filter((m) => m !== sent.from);
      if (outcome === 'silent') violations.push(`${sent.id}: no echo, no error`);
      if (outcome === 'refused' && others.some((m) => m.heard(sent.id)))
        violations.push(`${sent.id}: refused as not done, yet delivered`);
      if (outcome === 'delivered') {
        for (const m of others) {
          if (!m.heard(sent.id) && !m.toldToRejoin)
            violations.push(`${sent.id}: delivered, but not to ${m.name}`);
        }
      }
    }
    // In order: each member hears each sender's messages in the order they were sent.
    for (const m of members) {
      const last = new Map<string, number>();
      for (const msg of m.client.messages) {
        const found = /^m-(.+)\.(\d+)$/.exec(msg.action);
        if (!found) continue;
        const [, from, n] = found as unknown as [string, string, string];
        if ((last.get(from) ?? -1) >= Number(n)) violations.push(`${m.name} heard ${from}.${n} out of order`);
        last.set(from, Number(n));
      }
    }
    return { counts, violations };
  }
}

export async function ledgerMember(url: string, room: string, name: string): Promise<LedgerMember> {
  const client = await TestClient.connect(url, room);
  client.say(name, 'new-join');
  await client.next((m) => m.action === 'new-join' && m.peer === name, 5000);
  return new LedgerMember(name, client);
}
