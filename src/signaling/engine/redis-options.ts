import { hostname } from 'node:os';
import { UsageError } from '../../util/errors.js';
import type { Logger } from '../../util/log.js';
import type { EngineMetrics } from './metrics.js';

export interface RedisEngineOptions {
  /** `redis://[user:pass@]host:port[/db]` (or `rediss://`). */
  url: string;
  /** This instance's name in logs and metrics; default `<hostname>-<pid>`. Need not be unique. */
  instanceId?: string;
  /** Prepended to every key and channel, so several deployments can share one Redis. */
  prefix?: string;
  /** How often this instance tells Redis it is alive. */
  heartbeatMs?: number;
  /** An instance silent this long is dead: the others sweep its members. */
  instanceTtlMs?: number;
  /** A Redis command unanswered this long makes the engine unavailable. */
  commandTimeoutMs?: number;
  /** Events kept per room for catch-up after a gap. */
  streamLength?: number;
  /** A room stream nobody wrote to this long expires (seconds). */
  streamIdleS?: number;
  /** A room nobody is in keeps its sequence this long (seconds), then its keys expire. */
  emptyRoomTtlS?: number;
  /** Commands in flight at once; beyond it calls are refused (`overloaded`) rather than queued. */
  maxInFlight?: number;
  /** How long `start` waits for Redis. */
  connectTimeoutMs?: number;
  /**
   * Sharded pub/sub (SPUBLISH, Redis 7+) keeps a room's events on its Cluster shard; global PUBLISH
   * reaches every node. Default: sharded when the server has SPUBLISH.
   */
  shardedPubSub?: boolean;
  metrics?: EngineMetrics;
  logger?: Logger;
}

export type ResolvedRedisOptions = Required<
  Omit<RedisEngineOptions, 'metrics' | 'logger' | 'shardedPubSub'>
> &
  Pick<RedisEngineOptions, 'shardedPubSub'>;

const DEFAULTS = {
  prefix: 'engage:',
  heartbeatMs: 1000,
  instanceTtlMs: 3000,
  commandTimeoutMs: 1500,
  streamLength: 128,
  streamIdleS: 120,
  emptyRoomTtlS: 600,
  maxInFlight: 4096,
  connectTimeoutMs: 10_000,
} as const;

/** Validates options up front, with messages that name the flag. */
export function resolveRedisOptions(options: RedisEngineOptions): ResolvedRedisOptions {
  const o = { ...DEFAULTS, instanceId: `${hostname()}-${process.pid}`, ...options };
  let url: URL;
  try {
    url = new URL(o.url);
  } catch {
    throw new UsageError(`--redis: "${o.url}" is not a URL (example: redis://127.0.0.1:6379)`);
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new UsageError(`--redis: use a redis:// or rediss:// URL, not ${url.protocol}//`);
  }
  // A brace in the prefix would become the Cluster hash tag of every key, putting all rooms in one slot.
  if (!/^[A-Za-z0-9_.:-]{0,64}$/.test(o.prefix)) {
    throw new UsageError('prefix: up to 64 of A-Z a-z 0-9 _ . : - (no braces)');
  }
  if (!/^[A-Za-z0-9_.:-]{1,64}$/.test(o.instanceId)) {
    throw new UsageError('--instance-id: 1-64 of A-Z a-z 0-9 _ . : -');
  }
  for (const key of [
    'heartbeatMs',
    'instanceTtlMs',
    'commandTimeoutMs',
    'streamLength',
    'maxInFlight',
  ] as const) {
    if (!Number.isInteger(o[key]) || o[key] < 1) throw new UsageError(`${key} must be a positive integer`);
  }
  // A Redis stall long enough for a live instance's deadline to lapse must also time out one of its
  // commands, so every instance went unavailable and waits out a ttl before sweeping anyone.
  if (o.commandTimeoutMs + o.heartbeatMs >= o.instanceTtlMs) {
    throw new UsageError(
      'instanceTtlMs must exceed commandTimeoutMs + heartbeatMs, or live instances get swept',
    );
  }
  return o;
}

/** The URL without its password, for messages. */
export function redacted(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparsable URL)';
  }
}
