/** How many sequence numbers behind the highest a late packet (a retransmission) is still placed. */
const WINDOW = 4096;
const MASK = WINDOW - 1;

/** Counts of one RTP stream's sequence numbers, cumulative since its first packet. */
export interface SequenceCounts {
  /** Highest extended sequence number − first + 1: the packets the sender has sent so far. */
  expected: number;
  /** Distinct packets received (a retransmission of a packet already here counts once). */
  received: number;
  /**
   * Packets missing when a later one arrived: the network's loss before any repair (the shaper keeps
   * packets in order unless told to reorder, so a gap is a loss).
   */
  missedFirst: number;
  /** Of those, packets that arrived later all the same: NACK retransmissions (or reordering). */
  recovered: number;
  duplicates: number;
}

/**
 * Extends 16-bit RTP sequence numbers and keeps a window of which arrived, so loss can be told apart
 * before repair (gaps) and after it (never arrived). werift's own packetsLost counts every copy of a
 * retransmitted packet as received, which hides loss behind duplicate retransmissions.
 */
export class SequenceTracker {
  private first = -1;
  private highest = -1;
  private readonly seen = new Uint8Array(WINDOW);
  readonly counts: SequenceCounts = { expected: 0, received: 0, missedFirst: 0, recovered: 0, duplicates: 0 };

  /**
   * Records a packet; returns its extended sequence number, or -1 for a packet too old to place (from
   * before the first packet, or more than the window behind).
   */
  add(seq: number): number {
    const c = this.counts;
    if (this.first < 0) {
      this.first = this.highest = seq;
      this.seen[seq & MASK] = 1;
      c.expected = c.received = 1;
      return seq;
    }
    // The extension nearest the highest so far: a jump of less than half the number space either way.
    const delta = (((seq - (this.highest & 0xffff)) << 16) >> 16) as number;
    const ext = this.highest + delta;
    if (delta > 0) {
      const gap = delta - 1;
      if (gap >= WINDOW) this.seen.fill(0);
      else for (let s = this.highest + 1; s < ext; s++) this.seen[s & MASK] = 0;
      c.missedFirst += gap;
      this.highest = ext;
      this.seen[ext & MASK] = 1;
      c.received++;
      c.expected = ext - this.first + 1;
      return ext;
    }
    if (ext < this.first || ext <= this.highest - WINDOW) return -1;
    if (this.seen[ext & MASK]) {
      c.duplicates++;
      return ext;
    }
    this.seen[ext & MASK] = 1;
    c.received++;
    c.recovered++;
    return ext;
  }
}
