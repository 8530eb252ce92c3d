/** How far the signaling server's clock is ahead of this machine's, and within how much. */
export interface ClockOffset {
  offsetMs: number;
  uncertaintyMs: number;
}

/** Longest the measurement may take: it runs while workers load, so it costs the run nothing. */
const BUDGET_MS = 2500;

/**
 * Measures this generator's clock against the server's, from the HTTP `Date` header its every
 * response carries: the header has a resolution of one second, so requests go back to back until it
 * ticks over; the server's clock reached that whole second between the two requests, which brackets the
 * offset to about one round trip (htpdate's method). Shards measured against one server can so be
 * compared with each other. A busy server ticks its cached Date late (Node refreshes it on a timer),
 * so the offset reads low by up to the server's event-loop lag. Undefined when the server sends no
 * Date or does not answer in time.
 */
export async function measureClockOffset(url: string, signal: AbortSignal): Promise<ClockOffset | undefined> {
  const target = new URL('/healthz', url.replace(/^ws/, 'http'));
  const deadline = Date.now() + BUDGET_MS;
  let previous: { before: number; second: number } | undefined;
  try {
    while (Date.now() < deadline && !signal.aborted) {
      const before = Date.now();
      const res = await fetch(target, { signal: AbortSignal.any([signal, AbortSignal.timeout(1000)]) });
      await res.arrayBuffer();
      const after = Date.now();
      const date = Date.parse(res.headers.get('date') ?? '');
      if (!Number.isFinite(date)) return undefined;
      if (previous && date > previous.second) {
        // The server's clock read `date` at some local moment between previous.before and after.
        const mid = (previous.before + after) / 2;
        return { offsetMs: Math.round(date - mid), uncertaintyMs: Math.ceil((after - previous.before) / 2) };
      }
      previous = { before, second: date };
    }
  } catch {
    // No answer: the offset stays unknown, which the per-shard table says.
  }
  return undefined;
}
