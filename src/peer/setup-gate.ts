/**
 * Limits how many links of this thread are setting up at once (offer made, not yet connected or failed).
 * A burst of DTLS handshakes — a newcomer in a room of 19 starts 19 at once, and its members 19 more —
 * stalls the event loop long enough for ICE checks to time out; queued offers connect sooner in total.
 * Only offerers wait: an answerer never does, so two links can never wait on each other.
 */
export class SetupGate {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(public limit: number) {}

  /** Resolves with a release function (idempotent) once a slot is free. */
  async acquire(): Promise<() => void> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.active++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.active--;
      this.waiting.shift()?.();
    };
  }

  get inUse(): number {
    return this.active;
  }

  get queued(): number {
    return this.waiting.length;
  }
}

/**
 * The gate of this thread (each worker thread has its own). 16, measured (issue 14): with 6, a 30-bot room
 * took 31 s or more to form its 435 links (setups drained at ~14 links/s, so links were still missing when the
 * bots left) and newcomers of a 20-bot room waited 2.1 s (join_mesh_ms p95); with 16 the 30-bot mesh formed in
 * 18 s and join_mesh_ms p95 of the 20-bot run was 1.2 s. Without a limit the 30-bot mesh formed in 13 s, but
 * the 20-bot run's handshake burst cost it more CPU (150% against 120%) and its newcomers waited longer (2.4 s).
 */
export const setupGate = new SetupGate(16);
