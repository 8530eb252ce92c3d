import { UsageError } from '../../util/errors.js';
import type { Logger } from '../../util/log.js';
import { type NetPlan, resolveNetPlan } from './net-plan.js';

export interface LoadtestOptions {
  bots: number;
  rooms: number;
  /**
   * Target servers: one, or several instances sharing rooms (`engage serve --redis`), over which each
   * room's members are spread; undefined or empty starts `engage serve` in a child process on a free
   * loopback port.
   */
  urls?: string[];
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
  /** How many of the participants are headless Chromium pages (0 or absent: none). */
  browsers?: number;
  /** `--net PROFILE` or `--net 25%:PROFILE`, repeatable: shares of the bots get a network profile. */
  net?: string[];
  /** `--net-schedule 20s:loss=15%;40s:loss=0%`: every bot's network over time, from the run's start. */
  netSchedule?: string;
  /** STUN/TURN servers every media bot uses (`turn:user:pass@host:port[?transport=tcp]`). */
  iceServers?: string[];
  /** Only TURN relay candidates (ICE transport policy relay); needs a TURN server in iceServers. */
  relayOnly?: boolean;
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
  /** Undefined: the embedded server. */
  urls: string[] | undefined;
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
  /** Participants that are browsers; 0 for none. */
  browsers: number;
  /** Network profiles, schedule, ICE servers; undefined when none was asked for. */
  net: NetPlan | undefined;
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
    urls: checkUrls(opts.urls),
    mode: signalingOnly ? 'signaling-only' : 'media',
    video: signalingOnly ? 'none' : opts.video,
    audio: signalingOnly ? 'none' : opts.audio,
    durationMs: nonNegative('--duration', opts.durationMs),
    graceMs: nonNegative('--grace', opts.graceMs),
    chatIntervalMs: interval('--chat-interval', opts.chatIntervalMs),
    sampleIntervalMs: interval('--sample-interval', opts.sampleIntervalMs),
    workers: opts.workers,
    recordDir: opts.recordDir,
    browsers: opts.browsers ?? 0,
    net: resolveNetPlan(opts, signalingOnly),
  };
}

/** Each --url must parse, and no instance may be given twice (its metrics would count twice). */
function checkUrls(urls: string[] | undefined): string[] | undefined {
  if (urls === undefined || urls.length === 0) return undefined;
  const seen = new Map<string, string>();
  for (const url of urls) {
    let key: string;
    try {
      const u = new URL(url);
      key = `${u.protocol}//${u.host}`;
    } catch {
      throw new UsageError(`--url ${url} is not a URL (ws://host:port)`);
    }
    const twin = seen.get(key);
    if (twin !== undefined)
      throw new UsageError(`--url ${url} and ${twin} are the same instance; give each instance once`);
    seen.set(key, url);
  }
  return urls;
}
