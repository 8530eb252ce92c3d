import type { Delivery, Resync } from './engine.js';
import type { RoomEntry } from './redis-entry.js';

/** What the stream held after a point: the room's current epoch and last seq, and the entries after it. */
export type Tail = { kind: 'none' } | { kind: 'ok'; epoch: string; seq: number; entries: RoomEntry[] };

export interface FeedIo {
  /** Reads the stream after `seq` of `epoch` (from the start when the room's epoch is another one). */
  tail(room: string, epoch: string | null, seq: number): Promise<Tail>;
  deliver(delivery: Delivery): void;
  resync(resync: Resync): void;
  /** A gap was noticed (`detected`), filled from the stream (`filled`), or could not be (`lost`). */
  gap(outcome: 'detected' | 'filled' | 'lost'): void;
  /** Catch-up failed (the shared state went away); the engine retries every room when it recovers. */
  failed(room: string, err: unknown): void;
}

export interface LocalChannel {
  /** The epoch it belongs to: the room's at open, or its claim's. Null before the room has any state. */
  epoch: string | null;
  /** It hears events of its epoch with a greater seq. */
  since: number;
  /** Told to rejoin: hears nothing more. */
  resyncing: boolean;
  /** A claim was sent for it, so leaving must release it in the shared state. */
  mayBeMember: boolean;
}

/**
 * One room as one instance follows it: its local channels and a cursor (epoch, seq) over the room's
 * events. Live events arrive in order or a gap shows; a gap is filled from the room's stream, and what
 * the stream no longer holds makes the affected channels rejoin. Nothing is buffered: during a catch-up
 * live events are dropped and read back from the stream, which has them.
 */
export class RoomFeed {
  readonly channels = new Map<string, LocalChannel>();
  epoch: string | null = null;
  seq = 0;
  private started = false;
  private catching: Promise<void> | undefined;
  /** The newest live event that arrived while the cursor was unknown or catching up. */
  private missed: { epoch: string; seq: number } | undefined;

  constructor(
    readonly room: string,
    private readonly io: FeedIo,
  ) {}

  /** Sets the cursor once the subscription is live (events after it are ours). */
  start(epoch: string | null, seq: number): void {
    this.epoch = epoch;
    this.seq = seq;
    this.started = true;
    if (this.missed) this.catchUp();
  }

  get isStarted(): boolean {
    return this.started;
  }

  addChannel(channel: string): void {
    this.channels.set(channel, { epoch: this.epoch, since: this.seq, resyncing: false, mayBeMember: false });
  }

  /** A local channel's claim succeeded at (epoch, seq) of the room. */
  claimed(channel: string, epoch: string, seq: number): void {
    const ch = this.channels.get(channel);
    if (ch && ch.epoch !== epoch) {
      ch.epoch = epoch;
      ch.since = seq;
    }
    // The room was recreated under us (Redis restarted empty, or it expired): catch up to the new epoch.
    if (this.started && this.epoch !== epoch) this.catchUp();
  }

  /** An event from pub/sub. */
  live(entry: RoomEntry): void {
    if (!this.started || this.catching) {
      if (!this.missed || entry.epoch !== this.missed.epoch || entry.seq > this.missed.seq) {
        this.missed = { epoch: entry.epoch, seq: entry.seq };
      }
      return;
    }
    if (entry.epoch !== this.epoch) {
      this.missed = { epoch: entry.epoch, seq: entry.seq };
      this.catchUp();
      return;
    }
    if (entry.seq <= this.seq) return;
    if (entry.seq > this.seq + 1) {
      this.io.gap('detected');
      this.missed = { epoch: entry.epoch, seq: entry.seq };
      this.catchUp();
      return;
    }
    this.apply(entry, false);
  }

  /** Reads the stream from the cursor on; one loop at a time. Resolves when caught up or failed. */
  catchUp(): Promise<void> {
    if (!this.started) return Promise.resolve();
    this.catching ??= this.readStream()
      .catch((err) => this.io.failed(this.room, err))
      .finally(() => {
        this.catching = undefined;
      });
    return this.catching;
  }

  /** Makes every channel that does not belong to `keepEpoch` rejoin. */
  resync(reason: Resync['reason'], keepEpoch?: string | null): void {
    const channels: string[] = [];
    for (const [c, ch] of this.channels) {
      if (ch.resyncing || (keepEpoch !== undefined && ch.epoch === keepEpoch)) continue;
      ch.resyncing = true;
      channels.push(c);
    }
    if (channels.length > 0) this.io.resync({ room: this.room, channels, reason });
  }

  private async readStream(): Promise<void> {
    for (;;) {
      // The read covers every event published before it; only those arriving during it may need another.
      this.missed = undefined;
      const tail = await this.io.tail(this.room, this.epoch, this.seq);
      if (tail.kind === 'none') {
        // The room has no state at all: whoever belonged to the old epoch has lost it.
        if (this.epoch !== null) this.resync('reset', null);
        this.epoch = null;
        this.seq = 0;
      } else {
        if (tail.epoch !== this.epoch) {
          if (this.epoch !== null) this.resync('reset', tail.epoch);
          this.epoch = tail.epoch;
          this.seq = 0;
        }
        this.applyTail(tail);
        if (this.seq < tail.seq) continue; // more than one batch behind
      }
      const during = this.missed as { epoch: string; seq: number } | undefined;
      if (during && (during.epoch !== this.epoch || during.seq > this.seq)) continue;
      return;
    }
  }

  private applyTail(tail: Extract<Tail, { kind: 'ok' }>): void {
    let filled = 0;
    for (const entry of tail.entries) {
      if (entry.epoch !== this.epoch || entry.seq <= this.seq) continue;
      if (entry.seq !== this.seq + 1) break;
      this.apply(entry, true);
      filled++;
    }
    if (filled > 0) this.io.gap('filled');
    if (this.seq < tail.seq && (tail.entries.length === 0 || filled === 0)) {
      // The stream was trimmed past our cursor (or expired): those events are gone for good.
      this.io.gap('lost');
      this.resync('gap');
      this.seq = tail.seq;
    }
  }

  private apply(entry: RoomEntry, replayed: boolean): void {
    this.seq = entry.seq;
    const to = this.recipients(entry);
    if (to.length > 0) this.io.deliver({ room: this.room, seq: entry.seq, to, event: entry.event, replayed });
  }

  private recipients(entry: RoomEntry): string[] {
    const out: string[] = [];
    const except = entry.event.kind === 'left' ? entry.event.member.channel : undefined;
    const accepts = (channel: string, ch: LocalChannel) =>
      !ch.resyncing &&
      channel !== except &&
      (ch.epoch === entry.epoch ? entry.seq > ch.since : ch.epoch === null);
    if (entry.to === '*') {
      for (const [channel, ch] of this.channels) if (accepts(channel, ch)) out.push(channel);
    } else {
      for (const channel of entry.to) {
        const ch = this.channels.get(channel);
        if (ch && accepts(channel, ch)) out.push(channel);
      }
    }
    return out;
  }
}
