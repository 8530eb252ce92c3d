import { EngineUnavailableError } from '../../../src/signaling/engine/engine.js';
import type { Seat } from './conformance.js';
import { relay } from './inbox.js';

export type Outcome =
  | { kind: 'pending' }
  | { kind: 'ok' }
  /**
   * Refused with a reason the sender's client would hear: `unavailable` (and why), or a refusal code.
   * `maybeDone`: sent but not confirmed, so it may have been delivered after all.
   */
  | { kind: 'refused'; reason: string; maybeDone: boolean };

/**
 * Sends numbered direct messages from one seat to another at a steady pace, without waiting for each, and
 * keeps every outcome; `account` then sorts every message into delivered, refused, or neither.
 */
export class Traffic {
  readonly outcomes: Outcome[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly inflight = new Set<Promise<void>>();

  constructor(
    readonly from: Seat,
    readonly to: Seat,
    readonly tag: string,
  ) {}

  start(intervalMs = 10): void {
    this.timer = setInterval(() => this.sendOne(), intervalMs);
  }

  private sendOne(): void {
    const i = this.outcomes.length;
    this.outcomes.push({ kind: 'pending' });
    const p = this.from.engine
      .sendTo(this.from.room, this.from.channel, this.to.channel, relay(`${this.tag}:${i}`))
      .then(
        (r) => {
          this.outcomes[i] = r.ok ? { kind: 'ok' } : { kind: 'refused', reason: r.reason, maybeDone: false };
        },
        (err) => {
          if (!(err instanceof EngineUnavailableError)) throw err;
          this.outcomes[i] = {
            kind: 'refused',
            reason: `unavailable/${err.reason}`,
            maybeDone: err.maybeDone,
          };
        },
      )
      .finally(() => this.inflight.delete(p));
    this.inflight.add(p);
  }

  /** Stops sending and waits for every outcome. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await Promise.all([...this.inflight]);
  }

  /**
   * Every message: delivered (and how often), refused (with why), both (refused as "not confirmed" yet
   * delivered), or lost: accepted yet never delivered, with the recipient never told to rejoin. A refusal
   * that said "nothing was done" and was delivered anyway would be a lie: `falseRefusals`.
   */
  account(delivered: string[], recipientResynced: boolean) {
    const seen = new Map<number, number>();
    const order: number[] = [];
    for (const text of delivered) {
      if (!text.startsWith(`${this.tag}:`)) continue;
      const i = Number(text.slice(this.tag.length + 1));
      seen.set(i, (seen.get(i) ?? 0) + 1);
      order.push(i);
    }
    const reasons: Record<string, number> = {};
    let ok = 0;
    let refused = 0;
    let refusedYetDelivered = 0;
    let notConfirmed = 0;
    let falseRefusals = 0;
    let lost = 0;
    let pending = 0;
    this.outcomes.forEach((o, i) => {
      const got = seen.has(i);
      if (o.kind === 'pending') pending++;
      else if (o.kind === 'ok') {
        ok++;
        if (!got && !recipientResynced) lost++;
      } else {
        refused++;
        reasons[o.reason] = (reasons[o.reason] ?? 0) + 1;
        if (o.maybeDone) notConfirmed++;
        if (got) refusedYetDelivered++;
        if (got && !o.maybeDone) falseRefusals++;
      }
    });
    const duplicates = [...seen.values()].filter((n) => n > 1).length;
    const inOrder = order.every((v, k) => k === 0 || v > order[k - 1]!);
    return {
      sent: this.outcomes.length,
      ok,
      delivered: seen.size,
      refused,
      reasons,
      notConfirmed,
      refusedYetDelivered,
      falseRefusals,
      lost,
      pending,
      duplicates,
      inOrder,
    };
  }
}
