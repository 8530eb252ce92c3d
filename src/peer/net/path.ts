import { type LossModel, lossModel } from './loss.js';
import type { DirectionProfile } from './profile.js';
import type { Random } from './random.js';

/** IPv4 + UDP headers: a rate limit counts what a real link carries, not just the UDP payload. */
export const IP_UDP_OVERHEAD_BYTES = 28;

export const LOST = -1;
export const QUEUE_FULL = -2;

/** What one direction did to the packets offered to it (cumulative). */
export interface PathCounters {
  packets: number;
  bytes: number;
  /** Dropped by random or burst loss. */
  lost: number;
  /** Dropped at the tail of a full rate-limit queue. */
  queueDropped: number;
  /** Queueing delay (waiting for the rate limit) of the packets that got through, summed, ms. */
  queueDelayMs: number;
}

/**
 * The decisions of one direction of a path, without timers: for a packet of `size` bytes offered at
 * `now`, whether it is lost and when it arrives. Loss first (as netem does at enqueue), then the rate
 * limit's queue (a packet leaves once the ones before it are serialised; it is dropped when it would
 * wait more than queueMs), then the one-way delay with jitter. Without `reorder`, arrival times never
 * decrease, so packets keep their order.
 */
export class PathModel {
  private profile!: DirectionProfile;
  private loss!: LossModel;
  /** When the rate-limited link finishes sending what it has accepted. */
  private busyUntil = 0;
  /** The latest arrival time handed out, so that later packets never overtake it. */
  private lastArrival = 0;
  readonly counters: PathCounters = { packets: 0, bytes: 0, lost: 0, queueDropped: 0, queueDelayMs: 0 };

  constructor(
    profile: DirectionProfile,
    private readonly random: Random,
  ) {
    this.setProfile(profile);
  }

  get current(): DirectionProfile {
    return this.profile;
  }

  /** From now on; packets already admitted keep the times they were given. */
  setProfile(profile: DirectionProfile): void {
    if (
      this.profile === undefined ||
      profile.lossPct !== this.profile.lossPct ||
      profile.burst !== this.profile.burst
    ) {
      this.loss = lossModel(profile.lossPct, profile.burst, this.random);
    }
    this.profile = profile;
  }

  /** The arrival time of the packet (≥ now), or LOST / QUEUE_FULL. */
  admit(now: number, size: number): number {
    const p = this.profile;
    this.counters.packets++;
    this.counters.bytes += size;
    if (this.loss.lose()) {
      this.counters.lost++;
      return LOST;
    }
    let t = now;
    if (p.rateBps !== undefined) {
      const start = Math.max(now, this.busyUntil);
      const wait = start - now;
      if (wait > p.queueMs) {
        this.counters.queueDropped++;
        return QUEUE_FULL;
      }
      this.counters.queueDelayMs += wait;
      this.busyUntil = start + ((size + IP_UDP_OVERHEAD_BYTES) * 8 * 1000) / p.rateBps;
      t = this.busyUntil;
    }
    if (p.delayMs > 0 || p.jitterMs > 0) {
      const jitter = p.jitterMs > 0 ? (this.random() * 2 - 1) * p.jitterMs : 0;
      t += Math.max(0, p.delayMs + jitter);
    }
    if (!p.reorder) {
      if (t < this.lastArrival) t = this.lastArrival;
      this.lastArrival = t;
    }
    return t;
  }
}
