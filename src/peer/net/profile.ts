import { UsageError } from '../../util/errors.js';

/**
 * Network profiles: what the in-process shaper does to one direction of a bot's traffic, and the text
 * form users write (`loss=5%,delay=40ms,jitter=10ms,rate=1mbit,queue=50ms`).
 *
 * Text form: comma-separated `key=value` items (and the bare flag `reorder`). A prefix `out:`, `in:` or
 * `both:` says which direction the items after it apply to, until the next prefix; items before any
 * prefix apply to `out` (the bot's own sent packets, its egress). `none` alone clears every impairment.
 */

export type Direction = 'out' | 'in';

/** What one direction of the path does to each packet, in this order: loss, rate limit, delay. */
export interface DirectionProfile {
  /** Share of packets dropped at random, 0..100. */
  lossPct: number;
  /**
   * Mean length in packets of a loss burst (Gilbert-Elliott); undefined for independent (Bernoulli)
   * loss. The long-run loss stays `lossPct`.
   */
  burst: number | undefined;
  /** One-way delay added to every packet. */
  delayMs: number;
  /** Each packet's delay varies uniformly within ±jitterMs (never below 0). */
  jitterMs: number;
  /** Let jitter reorder packets; without it a packet never overtakes the one sent before it. */
  reorder: boolean;
  /** Bottleneck rate in bits per second (IP+UDP headers counted); undefined for no limit. */
  rateBps: number | undefined;
  /** With a rate: the most queueing delay a packet may wait; packets that would wait longer are dropped. */
  queueMs: number;
}

export interface NetProfile {
  out: DirectionProfile;
  in: DirectionProfile;
}

/** A change to a profile: the keys given, per direction; `reset` clears everything first. */
export interface NetPatch {
  reset: boolean;
  out: Partial<DirectionProfile>;
  in: Partial<DirectionProfile>;
}

export const DEFAULT_QUEUE_MS = 50;

export const CLEAR_DIRECTION: Readonly<DirectionProfile> = Object.freeze({
  lossPct: 0,
  burst: undefined,
  delayMs: 0,
  jitterMs: 0,
  reorder: false,
  rateBps: undefined,
  queueMs: DEFAULT_QUEUE_MS,
});

export const CLEAR_PROFILE: Readonly<NetProfile> = Object.freeze({
  out: CLEAR_DIRECTION,
  in: CLEAR_DIRECTION,
});

/** Bounds that keep a typo from becoming a 10-minute delay or a link that carries nothing. */
const LIMITS = { delayMs: 10_000, jitterMs: 10_000, queueMs: 10_000, minRateBps: 1000, maxBurst: 1000 };

/** A profile or schedule the user wrote wrong: a usage error (exit code 2) with what to write instead. */
export class NetProfileError extends UsageError {
  constructor(message: string) {
    super(message);
    this.name = 'NetProfileError';
  }
}

/** Parses one profile (no schedule times) into the change it makes. Throws NetProfileError. */
export function parseNetPatch(text: string): NetPatch {
  const patch: NetPatch = { reset: false, out: {}, in: {} };
  const trimmed = text.trim();
  if (trimmed === '') throw new NetProfileError('empty network profile (example: loss=5%,delay=40ms)');
  if (trimmed === 'none') return { ...patch, reset: true };
  let targets: Direction[] = ['out'];
  for (const raw of trimmed.split(',')) {
    let item = raw.trim();
    const prefix = /^(out|in|both):/.exec(item);
    if (prefix) {
      targets = prefix[1] === 'both' ? ['out', 'in'] : [prefix[1] as Direction];
      item = item.slice(prefix[0].length).trim();
    }
    if (item === '') throw new NetProfileError(`empty item in network profile "${text}"`);
    const [key, value] = parseItem(item);
    for (const dir of targets) Object.assign(patch[dir], { [key]: value });
  }
  for (const dir of ['out', 'in'] as const) checkDirection(patch[dir], dir);
  return patch;
}

/** The profile after `patch`; missing keys keep their value from `base`. */
export function applyNetPatch(base: NetProfile, patch: NetPatch): NetProfile {
  const from = patch.reset ? CLEAR_PROFILE : base;
  const next: NetProfile = { out: { ...from.out, ...patch.out }, in: { ...from.in, ...patch.in } };
  for (const dir of ['out', 'in'] as const) checkDirection(next[dir], dir);
  return next;
}

/** Parses a whole profile from scratch: `parseNetPatch` applied to no impairment. */
export function parseNetProfile(text: string): NetProfile {
  return applyNetPatch(CLEAR_PROFILE, parseNetPatch(text));
}

/** Whether a direction leaves packets alone (the shaper then delivers them at once). */
export function isClear(p: DirectionProfile): boolean {
  return p.lossPct === 0 && p.delayMs === 0 && p.jitterMs === 0 && p.rateBps === undefined;
}

/** The canonical text of a profile: `loss=5%,delay=40ms,in:delay=40ms`, or `none`. */
export function formatNetProfile(p: NetProfile): string {
  const parts: string[] = [];
  const out = formatDirection(p.out);
  const inn = formatDirection(p.in);
  if (out) parts.push(out);
  if (inn) parts.push(`in:${inn}`);
  return parts.length === 0 ? 'none' : parts.join(',');
}

function formatDirection(p: DirectionProfile): string {
  const items: string[] = [];
  if (p.lossPct > 0) items.push(`loss=${p.lossPct}%`);
  if (p.lossPct > 0 && p.burst !== undefined) items.push(`burst=${p.burst}`);
  if (p.delayMs > 0) items.push(`delay=${p.delayMs}ms`);
  if (p.jitterMs > 0) items.push(`jitter=${p.jitterMs}ms`);
  if (p.reorder && p.jitterMs > 0) items.push('reorder');
  if (p.rateBps !== undefined) items.push(`rate=${formatRate(p.rateBps)}`, `queue=${p.queueMs}ms`);
  return items.join(',');
}

export function formatRate(bps: number): string {
  if (bps % 1_000_000 === 0) return `${bps / 1_000_000}mbit`;
  if (bps % 1000 === 0) return `${bps / 1000}kbit`;
  return `${bps}bit`;
}

type Item = [keyof DirectionProfile, DirectionProfile[keyof DirectionProfile]];

function parseItem(item: string): Item {
  if (item === 'reorder') return ['reorder', true];
  const eq = item.indexOf('=');
  if (eq < 0) {
    throw new NetProfileError(
      `"${item}" is not key=value (keys: loss, burst, delay, jitter, rate, queue; flag: reorder)`,
    );
  }
  const key = item.slice(0, eq).trim();
  const value = item.slice(eq + 1).trim();
  switch (key) {
    case 'loss':
      return ['lossPct', parsePercent(key, value)];
    case 'burst':
      return ['burst', parseBurst(value)];
    case 'delay':
      return ['delayMs', parseMs(key, value, LIMITS.delayMs)];
    case 'jitter':
      return ['jitterMs', parseMs(key, value, LIMITS.jitterMs)];
    case 'rate':
      return ['rateBps', parseRate(value)];
    case 'queue':
      return ['queueMs', parseMs(key, value, LIMITS.queueMs)];
    case 'reorder':
      if (value === 'on' || value === 'true') return ['reorder', true];
      if (value === 'off' || value === 'false') return ['reorder', false];
      throw new NetProfileError(`reorder takes on or off, got "${value}"`);
    default:
      throw new NetProfileError(
        `unknown network profile key "${key}" (keys: loss, burst, delay, jitter, rate, queue, reorder)`,
      );
  }
}

function parsePercent(key: string, value: string): number {
  const m = /^(\d+(?:\.\d+)?)%$/.exec(value);
  const n = m ? Number(m[1]) : Number.NaN;
  if (!m || n > 100) throw new NetProfileError(`${key} takes a percentage from 0% to 100%, got "${value}"`);
  return n;
}

function parseBurst(value: string): number {
  const n = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || n < 1 || n > LIMITS.maxBurst) {
    throw new NetProfileError(
      `burst takes the mean loss-burst length in packets, 1 to ${LIMITS.maxBurst}, got "${value}"`,
    );
  }
  return n;
}

function parseMs(key: string, value: string, max: number): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s)$/.exec(value);
  if (!m) throw new NetProfileError(`${key} takes a time with its unit, e.g. 40ms or 0.5s, got "${value}"`);
  const ms = Number(m[1]) * (m[2] === 's' ? 1000 : 1);
  if (ms > max) throw new NetProfileError(`${key} is at most ${max} ms, got "${value}"`);
  return ms;
}

const RATE_UNITS: Record<string, number> = { bit: 1, kbit: 1e3, mbit: 1e6, gbit: 1e9 };

function parseRate(value: string): number {
  const m = /^(\d+(?:\.\d+)?)([a-z]+)$/.exec(value.toLowerCase());
  const unit = m ? RATE_UNITS[m[2]!] : undefined;
  if (!m || unit === undefined) {
    const hint = /bps$/.test(value.toLowerCase()) ? ' (bits per second are written kbit, mbit)' : '';
    throw new NetProfileError(`rate takes bits per second like 300kbit or 1mbit, got "${value}"${hint}`);
  }
  const bps = Math.round(Number(m[1]) * unit);
  if (bps < LIMITS.minRateBps) throw new NetProfileError(`rate is at least 1kbit, got "${value}"`);
  return bps;
}

function checkDirection(p: Partial<DirectionProfile>, dir: Direction): void {
  const where = dir === 'in' ? 'in: ' : '';
  if (p.lossPct !== undefined && p.burst !== undefined && p.lossPct > 0 && p.lossPct < 100) {
    // Gilbert-Elliott with every packet lost in the bad state: P(good→bad) = loss/(1-loss) / burst.
    const loss = p.lossPct / 100;
    if (loss / (1 - loss) / p.burst > 1) {
      throw new NetProfileError(
        `${where}loss=${p.lossPct}% cannot come in bursts of ${p.burst}: use burst=${Math.ceil(loss / (1 - loss))} or more`,
      );
    }
  }
}
