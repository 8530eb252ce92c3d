interface Entry {
  due: number;
  /** Arrival order, so packets due at the same time leave in the order they came. */
  seq: number;
  deliver: () => void;
}

/**
 * Holds packets until their arrival time and then hands them on, with one timer for the whole line (the
 * earliest packet's), not one per packet. A min-heap on (due, order): with the path's no-reordering rule
 * the dues never decrease and the heap degenerates to a queue.
 */
export class DelayLine {
  private readonly heap: Entry[] = [];
  private seq = 0;
  private timer: NodeJS.Timeout | undefined;
  private timerDue = Number.POSITIVE_INFINITY;
  private closed = false;
  /** Deliveries that threw (a socket closed under a late packet): counted, never thrown into a timer. */
  deliveryErrors = 0;

  constructor(private readonly now: () => number = () => performance.now()) {}

  get size(): number {
    return this.heap.length;
  }

  /** Calls `deliver` at `due` (performance.now() time), or at once when it is due and nothing waits. */
  push(due: number, deliver: () => void): void {
    if (this.closed) return;
    if (this.heap.length === 0 && due <= this.now()) {
      this.run(deliver);
      return;
    }
    this.insert({ due, seq: this.seq++, deliver });
    if (due < this.timerDue) this.arm(due);
  }

  /** Drops every waiting packet; later pushes are ignored. Idempotent. */
  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.heap.length = 0;
  }

  private arm(due: number): void {
    clearTimeout(this.timer);
    this.timerDue = due;
    // Whole milliseconds, rounded up: a packet is never handed on before its time.
    this.timer = setTimeout(this.flush, Math.max(1, Math.ceil(due - this.now())));
    this.timer.unref();
  }

  private readonly flush = (): void => {
    this.timer = undefined;
    this.timerDue = Number.POSITIVE_INFINITY;
    const now = this.now();
    while (this.heap.length > 0 && this.heap[0]!.due <= now) this.run(this.pop().deliver);
    if (this.heap.length > 0 && !this.closed) this.arm(this.heap[0]!.due);
  };

  private run(deliver: () => void): void {
    try {
      deliver();
    } catch {
      this.deliveryErrors++;
    }
  }

  private insert(e: Entry): void {
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(e, h[parent]!)) break;
      h[i] = h[parent]!;
      i = parent;
    }
    h[i] = e;
  }

  private pop(): Entry {
    const h = this.heap;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= h.length) break;
        const r = l + 1;
        const child = r < h.length && before(h[r]!, h[l]!) ? r : l;
        if (!before(h[child]!, last)) break;
        h[i] = h[child]!;
        i = child;
      }
      h[i] = last;
    }
    return top;
  }
}

function before(a: Entry, b: Entry): boolean {
  return a.due < b.due || (a.due === b.due && a.seq < b.seq);
}
