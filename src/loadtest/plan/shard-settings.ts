import { UsageError } from '../../util/errors.js';
import type { LoadtestOptions, RunSettings } from './options.js';
import type { Plan } from './plan.js';
import { checkRunId, parseShard, parseStartAt, planHash, type Shard, shardPlan, WHOLE } from './shard.js';

/** --shard, --run-id and --start-at, checked, with the plan's identity. */
export interface ShardSettings {
  shard: Shard;
  runId: string | undefined;
  startAtMs: number | undefined;
  planHash: string;
  /** This shard's part of the whole plan. */
  plan(whole: Plan): Plan;
  /** The bots this generator runs, when it runs only some. */
  local(plan: Plan): Set<string> | undefined;
}

/** Checks the sharding flags against each other (exit 2 on a mistake) and hashes the plan flags. */
export function resolveShard(opts: LoadtestOptions, settings: RunSettings): ShardSettings {
  const shard = opts.shard === undefined ? WHOLE : parseShard(opts.shard);
  if (opts.shard !== undefined && opts.runId === undefined)
    throw new UsageError('--shard needs --run-id: every shard must be given the same one, so names agree');
  if (shard.count > 1 && settings.urls === undefined)
    throw new UsageError('--shard i/n with n > 1 needs --url: every shard must join the same server');
  const runId = opts.runId === undefined ? undefined : checkRunId(opts.runId);
  const startAtMs = opts.startAt === undefined ? undefined : parseStartAt(opts.startAt);
  const hash = planHash({
    bots: opts.bots,
    rooms: opts.rooms,
    rampPerS: opts.rampPerS,
    durationMs: settings.durationMs,
    graceMs: settings.graceMs,
    mode: settings.mode,
    video: settings.video,
    audio: settings.audio,
    chatIntervalMs: settings.chatIntervalMs,
    sampleIntervalMs: settings.sampleIntervalMs,
    shards: shard.count,
    instances: settings.urls?.length ?? 1,
    browsers: settings.browsers,
    net: opts.net?.join(' '),
    netSchedule: opts.netSchedule,
    relayOnly: opts.relayOnly,
    runId,
    startAtMs,
  });
  return {
    shard,
    runId,
    startAtMs,
    planHash: hash,
    plan: (whole) => shardPlan(whole, opts.rooms, shard),
    local: (plan) => (shard.count === 1 ? undefined : new Set(plan.bots.map((b) => b.name))),
  };
}
