import type { BotSpec, Post } from '../execute/messages.js';

/** The events every load bot reports about itself, tagged with its name and room. */
export function botReporter(spec: BotSpec, post: Post) {
  const tags = { bot: spec.name, room: spec.room };
  return {
    tags,
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
