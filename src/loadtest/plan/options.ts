import { UsageError } from '../../util/errors.js';
import type { Logger } from '../../util/log.js';

export interface LoadtestOptions {
  bots: number;
  rooms: number;
  /** Target server; undefined starts `engage serve` in a child process on a free loopback port. */
  url?: string;
  durationMs: number;
  rampPerS: number;
  /** After the planned end, how long bots get to leave before they are cancelled. */
  graceMs: number;
  signalingOnly: boolean;
  video: string;
  audio: string;
  thresholds: string[];
  /** Worker threads; 0 runs bots on the main thread; undefined: one per core. */
  workers?: number;
  recordDir?: string;
  chatIntervalMs?: number;
  sampleIntervalMs?: number;
  /** `i/n`: run shard i (from 0) of the plan; the other shards run on other generators. */
  shard?: string;
  /** Names bots and rooms; every shard of one plan is given the same. */
  runId?: string;
  /** When every shard starts its ramp (ISO time or Unix seconds). */
  startAt?: string;
  /** Serve live Prometheus metrics on this port (0: a free one) of metricsHost (default 127.0.0.1). */
  metricsPort?: number;
  metricsHost?: string;
  /** After the run, keep serving the final metrics this long, for Prometheus's last scrape. */
  metricsHoldMs?: number;
  logger?: Logger;
}

/** The options as the run uses them: defaults filled in, every value checked. */
export interface RunSettings {
  url: string | undefined;
  mode: 'media' | 'signaling-only';
  /** `none` in signaling-only mode, whatever was asked. */
  video: string;
  audio: string;
  durationMs: number;
  graceMs: number;
  chatIntervalMs: number;
  sampleIntervalMs: number;
  /** As asked; the run caps it at the number of bots. */
  workers: number | undefined;
  recordDir: string | undefined;
}

export const DEFAULT_INTERVAL_MS = 5000;
/**
 * Shortest sampling or chat interval. Every bot runs these timers for each of its links, so a few
 * milliseconds would turn a load test into a test of the generator's timers.
 */
export const MIN_INTERVAL_MS = 100;

/** Checks what the plan does not (durations, intervals, workers); throws UsageError (exit 2). */
export function resolveSettings(opts: LoadtestOptions): RunSettings {
  const nonNegative = (flag: string, ms: number) => {
    if (!Number.isFinite(ms) || ms < 0) throw new UsageError(`${flag} must not be negative, got ${ms} ms`);
    return ms;
  };
  const interval = (flag: string, ms: number | undefined) => {
    const value = ms ?? DEFAULT_INTERVAL_MS;
    if (!Number.isFinite(value) || value <= 0)
      throw new UsageError(`${flag} must be a positive duration such as 5s, got ${value} ms`);
    if (value < MIN_INTERVAL_MS)
      throw new UsageError(`${flag} must be at least ${MIN_INTERVAL_MS}ms, got ${value} ms`);
    return value;
  };
  if (opts.workers !== undefined && (!Number.isInteger(opts.workers) || opts.workers < 0))
    throw new UsageError('--workers must be auto or a whole number (0 runs bots on the main thread)');
  const signalingOnly = opts.signalingOnly;
  return {
    url: opts.url,
    mode: signalingOnly ? 'signaling-only' : 'media',
    video: signalingOnly ? 'none' : opts.video,
    audio: signalingOnly ? 'none' : opts.audio,
    durationMs: nonNegative('--duration', opts.durationMs),
    graceMs: nonNegative('--grace', opts.graceMs),
    chatIntervalMs: interval('--chat-interval', opts.chatIntervalMs),
    sampleIntervalMs: interval('--sample-interval', opts.sampleIntervalMs),
    workers: opts.workers,
    recordDir: opts.recordDir,
  };
}
