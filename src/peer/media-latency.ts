import { wallClockOriginMs } from 'werift';

/** abs-send-time: 6.18 fixed-point seconds in 24 bits, so it wraps every 64 s. */
const UNITS_PER_SECOND = 2 ** 18;
const WRAP = 2 ** 24;
const HALF = 2 ** 23;

/**
 * Wall clock in ms since 1970 with sub-millisecond resolution: the clock werift stamps abs-send-time
 * with (engage's patch makes it a real NTP time). Its origin is calibrated the same way in every process
 * and worker thread (werift's `wallClockOriginMs`, not `performance.timeOrigin`, which each isolate gets
 * wrong by up to its start-up's preemption), so a delay measured across isolates of one machine is never
 * below zero. `now` is a performance.now() reading the caller already has.
 */
export function wallClockMs(now = performance.now()): number {
  return wallClockOriginMs() + now;
}

/**
 * The abs-send-time value of a wall-clock time. NTP counts from 1900, Unix time from 1970: 2,208,988,800 s
 * apart, a multiple of 64 s, so modulo the 64 s wrap the two give the same value.
 */
export function absSendTimeOf(epochMs: number): number {
  return Math.floor((epochMs / 1000) * UNITS_PER_SECOND) % WRAP;
}

/**
 * One-way delay in ms of a packet stamped `stamp` (abs-send-time) and received at `epochMs`, assuming
 * the sender's clock is this one. Between −32 s and +32 s: a negative or huge delay means the clocks
 * differ (another machine, or a sender that stamps with its own monotonic clock, as browsers do).
 */
export function absSendTimeDelayMs(stamp: number, epochMs: number): number {
  let units = (absSendTimeOf(epochMs) - stamp) % WRAP;
  if (units < 0) units += WRAP;
  if (units >= HALF) units -= WRAP;
  return (units * 1000) / UNITS_PER_SECOND;
}

/** Per-packet media latencies of one link, collected between two samples. */
export class LatencyLog {
  private values: number[] = [];
  /** Largest number kept per interval (a minute of a 300-packet/s link); the rest are counted only. */
  static readonly MAX_PER_INTERVAL = 20_000;
  dropped = 0;

  add(ms: number): void {
    if (this.values.length < LatencyLog.MAX_PER_INTERVAL) this.values.push(ms);
    else this.dropped++;
  }

  /** The interval's values, and a fresh interval. */
  drain(): number[] {
    const out = this.values;
    this.values = [];
    this.dropped = 0;
    return out;
  }
}
