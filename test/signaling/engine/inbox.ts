import { randomBytes } from 'node:crypto';
import type { Delivery, Relay, Resync, RoomEngine } from '../../../src/signaling/engine/engine.js';

export function channelId(): string {
  return `specific.test!${randomBytes(9).toString('base64url')}`;
}

/** A test's frame as a relay: a custom action, counted as `other` like any the server does not know. */
export function relay(frame: string): Relay {
  return { action: 'other', frame };
}

export interface Received {
  delivery: Delivery;
  /** The frame, or `left:<name>` for a departure. */
  text: string;
}

/**
 * Everything one engine instance delivered, by local channel; waits take a timeout that names what was
 * awaited, so a failure says which message never came.
 */
export class Inbox {
  readonly byChannel = new Map<string, Received[]>();
  readonly resyncs: Resync[] = [];
  private waiters = new Set<() => void>();

  constructor(readonly engine: RoomEngine) {
    engine.on('delivery', (delivery) => {
      const text =
        delivery.event.kind === 'frame' ? delivery.event.frame : `left:${delivery.event.member.name}`;
      for (const channel of delivery.to) {
        let list = this.byChannel.get(channel);
        if (!list) {
          list = [];
          this.byChannel.set(channel, list);
        }
        list.push({ delivery, text });
      }
      this.wake();
    });
    engine.on('resync', (resync) => {
      this.resyncs.push(resync);
      this.wake();
    });
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }

  texts(channel: string): string[] {
    return (this.byChannel.get(channel) ?? []).map((r) => r.text);
  }

  /** Resolves once `check()` is true, re-checked after every delivery. */
  until(check: () => boolean, what: string, ms = 10_000): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`timed out after ${ms} ms waiting for ${what}`));
      }, ms);
      const waiter = () => {
        if (!check()) return;
        clearTimeout(timer);
        this.waiters.delete(waiter);
        resolve();
      };
      this.waiters.add(waiter);
    });
  }

  async received(channel: string, text: string, ms?: number): Promise<void> {
    await this.until(() => this.texts(channel).includes(text), `${channel} to receive ${text}`, ms);
  }
}

let barriers = 0;

/**
 * Broadcasts a marker from `from` and waits until every listed channel has it. A room's events are in one
 * order on every instance, so whatever was delivered before the marker has landed by then: a test can
 * check that something did NOT arrive without sleeping.
 */
export async function barrier(
  from: { engine: RoomEngine; room: string; channel: string },
  listeners: Array<{ inbox: Inbox; channel: string }>,
): Promise<void> {
  const marker = `barrier:${++barriers}`;
  const sent = await from.engine.broadcast(from.room, from.channel, relay(marker));
  if (!sent.ok) throw new Error(`barrier broadcast refused: ${sent.reason}`);
  await Promise.all(listeners.map(({ inbox, channel }) => inbox.received(channel, marker)));
}
