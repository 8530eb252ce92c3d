/**
 * When to try the signaling server again after the socket dropped (LiveKit's shape): `attempt` is the
 * number of attempts that already failed in this outage (0 right after the drop), `elapsedMs` the time
 * since the drop. Returns the delay before the next attempt, or null to give up.
 */
export type ReconnectPolicy = (attempt: number, elapsedMs: number) => number | null;

export interface BackoffOptions {
  /** Delay before the second attempt; the first is immediate. Default 250 ms. */
  firstDelayMs?: number;
  /** The delay doubles per attempt up to this. Default 5 s. */
  maxDelayMs?: number;
  /** Give up once the outage has lasted this long. Default 10 minutes. */
  giveUpAfterMs?: number;
  /**
   * Spreads clients that lost the same server apart: each waits between half and all of the nominal
   * delay, the fraction fixed by the seed and the attempt (so the policy stays a pure function).
   * Default: a random seed chosen when the policy is made.
   */
  seed?: string;
}

export const DEFAULT_BACKOFF = { firstDelayMs: 250, maxDelayMs: 5000, giveUpAfterMs: 10 * 60_000 } as const;

/**
 * Exponential backoff with deterministic jitter: 0, then ~250, 500, 1000, 2000, 4000 ms, then every
 * ~5 s, until the outage is 10 minutes old. A restarted server on the same machine is back within a
 * second or two, and a room of bots does not hit it all in the same millisecond.
 */
export function backoffPolicy(opts: BackoffOptions = {}): ReconnectPolicy {
  const first = opts.firstDelayMs ?? DEFAULT_BACKOFF.firstDelayMs;
  const max = opts.maxDelayMs ?? DEFAULT_BACKOFF.maxDelayMs;
  const giveUpAfter = opts.giveUpAfterMs ?? DEFAULT_BACKOFF.giveUpAfterMs;
  const seed = opts.seed ?? Math.random().toString(36).slice(2);
  return (attempt, elapsedMs) => {
    if (elapsedMs >= giveUpAfter) return null;
    if (attempt === 0) return 0;
    const nominal = Math.min(max, first * 2 ** (attempt - 1));
    return Math.round(nominal * (0.5 + 0.5 * unitHash(`${seed}:${attempt}`)));
  };
}

/** Never reconnects: the first drop ends the client. */
export const noReconnect: ReconnectPolicy = () => null;

/** FNV-1a of `text`, mapped to [0, 1). */
function unitHash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) / 2 ** 32;
}
