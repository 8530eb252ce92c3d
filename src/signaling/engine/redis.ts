import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { Redis, type RedisOptions } from 'ioredis';
import { Registry } from 'prom-client';
import { EngageError, UsageError } from '../../util/errors.js';
import { type Logger, silentLogger } from '../../util/log.js';
import { within } from '../../util/wait.js';
import {
  type ClaimResult,
  type EngineEvents,
  type EngineState,
  EngineUnavailableError,
  type JoinResult,
  type Relay,
  type RoomEngine,
  type RoomMember,
  relayLabel,
  type SendResult,
} from './engine.js';
import { EngineMetrics } from './metrics.js';
import { parseEntry, type RoomEntry } from './redis-entry.js';
import { instanceRoomsKey, type RoomKeys, registryKeys, roomKeyList, roomKeys } from './redis-keys.js';
import {
  type RedisEngineOptions,
  type ResolvedRedisOptions,
  redacted,
  resolveRedisOptions,
} from './redis-options.js';
import {
  ALL_SCRIPTS,
  CLAIM,
  HEARTBEAT,
  JOIN,
  LEAVE,
  type LuaScript,
  SEND,
  SWEEP,
  TAIL,
  TAKE_DEAD,
} from './redis-scripts.js';
import { type FeedIo, RoomFeed, type Tail } from './room-feed.js';

export type { RedisEngineOptions } from './redis-options.js';

/** The engine's clock: one tick decides what is due (heartbeat, sweep, recovery, idle rooms). */
const TICK_MS = 200;
/** How many rooms a sweep releases at once. */
const SWEEP_BATCH = 64;
/** A room no local socket has been in for this long stops being followed. */
const IDLE_ROOM_MS = 5000;
/** Entries read per catch-up round trip. */
const TAIL_BATCH = 256;
/**
 * Rooms catching up at once after an outage (thousands at once would only be refused as overloaded);
 * at most a quarter of what may be in flight, so the rooms' own calls still get through.
 */
const CATCH_UP_CONCURRENCY = 32;

function randomId(): string {
  return randomBytes(9).toString('base64url');
}

function isTimeout(err: unknown): boolean {
  return err instanceof Error && /timed out/i.test(err.message);
}

function isReplyError(err: unknown): boolean {
  return err instanceof Error && err.name === 'ReplyError';
}

/**
 * Rooms shared by every `engage serve --redis` instance (docs/cluster.md). Two connections per instance:
 * one for commands and scripts, one subscribed to the rooms it hosts. Nothing waits in memory for Redis:
 * the offline queue is off, every command has a timeout and a deadline, and while Redis is unreachable
 * calls are refused at once; the engine recovers by itself when it can.
 */
export class RedisEngine extends EventEmitter<EngineEvents> implements RoomEngine {
  readonly instanceId: string;
  readonly metrics: EngineMetrics;
  private readonly opts: ResolvedRedisOptions;
  private readonly log: Logger;
  private readonly cmd: Redis;
  private readonly sub: Redis;
  private readonly registry: ReturnType<typeof registryKeys>;
  /** This incarnation's name in Redis: a new one after being swept or after Redis lost its data. */
  private token: string;
  private generation = '';
  private registered = false;
  private sharded = true;
  private current: EngineState = 'starting';
  private readonly rooms = new Map<string, RoomFeed>();
  private readonly byPubChannel = new Map<string, RoomFeed>();
  private readonly opening = new Map<string, Promise<void>>();
  private readonly idleSince = new Map<string, number>();
  /** channel -> room: releases that could not be done yet (Redis was unreachable). */
  private readonly pendingReleases = new Map<string, string>();
  /** channel -> room: releases sent and not yet answered. */
  private readonly releasing = new Map<string, string>();
  private inFlight = 0;
  /** Redis's clock minus ours, from the heartbeat; deadlines are written in Redis time. */
  private clockOffsetMs = 0;
  private readySince = 0;
  private lastBeatAt = 0;
  private lastSweepAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private ticking = false;
  private sweeping: Promise<void> | undefined;
  /** Rooms that owe a read of their stream (after an outage). */
  private readonly behind = new Set<string>();
  /** Rooms whose read failed: back in `behind` at the next tick, never at once (a refusal is instant). */
  private readonly retryBehind = new Set<string>();
  private catchingUp = 0;
  private recovering: Promise<void> | undefined;
  private closing: Promise<void> | undefined;

  private constructor(options: RedisEngineOptions) {
    super();
    this.opts = resolveRedisOptions(options);
    this.instanceId = this.opts.instanceId;
    this.token = `${this.instanceId}#${randomId()}`;
    this.metrics = options.metrics ?? new EngineMetrics(new Registry());
    this.log = (options.logger ?? silentLogger).child({ component: 'engine', instance: this.instanceId });
    this.registry = registryKeys(this.opts.prefix);
    const connection: RedisOptions = {
      lazyConnect: true,
      // Nothing queues while Redis is away: a call either reaches Redis now or is refused now.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      // Subscriptions are restored by recover(), which then reads back what was missed meanwhile.
      autoResubscribe: false,
      commandTimeout: this.opts.commandTimeoutMs,
      connectTimeout: this.opts.commandTimeoutMs,
      retryStrategy: (attempt) => Math.min(50 * 2 ** Math.min(attempt, 5), 1000),
    };
    this.cmd = new Redis(this.opts.url, { ...connection, connectionName: `engage:${this.instanceId}:cmd` });
    this.sub = new Redis(this.opts.url, { ...connection, connectionName: `engage:${this.instanceId}:sub` });
    for (const [conn, role] of [
      [this.cmd, 'commands'],
      [this.sub, 'subscriber'],
    ] as const) {
      conn.on('error', (err) => this.log.debug({ err, role }, 'redis connection error'));
      conn.on('close', () => this.markUnavailable(`${role} connection closed`));
      conn.on('ready', () => {
        if (this.current === 'unavailable') this.recover();
      });
    }
    this.sub.on('message', (channel, text) => this.onLive(channel, text));
    this.sub.on('smessage', (channel, text) => this.onLive(channel, text));
  }

  /** Connects, registers this instance and starts its heartbeat; rejects when Redis cannot be reached. */
  static async start(options: RedisEngineOptions): Promise<RedisEngine> {
    const engine = new RedisEngine(options);
    try {
      await within(engine.boot(), engine.opts.connectTimeoutMs, `Redis at ${redacted(engine.opts.url)}`);
    } catch (err) {
      await engine.close();
      const why = err instanceof Error ? err.message : String(err);
      throw new EngageError(`cannot use Redis at ${redacted(engine.opts.url)}: ${why}`);
    }
    return engine;
  }

  private async boot(): Promise<void> {
    await Promise.all([this.cmd.connect(), this.sub.connect()]);
    // Sharded pub/sub (Redis 7) keeps a room's events on its own Cluster shard; older Redis broadcasts.
    const info = (await this.cmd.call('COMMAND', 'INFO', 'SPUBLISH')) as unknown[];
    const hasSpublish = Array.isArray(info) && info[0] != null;
    if (this.opts.shardedPubSub && !hasSpublish)
      throw new UsageError('this Redis has no sharded pub/sub (SPUBLISH needs Redis 7)');
    this.sharded = this.opts.shardedPubSub ?? hasSpublish;
    await this.loadScripts();
    await this.beat();
    this.setState('ready');
    this.timer = setInterval(() => this.tick(), TICK_MS);
    this.timer.unref();
    this.log.info({ token: this.token, sharded: this.sharded }, 'room engine ready');
  }

  get state(): EngineState {
    return this.current;
  }

  get closed(): boolean {
    return this.current === 'closed';
  }

  /** Who this instance is in Redis right now (changes after it was swept or Redis lost its data). */
  get instanceToken(): string {
    return this.token;
  }

  // ---- the room operations ------------------------------------------------------------------------

  async open(room: string, channel: string): Promise<void> {
    this.refuseUnlessReady();
    let feed = this.rooms.get(room);
    if (!feed) {
      feed = new RoomFeed(room, this.feedIo);
      this.rooms.set(room, feed);
      this.byPubChannel.set(this.keys(room).pub, feed);
      this.opening.set(
        room,
        this.follow(feed).finally(() => this.opening.delete(room)),
      );
    }
    this.idleSince.delete(room);
    try {
      await this.opening.get(room);
    } catch (err) {
      if (this.rooms.get(room) === feed && feed.channels.size === 0) this.forget(feed);
      throw err;
    }
    // Dropped as idle while this call waited: follow it afresh.
    if (this.rooms.get(room) !== feed) return this.open(room, channel);
    feed.addChannel(channel);
  }

  async claim(room: string, channel: string, name: string, maxMembers: number): Promise<ClaimResult> {
    const { feed, ch } = this.localChannel(room, channel, 'claim');
    ch.mayBeMember = true;
    const reply = (await this.roomScript('claim', CLAIM, room, true, [
      channel,
      name,
      maxMembers,
      this.token,
      randomId(),
    ])) as [string, string?, number?, number?];
    const [status, epoch, seq, size] = reply;
    if (status === 'late') throw this.late('claim');
    if (status === 'ok') {
      feed.claimed(channel, epoch!, seq!);
      return { ok: true, size: size! };
    }
    if (status === 'taken' || status === 'full' || status === 'named') return { ok: false, reason: status };
    throw new Error(`claim script answered ${status}`);
  }

  async holder(room: string, name: string): Promise<string | undefined> {
    const channel = await this.call('holder', () => this.cmd.hget(this.keys(room).names, name));
    return channel ?? undefined;
  }

  async members(room: string): Promise<RoomMember[]> {
    const all = await this.call('members', () => this.cmd.hgetall(this.keys(room).members));
    return Object.entries(all).map(([channel, name]) => ({ channel, name }));
  }

  async join(room: string, channel: string, frame: string): Promise<JoinResult> {
    this.localChannel(room, channel, 'join');
    const reply = (await this.roomScript('join', JOIN, room, true, [channel, frame])) as Array<
      string | number
    >;
    const status = reply[0];
    if (status === 'late') throw this.late('join');
    if (status === 'not-member') return { ok: false, reason: 'not-member' };
    const earlier: RoomMember[] = [];
    for (let i = 2; i + 1 < reply.length; i += 2) {
      earlier.push({ channel: String(reply[i]), name: String(reply[i + 1]) });
    }
    return { ok: true, earlier };
  }

  sendTo(room: string, from: string, to: string, relay: Relay): Promise<SendResult> {
    return this.send('send', room, from, to, relay);
  }

  broadcast(room: string, from: string, relay: Relay): Promise<SendResult> {
    return this.send('broadcast', room, from, '*', relay);
  }

  private async send(op: string, room: string, from: string, to: string, relay: Relay): Promise<SendResult> {
    this.localChannel(room, from, op);
    const args = [from, to, relayLabel(relay.action), relay.frame];
    const [status] = (await this.roomScript(op, SEND, room, true, args)) as [string];
    if (status === 'late') throw this.late(op);
    if (status === 'ok') return { ok: true };
    if (status === 'not-member' || status === 'unknown-target') return { ok: false, reason: status };
    throw new Error(`send script answered ${status}`);
  }

  async leave(room: string, channel: string): Promise<void> {
    const feed = this.rooms.get(room);
    const ch = feed?.channels.get(channel);
    if (!feed || !ch) return;
    feed.channels.delete(channel);
    if (feed.channels.size === 0) this.idleSince.set(room, performance.now());
    if (ch.mayBeMember) await this.release(room, channel);
  }

  /**
   * Releases now if Redis answers, else keeps the release for recovery (or for close(), which releases
   * whatever is still owed); never throws. A release is idempotent, so repeating one is harmless.
   */
  private async release(room: string, channel: string): Promise<void> {
    if (this.current === 'ready' && !this.closing) {
      this.releasing.set(channel, room);
      try {
        await this.roomScript('leave', LEAVE, room, false, [channel]);
        return;
      } catch {
        // Kept below.
      } finally {
        this.releasing.delete(channel);
      }
    }
    if (this.current !== 'closed') this.pendingReleases.set(channel, room);
  }

  // ---- Redis calls --------------------------------------------------------------------------------

  private keys(room: string): RoomKeys {
    return roomKeys(this.opts.prefix, room);
  }

  private localChannel(room: string, channel: string, op: string) {
    const feed = this.rooms.get(room);
    const ch = feed?.channels.get(channel);
    if (!feed || !ch)
      throw new Error(`${op}: channel ${channel} was not opened in room ${room} on this engine`);
    return { feed, ch };
  }

  private refuseUnlessReady(): void {
    if (this.current === 'ready' && !this.closing) return;
    this.metrics.errors.inc({ kind: 'refused' });
    if (this.current === 'closed' || this.closing) {
      throw new EngineUnavailableError('closed', 'the room engine is closed');
    }
    throw new EngineUnavailableError(
      'down',
      'the shared room state (Redis) is unreachable; nothing was done',
    );
  }

  private late(op: string): EngineUnavailableError {
    this.metrics.errors.inc({ kind: 'timeout' });
    return new EngineUnavailableError('timeout', `Redis ran ${op} after its deadline, so it did nothing`);
  }

  /** A call from a room operation: refused at once unless the engine is ready. */
  private call<T>(op: string, fn: () => Promise<T>): Promise<T> {
    this.refuseUnlessReady();
    return this.timed(op, fn);
  }

  private async timed<T>(op: string, fn: () => Promise<T>): Promise<T> {
    if (this.inFlight >= this.opts.maxInFlight) {
      this.metrics.errors.inc({ kind: 'overloaded' });
      throw new EngineUnavailableError('overloaded', `${this.inFlight} Redis commands in flight; refused`);
    }
    this.inFlight++;
    const started = performance.now();
    try {
      const result = await fn();
      this.metrics.roundTrip.observe({ op }, (performance.now() - started) / 1000);
      return result;
    } catch (err) {
      throw this.failure(op, err);
    } finally {
      this.inFlight--;
    }
  }

  private failure(op: string, err: unknown): Error {
    if (err instanceof EngineUnavailableError) return err;
    const message = err instanceof Error ? err.message : String(err);
    if (isTimeout(err)) {
      this.metrics.errors.inc({ kind: 'timeout' });
      this.markUnavailable(`${op} timed out`);
      return new EngineUnavailableError(
        'timeout',
        `not confirmed: Redis did not answer ${op} within ${this.opts.commandTimeoutMs} ms`,
        true,
      );
    }
    if (isReplyError(err)) {
      this.metrics.errors.inc({ kind: 'error' });
      this.log.warn({ op, err: message }, 'redis refused a command');
      return new EngineUnavailableError('down', `Redis refused ${op}: ${message}`);
    }
    this.metrics.errors.inc({ kind: 'connection' });
    this.markUnavailable(`${op}: ${message}`);
    return new EngineUnavailableError('down', `not confirmed: lost Redis (${message})`, true);
  }

  private async evalScript(s: LuaScript, keys: string[], args: Array<string | number>): Promise<unknown> {
    try {
      return await this.cmd.evalsha(s.sha, keys.length, ...keys, ...args);
    } catch (err) {
      // Scripts are loaded at every recovery; this covers a SCRIPT FLUSH while running.
      if (err instanceof Error && err.message.startsWith('NOSCRIPT')) {
        return this.cmd.eval(s.source, keys.length, ...keys, ...args);
      }
      throw err;
    }
  }

  private roomScript(
    op: string,
    s: LuaScript,
    room: string,
    withDeadline: boolean,
    args: Array<string | number>,
    viaRecovery = false,
  ): Promise<unknown> {
    const keys = this.keys(room);
    // Half the timeout: a command Redis runs after its sender has given up must find itself late.
    const deadline = withDeadline
      ? Math.round(Date.now() + this.clockOffsetMs + this.opts.commandTimeoutMs / 2)
      : 0;
    const all = [
      keys.pub,
      this.sharded ? 'SPUBLISH' : 'PUBLISH',
      this.opts.streamLength,
      this.opts.streamIdleS,
      deadline,
      this.opts.emptyRoomTtlS,
      ...args,
    ];
    const run = () => this.evalScript(s, roomKeyList(keys), all);
    return viaRecovery ? this.timed(op, run) : this.call(op, run);
  }

  private async loadScripts(): Promise<void> {
    await this.timed('script-load', () =>
      Promise.all(ALL_SCRIPTS.map((s) => this.cmd.script('LOAD', s.source) as Promise<unknown>)),
    );
  }

  // ---- following rooms ----------------------------------------------------------------------------

  private readonly feedIo: FeedIo = {
    tail: (room, epoch, seq) => this.tail(room, epoch, seq),
    deliver: (delivery) => {
      if (delivery.replayed) this.metrics.replayed.inc();
      this.emit('delivery', delivery);
    },
    resync: (resync) => {
      this.metrics.resyncs.inc({ reason: resync.reason });
      this.log.warn({ room: resync.room, channels: resync.channels.length, reason: resync.reason }, 'resync');
      this.emit('resync', resync);
    },
    gap: (outcome) => this.metrics.gaps.inc({ outcome }),
    failed: (room, err) => {
      this.log.debug({ room, err }, 'catch-up failed; retried');
      this.retryBehind.add(room);
    },
  };

  /** Subscribes, registers the room under this instance (for a sweep), then sets the cursor. */
  private async follow(feed: RoomFeed): Promise<void> {
    await this.subscribe([feed.room]);
    await this.call('register-room', () =>
      this.cmd.sadd(instanceRoomsKey(this.opts.prefix, this.token), feed.room),
    );
    const [epoch, seq] = await this.call('cursor', () =>
      this.cmd.hmget(this.keys(feed.room).meta, 'epoch', 'seq'),
    );
    feed.start(epoch ?? null, epoch ? Number(seq) : 0);
  }

  private async subscribe(rooms: string[]): Promise<void> {
    const channels = rooms.map((r) => this.keys(r).pub);
    if (channels.length === 0) return;
    await this.timed('subscribe', async () => {
      if (this.sharded) await Promise.all(channels.map((c) => this.sub.ssubscribe(c)));
      else await this.sub.subscribe(...channels);
    });
  }

  private async tail(room: string, epoch: string | null, seq: number): Promise<Tail> {
    const keys = this.keys(room);
    const reply = (await this.call('tail', () =>
      this.evalScript(TAIL, [keys.meta, keys.log], [seq, epoch ?? '', TAIL_BATCH]),
    )) as Array<string | number>;
    if (reply[0] === 'none') return { kind: 'none' };
    const entries: RoomEntry[] = [];
    for (const text of reply.slice(3)) {
      const entry = parseEntry(String(text));
      if (entry) entries.push(entry);
      else this.log.warn({ room }, 'malformed entry in room stream');
    }
    return { kind: 'ok', epoch: String(reply[1]), seq: Number(reply[2]), entries };
  }

  private onLive(channel: string, text: string): void {
    const feed = this.byPubChannel.get(channel);
    if (!feed) return;
    const entry = parseEntry(text);
    if (!entry) {
      // Not ours or corrupt: its seq goes missing, so the next event shows a gap and the stream decides.
      this.log.warn({ room: feed.room }, 'malformed live event');
      return;
    }
    feed.live(entry);
  }

  private forget(feed: RoomFeed): void {
    this.rooms.delete(feed.room);
    this.byPubChannel.delete(this.keys(feed.room).pub);
    this.idleSince.delete(feed.room);
    this.behind.delete(feed.room);
    this.retryBehind.delete(feed.room);
  }

  /** Stops following rooms no local socket has been in for a while (and that owe no release). */
  private dropIdleRooms(): void {
    const now = performance.now();
    const owed = new Set([...this.pendingReleases.values(), ...this.releasing.values()]);
    for (const [room, since] of this.idleSince) {
      const feed = this.rooms.get(room);
      if (!feed || feed.channels.size > 0 || owed.has(room) || this.opening.has(room)) continue;
      if (now - since < IDLE_ROOM_MS) continue;
      this.forget(feed);
      const pub = this.keys(room).pub;
      const unsubscribe = this.sharded ? this.sub.sunsubscribe(pub) : this.sub.unsubscribe(pub);
      const unregister = this.cmd.srem(instanceRoomsKey(this.opts.prefix, this.token), room);
      // Failing here only leaves a subscription nobody listens to, or a room a sweep finds empty.
      Promise.all([unsubscribe, unregister]).catch((err) => this.log.debug({ err, room }, 'idle room drop'));
    }
  }

  // ---- liveness -----------------------------------------------------------------------------------

  private tick(): void {
    if (this.ticking || this.closing) return;
    this.ticking = true;
    this.due()
      .catch((err) => this.log.debug({ err }, 'engine tick failed'))
      .finally(() => {
        this.ticking = false;
      });
  }

  private async due(): Promise<void> {
    if (this.current === 'unavailable') return this.recover();
    if (this.current !== 'ready') return;
    const now = performance.now();
    if (now - this.lastBeatAt >= this.opts.heartbeatMs) {
      this.lastBeatAt = now;
      try {
        await this.beat();
      } catch (err) {
        // Not knowing whether Redis still counts us alive is reason enough to stop serving.
        this.markUnavailable(`heartbeat failed: ${err instanceof Error ? err.message : String(err)}`);
        return;
      }
    }
    // After an outage every instance is behind on its heartbeat: give the others a full ttl to catch up
    // before declaring anyone dead.
    if (
      !this.sweeping &&
      now - this.lastSweepAt >= this.opts.heartbeatMs &&
      Date.now() - this.readySince >= this.opts.instanceTtlMs
    ) {
      this.lastSweepAt = now;
      // In the background: a long sweep must not delay this instance's own heartbeat.
      this.sweeping = this.sweepDead()
        .catch((err) => this.log.debug({ err }, 'sweep failed; retried'))
        .finally(() => {
          this.sweeping = undefined;
        });
    }
    for (const room of this.retryBehind) this.behind.add(room);
    this.retryBehind.clear();
    this.catchUpBehind();
    this.dropIdleRooms();
  }

  /** Reads back the rooms that owe it, a few at a time; one that fails comes back to the set. */
  private catchUpBehind(): void {
    for (const room of this.behind) {
      const limit = Math.max(1, Math.min(CATCH_UP_CONCURRENCY, Math.floor(this.opts.maxInFlight / 4)));
      if (this.catchingUp >= limit || this.current !== 'ready') return;
      this.behind.delete(room);
      const feed = this.rooms.get(room);
      if (!feed?.isStarted) continue;
      this.catchingUp++;
      feed.catchUp().finally(() => {
        this.catchingUp--;
        this.catchUpBehind();
      });
    }
  }

  private async beat(): Promise<void> {
    const sentAt = Date.now();
    const [status, generation, redisNow] = (await this.timed('heartbeat', () =>
      this.evalScript(
        HEARTBEAT,
        [this.registry.instances, this.registry.sweeping, this.registry.generation],
        [this.token, this.opts.instanceTtlMs, this.generation, randomId(), this.registered ? '0' : '1'],
      ),
    )) as [string, string, number];
    this.clockOffsetMs = redisNow - (sentAt + Date.now()) / 2;
    if (status === 'ok') {
      this.generation = generation;
      this.registered = true;
      return;
    }
    await this.reincarnate(status === 'reset' ? 'reset' : 'swept');
  }

  /**
   * This incarnation is gone from Redis (swept as dead, or Redis lost its data): every local socket must
   * rejoin, and the instance registers again under a new token.
   */
  private async reincarnate(reason: 'reset' | 'swept'): Promise<void> {
    this.log.warn(
      { reason, token: this.token },
      'this instance lost its place in Redis; sockets must rejoin',
    );
    this.token = `${this.instanceId}#${randomId()}`;
    this.registered = false;
    for (const feed of this.rooms.values()) feed.resync(reason);
    await this.beat();
    const rooms = [...this.rooms.keys()];
    if (rooms.length > 0) {
      await this.timed('register-room', () =>
        this.cmd.sadd(instanceRoomsKey(this.opts.prefix, this.token), ...rooms),
      );
    }
  }

  private async sweepDead(): Promise<void> {
    const lease = Math.max(10 * this.opts.instanceTtlMs, 30_000);
    const dead = (await this.timed('take-dead', () =>
      this.evalScript(TAKE_DEAD, [this.registry.instances, this.registry.sweeping], [this.token, lease, 16]),
    )) as string[];
    for (const token of dead) await this.sweepInstance(token);
  }

  private async sweepInstance(token: string): Promise<void> {
    const roomsKey = instanceRoomsKey(this.opts.prefix, token);
    let cursor = '0';
    let released = 0;
    do {
      const [next, rooms] = await this.timed('sweep', () =>
        this.cmd.sscan(roomsKey, cursor, 'COUNT', SWEEP_BATCH),
      );
      const counts = await Promise.all(
        rooms.map((room) => this.roomScript('sweep', SWEEP, room, false, [token], true) as Promise<number>),
      );
      released += counts.reduce((a, b) => a + Number(b), 0);
      cursor = next;
    } while (cursor !== '0');
    await this.timed('sweep', () => this.cmd.del(roomsKey));
    await this.timed('sweep', () => this.cmd.zrem(this.registry.sweeping, token));
    this.metrics.swept.inc(released);
    this.log.warn({ dead: token, released }, 'swept a dead instance');
  }

  private setState(state: EngineState): void {
    if (this.current === state || this.current === 'closed') return;
    this.current = state;
    this.metrics.available.set(state === 'ready' ? 1 : 0);
    this.emit('state', state);
  }

  private markUnavailable(why: string): void {
    if (this.current !== 'ready') return;
    this.log.warn({ why }, 'room engine unavailable');
    this.setState('unavailable');
  }

  /**
   * Back from an outage: scripts (Redis may have restarted), heartbeat (were we swept? did Redis lose its
   * data?), subscriptions, the releases owed, then every room reads back what it missed.
   */
  private recover(): Promise<void> {
    if (this.recovering || this.closing) return this.recovering ?? Promise.resolve();
    if (this.cmd.status !== 'ready' || this.sub.status !== 'ready') return Promise.resolve();
    this.recovering = (async () => {
      await this.timed('ping', () => this.cmd.ping());
      await this.loadScripts();
      await this.beat();
      await this.subscribe([...this.rooms.keys()]);
      const rooms = [...this.rooms.keys()];
      if (rooms.length > 0) {
        await this.timed('register-room', () =>
          this.cmd.sadd(instanceRoomsKey(this.opts.prefix, this.token), ...rooms),
        );
      }
      for (const [channel, room] of [...this.pendingReleases]) {
        await this.roomScript('leave', LEAVE, room, false, [channel], true);
        this.pendingReleases.delete(channel);
      }
      if (this.closing) return;
      this.readySince = Date.now();
      this.setState('ready');
      this.log.info('room engine recovered');
      for (const room of this.rooms.keys()) this.behind.add(room);
      this.catchUpBehind();
    })()
      .catch((err) => this.log.debug({ err }, 'recovery failed; retrying'))
      .finally(() => {
        this.recovering = undefined;
      });
    return this.recovering;
  }

  // ---- shutdown -----------------------------------------------------------------------------------

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    clearInterval(this.timer);
    if (this.current === 'ready' || this.current === 'unavailable') {
      // The rest of each room hears 'left' now rather than after a sweep. Everything owed is released
      // here: local members, releases kept from an outage, and releases still in flight.
      const owed = new Map([...this.pendingReleases, ...this.releasing]);
      for (const feed of this.rooms.values()) {
        for (const [channel, ch] of feed.channels) if (ch.mayBeMember) owed.set(channel, feed.room);
      }
      const released = await Promise.allSettled(
        [...owed].map(([channel, room]) => this.roomScript('leave', LEAVE, room, false, [channel], true)),
      );
      // Deregistered only when nothing is left behind: a member whose host is not registered would never
      // be swept. Otherwise the others sweep the rest once this instance's heartbeat stops.
      if (released.every((r) => r.status === 'fulfilled')) {
        await Promise.allSettled([
          this.timed('deregister', () => this.cmd.del(instanceRoomsKey(this.opts.prefix, this.token))),
          this.timed('deregister', () => this.cmd.zrem(this.registry.instances, this.token)),
        ]);
      } else {
        this.log.warn('closed with releases undone; the other instances will sweep them');
      }
    }
    this.pendingReleases.clear();
    this.setState('closed');
    this.cmd.disconnect();
    this.sub.disconnect();
  }
}
