import { createHash } from 'node:crypto';
import { UsageError } from '../../util/errors.js';
import type { Plan } from './plan.js';

/** This generator's part of a plan run by several: shard `index` of `count` (0-based). */
export interface Shard {
  index: number;
  count: number;
}

/** The whole plan on one generator: what a run without --shard is. */
export const WHOLE: Shard = { index: 0, count: 1 };

/** Longest --start-at ahead of now: a typo in a date should not leave a generator waiting for days. */
export const MAX_START_AHEAD_MS = 24 * 3600 * 1000;

const RUN_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$/;

/** Parses `--shard i/n` (i counted from 0, as a Kubernetes Indexed Job's JOB_COMPLETION_INDEX is). */
export function parseShard(text: string): Shard {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  if (!m) throw new UsageError(`--shard must look like i/n (e.g. 0/3, i counted from 0), got "${text}"`);
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 1 || count > 10_000) throw new UsageError(`--shard ${text}: n must be 1..10000`);
  if (index >= count) throw new UsageError(`--shard ${text}: i must be below n (0..${count - 1})`);
  return { index, count };
}

/** A run id every shard is given, so bot and room names agree; it goes into names, so it is kept plain. */
export function checkRunId(id: string): string {
  if (!RUN_ID.test(id))
    throw new UsageError(
      `--run-id must be 1-40 letters, digits, '.', '_' or '-' (starting with one), got "${id}"`,
    );
  return id;
}

/** Parses `--start-at`: an ISO 8601 time with its zone (2026-12-02T01:30:00Z) or Unix seconds. */
export function parseStartAt(text: string, now = Date.now()): number {
  const ms = /^\d+(\.\d+)?$/.test(text.trim()) ? Number(text) * 1000 : Date.parse(text);
  if (!Number.isFinite(ms))
    throw new UsageError(
      `--start-at must be an ISO time such as 2026-12-02T01:30:00Z or Unix seconds, got "${text}"`,
    );
  if (ms - now > MAX_START_AHEAD_MS)
    throw new UsageError(`--start-at ${text} is more than 24 hours ahead; check the date`);
  return ms;
}

/**
 * The shard that runs the plan's bot `i`. Bots go to rooms round robin (room i mod rooms, member
 * floor(i / rooms) of it), and a room's k-th member goes to shard (k + room) mod n: every room of at
 * least n members is spread over all n shards, whatever rooms and n are, and shards get equal shares
 * (to within one bot per room).
 */
export function shardOfBot(i: number, rooms: number, count: number): number {
  const room = i % rooms;
  const member = Math.floor(i / rooms);
  return (member + room) % count;
}

/**
 * The plan as one shard runs it: only its own bots, at their global start times, while every room keeps
 * all its members (bots expect their remote peers) and the ramp ends when the whole plan's does.
 */
export function shardPlan(plan: Plan, rooms: number, shard: Shard): Plan {
  if (shard.count === 1) return plan;
  return { ...plan, bots: plan.bots.filter((_, i) => shardOfBot(i, rooms, shard.count) === shard.index) };
}

/**
 * The plan's identity: a hash of every flag that shapes the load, the same on every shard of one plan
 * (the shard index, the URL a machine reaches the server by, workers and thresholds are not part of
 * it). Values are hashed in sorted key order, so a caller adding a flag only adds a key.
 */
export function planHash(flags: Record<string, string | number | boolean | undefined>): string {
  const canonical = JSON.stringify(
    Object.keys(flags)
      .sort()
      .filter((k) => flags[k] !== undefined)
      .map((k) => [k, flags[k]]),
  );
  return createHash('sha256').update(canonical).digest('hex').slice(0, 16);
}
