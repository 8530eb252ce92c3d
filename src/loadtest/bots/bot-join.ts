import type { BotSpec, Post } from '../execute/messages.js';

export type BotReport = ReturnType<typeof botReporter>;

/** The events every load bot reports about itself, tagged with its name and room. */
export function botReporter(spec: BotSpec, post: Post) {
  const tags = { bot: spec.name, room: spec.room };
  return {
    tags,
    post,
    failed(error: string): void {
      post({ type: 'count', metric: 'bots_failed', n: 1, ...tags });
      post({ type: 'bot', state: 'failed', error, ...tags });
    },
    /**
     * Counts the start, times `connect` as ws_connect_ms and reports joined or failed. Resolves with what
     * `connect` made and when it finished, or undefined when it failed.
     */
    async join<T>(connect: () => Promise<T>): Promise<{ value: T; joinedAt: number } | undefined> {
      post({ type: 'count', metric: 'bots_started', n: 1, ...tags });
      const t0 = performance.now();
      let value: T;
      try {
        value = await connect();
      } catch (err) {
        this.failed((err as Error).message);
        return undefined;
      }
      const joinedAt = performance.now();
      post({ type: 'trend', metric: 'ws_connect_ms', value: joinedAt - t0, ...tags });
      post({ type: 'count', metric: 'bots_joined', n: 1, ...tags });
      post({ type: 'bot', state: 'joined', ...tags });
      return { value, joinedAt };
    },
  };
}

/**
 * A load bot's signaling outages, as the run counts them: a rejoin is one `signal_reconnects` and one
 * `reconnect_ms` sample (drop to back in the room); signaling lost for good while the bot meant to stay
 * (the policy gave up, the server refused the rejoin, or the run ended mid-outage) is one
 * `signal_reconnects_failed` and a failed bot with the reason.
 */
export class ReconnectReport {
  private down: { since: number; attempts: number; reason: string } | undefined;
  private lost = false;

  constructor(private readonly report: BotReport) {}

  /** The socket dropped, or an attempt of this outage failed. */
  reconnecting(attempt: number, reason: string): void {
    this.down ??= { since: performance.now(), attempts: 0, reason };
    this.down.attempts = attempt;
    this.down.reason = reason;
  }

  /** Back in the room `outageMs` after the drop (the signaling client's own measure). */
  reconnected(outageMs: number): void {
    this.down = undefined;
    const { post, tags } = this.report;
    post({ type: 'count', metric: 'signal_reconnects', n: 1, ...tags });
    post({ type: 'trend', metric: 'reconnect_ms', value: outageMs, ...tags });
  }

  /** Signaling ended for good while the bot was running. */
  gaveUp(code: number, reason: string): void {
    this.fail(`signaling lost for good: ${code} ${reason}`);
  }

  /** The run is over: a bot still reconnecting never made it back, and the run must say so. */
  ended(): void {
    const down = this.down;
    if (!down) return;
    const seconds = Math.round((performance.now() - down.since) / 100) / 10;
    this.fail(
      `signaling still down when the run ended: reconnecting for ${seconds} s, ${down.attempts} attempt(s) (last: ${down.reason})`,
    );
  }

  private fail(error: string): void {
    if (this.lost) return;
    this.lost = true;
    this.down = undefined;
    const { post, tags } = this.report;
    post({ type: 'count', metric: 'signal_reconnects_failed', n: 1, ...tags });
    this.report.failed(error);
  }
}
