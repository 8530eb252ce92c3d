import { once } from 'node:events';
import {
  createServer,
  type Server as HttpServer,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { type RawData, WebSocket, WebSocketServer } from 'ws';
import { UsageError } from '../util/errors.js';
import { type Logger, silentLogger } from '../util/log.js';
import { Connection, newChannelId } from './connection.js';
import { STANDARD_CLOSE_CODES } from './constants.js';
import { Deliveries } from './delivery.js';
import { EngineUnavailableError, type RoomEngine } from './engine/engine.js';
import { MemoryEngine } from './engine/memory.js';
import { EngineMetrics } from './engine/metrics.js';
import { RedisEngine } from './engine/redis.js';
import { checkFrame } from './frame-checks.js';
import { type Health, handleRequest } from './http-endpoints.js';
import { actionLabel, type FailurePoint, SignalingMetrics } from './metrics.js';
import { type ResolvedOptions, resolveOptions, type ServerOptions } from './options.js';
import {
  CLOSE_CODES,
  type ClientMessage,
  type ClosingCode,
  type ErrorCode,
  errorMessage,
} from './protocol.js';
import { LocalRooms, relayedFrame, routeOf } from './rooms.js';
import { admitUpgrade, httpReason } from './upgrade.js';

export type { ServerOptions } from './options.js';

/** How long close() lets sockets finish their closing handshake before terminating them. */
const CLOSE_GRACE_MS = 1000;
/** Frames beyond the protocol limit by more than this are not even buffered: ws closes with 1009. */
const HARD_CAP_MARGIN_BYTES = 1024 * 1024;

/**
 * `engage serve`: rooms, unique usernames, offer/answer relay, leave notices (docs/protocol.md).
 *
 * The pipeline: HTTP endpoints (http-endpoints.ts); admission of an upgrade (upgrade.ts, then the room
 * engine for a taken name); a Connection per socket (its rate buckets, heartbeat, token expiry, and its
 * frames handled one at a time); the frame checks (frame-checks.ts); the room rules, which say whom a
 * message goes to (rooms.ts); and the room engine, which carries them out against the room's state, in
 * this process (MemoryEngine, the default) or shared with other instances (RedisEngine, `--redis`), and
 * hands back what reaches this server's sockets (delivery.ts).
 *
 * Every frame is validated here, at the boundary; nothing a client sends can stop it serving the others.
 * Every event handler is guarded: an exception in one becomes an `internal-error` reply (for a frame), a
 * logged and counted failure, never a process exit.
 */
export class SignalingServer {
  readonly metrics: SignalingMetrics;
  /** The room engine this server owns (and closes). */
  readonly engine: RoomEngine;
  private readonly opts: ResolvedOptions;
  private readonly log: Logger;
  private readonly http: HttpServer;
  private readonly wss: WebSocketServer;
  private readonly local = new LocalRooms();
  private readonly deliveries: Deliveries;
  /** Every open socket, named or pending. */
  private readonly connections = new Set<Connection>();
  /** Upgrades between admission and their socket (they count toward --max-sockets). */
  private upgrading = 0;
  /** Leaves sent to the engine and not yet done; close() waits for them. */
  private readonly leaving = new Set<Promise<void>>();
  private heartbeat: NodeJS.Timeout | undefined;
  private closing: Promise<void> | undefined;
  private readonly startedAt = Date.now();
  private uncaughtErrors = 0;

  private constructor(opts: ResolvedOptions, log: Logger, engine: RoomEngine, metrics: SignalingMetrics) {
    this.opts = opts;
    this.log = log;
    this.engine = engine;
    this.metrics = metrics;
    // Frames between the protocol limit and this hard cap are answered with `too-large` and the socket
    // stays; only frames beyond it (which ws would otherwise buffer whole) close the socket with 1009.
    // UTF-8 is checked in the frame path, so that invalid text is answered like any other bad frame.
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: this.opts.maxMessageBytes + HARD_CAP_MARGIN_BYTES,
      perMessageDeflate: false,
      skipUTF8Validation: true,
    });
    const onRequest = (req: IncomingMessage, res: ServerResponse) =>
      this.guard('request', () =>
        handleRequest(req, res, {
          health: () => this.health(),
          metrics: () => this.metricsText(),
          fallback: this.opts.httpFallback,
          log: this.log,
        }),
      );
    this.http = this.opts.tls ? createHttpsServer(this.opts.tls, onRequest) : createServer(onRequest);
    this.http.on('upgrade', (req, socket, head) => this.onUpgrade(req, socket, head));
    this.http.on('clientError', (_err, socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
      else socket.destroy();
    });
    this.deliveries = new Deliveries({
      metrics: this.metrics,
      send: (conn, frame) => this.send(conn, frame),
      rejoin: (conn, why) => this.refuse(conn, 'rejoin', why),
    });
    engine.on('delivery', (d) => this.guard('delivery', () => this.deliveries.deliver(d)));
    engine.on('resync', (r) => this.guard('delivery', () => this.deliveries.resync(r)));
    engine.on('state', (state) => this.log.info({ engine: state }, 'room engine state'));
  }

  /**
   * Starts the room engine (`options.engine`, a RedisEngine for `options.redis`, or a MemoryEngine of its
   * own), then listens; resolves once the port is bound. Rejects, with nothing left running, when Redis
   * cannot be reached or the port is taken.
   */
  static async start(options: ServerOptions = {}): Promise<SignalingServer> {
    const opts = resolveOptions(options);
    const log = (options.logger ?? silentLogger).child({ component: 'signaling' });
    const metrics = new SignalingMetrics();
    const engine =
      options.engine ??
      (opts.redis
        ? await RedisEngine.start({
            ...opts.redis,
            logger: options.logger,
            metrics: new EngineMetrics(metrics.registry),
          })
        : new MemoryEngine());
    const server = new SignalingServer(opts, log, engine, metrics);
    try {
      await server.listen();
    } catch (err) {
      await engine.close();
      throw err;
    }
    return server;
  }

  private async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const onError = (e: NodeJS.ErrnoException) => {
        if (e.code === 'EADDRINUSE')
          reject(new UsageError(`port ${this.opts.port} on ${this.opts.host} is already in use`));
        else if (e.code === 'EADDRNOTAVAIL')
          reject(new UsageError(`cannot listen on ${this.opts.host}: no such local address`));
        else reject(e);
      };
      this.http.once('error', onError);
      this.http.listen(this.opts.port, this.opts.host, () => {
        this.http.off('error', onError);
        resolve();
      });
    });
    this.http.on('error', (err) => this.log.error({ err }, 'server socket error'));
    this.heartbeat = setInterval(
      () => this.guard('heartbeat', () => this.checkHeartbeats()),
      this.opts.heartbeatIntervalMs,
    );
    this.heartbeat.unref();
    this.log.info({ url: this.url, instance: this.engine.instanceId }, 'listening');
  }

  get address(): AddressInfo {
    return this.http.address() as AddressInfo;
  }

  /** `ws://host:port` (or `wss://` with TLS), with the real port. */
  get url(): string {
    const { address, family, port } = this.address;
    const host = family === 'IPv6' ? `[${address}]` : address;
    return `${this.opts.tls ? 'wss' : 'ws'}://${host}:${port}`;
  }

  get closed(): boolean {
    return this.closing !== undefined;
  }

  /** Rooms with at least one member on this server, and its open sockets (members and pending). */
  get stats(): { rooms: number; sockets: number } {
    return { rooms: this.local.roomCount, sockets: this.wss.clients.size };
  }

  /**
   * Records an error that escaped every handler of the process (see run.ts): counted, and /healthz says
   * `degraded` from then on, so that an operator can restart the process when it suits them.
   */
  recordUncaught(kind: 'exception' | 'rejection'): void {
    this.uncaughtErrors++;
    this.metrics.uncaughtErrors.inc({ kind });
  }

  /**
   * Stops accepting, closes every socket with 1001, lets the engine release their names (the rest of
   * each room, on other instances, hears `peer-left` at once), closes the engine, and resolves when all
   * is done. Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    clearInterval(this.heartbeat);
    const httpClosed = new Promise<void>((resolve) => this.http.close(() => resolve()));
    const clients = [...this.wss.clients];
    for (const ws of clients) ws.close(STANDARD_CLOSE_CODES.goingAway, 'server shutting down');
    const allClosed = Promise.all(
      clients.map((ws) => (ws.readyState === WebSocket.CLOSED ? undefined : once(ws, 'close'))),
    );
    const grace = new Promise((resolve) => setTimeout(resolve, CLOSE_GRACE_MS).unref());
    await Promise.race([allClosed, grace]);
    for (const ws of this.wss.clients) ws.terminate();
    this.http.closeAllConnections();
    this.wss.close();
    await httpClosed;
    await Promise.allSettled([...this.leaving]);
    await this.engine.close();
    this.log.info('closed');
  }

  /** Runs one event handler; an exception in it is logged and counted, and `onError` may answer it. */
  private guard(where: FailurePoint, fn: () => void, onError?: () => void): void {
    try {
      fn();
    } catch (err) {
      this.internalError(where, err, onError);
    }
  }

  private internalError(where: FailurePoint, err: unknown, onError?: () => void): void {
    this.metrics.internalErrors.inc({ where });
    this.log.error({ err, where }, 'internal error; the server carries on');
    try {
      onError?.();
    } catch (err2) {
      this.log.error({ err: err2, where }, 'internal error while answering an internal error');
    }
  }

  // ---- plain HTTP -------------------------------------------------------------------------------

  private health(): Health {
    const status = this.closed
      ? 'closing'
      : this.engine.state !== 'ready'
        ? 'unavailable'
        : this.uncaughtErrors > 0
          ? 'degraded'
          : 'ok';
    return {
      status,
      rooms: this.local.roomCount,
      sockets: this.wss.clients.size,
      uptime_s: Math.round((Date.now() - this.startedAt) / 1000),
      uncaught_errors: this.uncaughtErrors,
      instance: this.engine.instanceId,
      engine: this.engine.state,
    };
  }

  private async metricsText(): Promise<{ contentType: string; text: string }> {
    this.metrics.sockets.set(this.wss.clients.size);
    this.metrics.rooms.set(this.local.roomCount);
    return { contentType: this.metrics.contentType, text: await this.metrics.text() };
  }

  // ---- upgrade ----------------------------------------------------------------------------------

  private refuseUpgrade(socket: Duplex, status: number, reason: string): void {
    this.metrics.upgradesRefused.inc({ status: String(status) });
    const body = `${reason}\n`;
    socket.end(
      `HTTP/1.1 ${status} ${httpReason(status)}\r\nConnection: close\r\nContent-Type: text/plain\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  }

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    this.upgrading++;
    this.upgrade(req, socket, head)
      .catch((err) =>
        this.internalError('upgrade', err, () => this.refuseUpgrade(socket, 500, 'internal error')),
      )
      .finally(() => {
        this.upgrading--;
      });
  }

  private async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    if (this.closed) return this.refuseUpgrade(socket, 503, 'server is shutting down');
    // This upgrade is one of `upgrading`.
    if (this.wss.clients.size + this.upgrading > this.opts.maxSockets) {
      return this.refuseUpgrade(socket, 503, `server is at its limit of ${this.opts.maxSockets} sockets`);
    }
    if (this.engine.state !== 'ready') return this.refuseUpgrade(socket, 503, this.unavailableReason());
    const admission = admitUpgrade(req, {
      allowedOrigins: this.opts.allowedOrigins,
      authSecret: this.opts.authSecret,
    });
    if (!admission.ok) return this.refuseUpgrade(socket, admission.status, admission.reason);
    const { room, username, expiresAtS } = admission;
    const channel = newChannelId();
    try {
      if (username !== null && (await this.engine.holder(room, username)) !== undefined) {
        return this.refuseUpgrade(socket, 409, `username "${username}" is taken in room ${room}`);
      }
      // From here on the room's events reach this channel; the socket exists only once that holds.
      await this.engine.open(room, channel);
    } catch (err) {
      if (!(err instanceof EngineUnavailableError)) throw err;
      return this.refuseUpgrade(socket, 503, `${this.unavailableReason()} (${err.message})`);
    }
    if (this.closed || !socket.writable) {
      this.leave(room, channel);
      if (socket.writable) this.refuseUpgrade(socket, 503, 'server is shutting down');
      return;
    }
    let accepted = false;
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      accepted = true;
      this.guard(
        'connection',
        () => this.onConnection(ws, room, channel, username, expiresAtS),
        () => ws.terminate(),
      );
    });
    // ws refused the handshake itself (a bad key or version): no socket, so nothing stays open.
    if (!accepted) this.leave(room, channel);
  }

  private unavailableReason(): string {
    return this.engine.closed
      ? 'server is shutting down'
      : 'the shared room state is unavailable; try another instance';
  }

  // ---- sockets ----------------------------------------------------------------------------------

  private onConnection(
    ws: WebSocket,
    roomName: string,
    channel: string,
    username: string | null,
    expiresAtS?: number,
  ): void {
    const conn = new Connection(roomName, channel, ws, this.opts, username ?? undefined, expiresAtS);
    // First, so that whatever happens next, the engine hears of the socket's end.
    ws.on('close', () => this.guard('close', () => this.onClose(conn)));
    this.connections.add(conn);
    this.deliveries.add(conn);
    ws.on('error', (err) => this.log.debug({ err, room: roomName }, 'socket error'));
    ws.on('pong', () => {
      conn.lastSeen = performance.now();
    });
    ws.on('message', (data, isBinary) =>
      this.guard(
        'frame',
        () => this.onFrame(conn, data, isBinary),
        () =>
          this.sendError(conn, 'internal-error', 'the server failed to handle this frame; it was dropped'),
      ),
    );
    conn.joinTimer = setTimeout(
      () => this.guard('heartbeat', () => this.onJoinTimeout(conn)),
      this.opts.joinTimeoutMs,
    );
    conn.joinTimer.unref();
    if (username !== null) {
      conn.enqueue(() =>
        this.task(conn, undefined, async () => {
          await this.claim(conn, username);
        }),
      );
    }
  }

  private onJoinTimeout(conn: Connection): void {
    if (conn.standing === 'member' || !conn.isOpen) return;
    this.refuse(
      conn,
      'join-timeout',
      `no name within ${this.opts.joinTimeoutMs} ms of connecting; send new-join (or use ?username=) at once`,
    );
  }

  /** Sends the error and closes with the code that goes with it. */
  private refuse(conn: Connection, code: ClosingCode, message: string, ref?: string): void {
    this.sendError(conn, code, message, ref);
    conn.close(CLOSE_CODES[code], code);
  }

  private onClose(conn: Connection): void {
    clearTimeout(conn.joinTimer);
    this.connections.delete(conn);
    this.deliveries.remove(conn);
    this.local.remove(conn);
    this.log.debug({ room: conn.roomName, peer: conn.name }, 'left');
    // The engine frees the name and tells the rest of the room (peer-left), wherever they are.
    this.leave(conn.roomName, conn.channel);
  }

  private leave(room: string, channel: string): void {
    const done: Promise<void> = this.engine
      .leave(room, channel)
      .catch((err) => this.log.warn({ err, room }, 'leave failed'))
      .finally(() => this.leaving.delete(done));
    this.leaving.add(done);
  }

  private checkHeartbeats(): void {
    const now = performance.now();
    const nowS = Date.now() / 1000;
    for (const conn of this.connections) {
      if (!conn.isOpen) continue;
      if (conn.tokenExpired(nowS)) {
        this.refuse(conn, 'unauthorized', 'token has expired; reconnect with a fresh one');
      } else if (conn.silentFor(now) > this.opts.heartbeatTimeoutMs) {
        this.log.info({ room: conn.roomName, peer: conn.name }, 'terminating silent socket');
        conn.socket.terminate();
      } else {
        conn.socket.ping();
      }
    }
  }

  // ---- frames -----------------------------------------------------------------------------------

  /**
   * The frame path, in the order of docs/protocol.md ("Checks, in order"). Checks 1-9 are decided on
   * arrival; what needs the room (identity, then the relay) is queued on the connection, so a socket's
   * frames are handled one at a time and in order, however long the engine takes.
   */
  private onFrame(conn: Connection, data: RawData, isBinary: boolean): void {
    // A socket being closed by the server gets no more answers.
    if (!conn.isOpen) return;
    const receivedAt = performance.now();
    conn.lastSeen = receivedAt;
    if (conn.tokenExpired()) {
      return this.refuse(conn, 'unauthorized', 'token has expired; reconnect with a fresh one');
    }
    const check = checkFrame(conn, data, isBinary, this.opts, receivedAt);
    if (!check.ok) {
      this.metrics.countIn('invalid');
      // A flood is answered at once (the bucket said no); other refusals keep their place after the frames
      // queued before them. Either way nothing unbounded waits: the bucket admitted what is queued.
      if (check.code === 'rate-limited' || conn.backlog === 0) {
        this.sendError(conn, check.code, check.message, check.ref);
      } else {
        conn.enqueue(async () => this.sendError(conn, check.code, check.message, check.ref));
      }
      return;
    }
    const msg = check.msg;
    this.metrics.countIn(actionLabel(msg.action));
    conn.enqueue(() => this.task(conn, msg.action, () => this.handle(conn, msg, receivedAt)));
  }

  /**
   * Runs one queued step for a socket. The engine being unreachable is answered with `unavailable` (the
   * socket stays and may retry); anything else is a bug, answered with `internal-error`.
   */
  private async task(conn: Connection, ref: string | undefined, fn: () => Promise<void>): Promise<void> {
    try {
      if (conn.isOpen) await fn();
    } catch (err) {
      if (err instanceof EngineUnavailableError) return this.unavailable(conn, err, ref);
      this.internalError('frame', err, () =>
        this.sendError(conn, 'internal-error', 'the server failed to handle this frame; it was dropped', ref),
      );
    }
  }

  private unavailable(conn: Connection, err: EngineUnavailableError, ref?: string): void {
    const what = ref === undefined ? 'taking the name of ?username=' : ref;
    const message = err.maybeDone
      ? `not confirmed: the shared room state stopped answering during ${what}; it may have been done (${err.message})`
      : `the shared room state is unavailable: ${what} was not done; retry (${err.message})`;
    this.sendError(conn, 'unavailable', message, ref);
  }

  private async handle(conn: Connection, msg: ClientMessage, receivedAt: number): Promise<void> {
    // A member under its own name, the common case, needs no identity step.
    if (!(conn.isMember && msg.peer === conn.name) && !(await this.checkIdentity(conn, msg))) return;
    await this.dispatch(conn, msg);
    this.metrics.relayLatency.observe((performance.now() - receivedAt) / 1000);
  }

  /** Check 10: the first message binds the socket's name (and makes it a member); later ones must keep it. */
  private async checkIdentity(conn: Connection, msg: ClientMessage): Promise<boolean> {
    const bound = conn.name ?? conn.requiredName;
    if (bound !== undefined && msg.peer !== bound) {
      this.sendError(
        conn,
        'identity-changed',
        `this socket is "${bound}"; it cannot speak as "${msg.peer}"`,
        msg.action,
      );
      return false;
    }
    if (conn.isMember) return true;
    return this.claim(conn, msg.peer, msg.action);
  }

  /** Makes a pending socket a member of its room under `name`; false (and the socket closing) if not. */
  private async claim(conn: Connection, name: string, ref?: string): Promise<boolean> {
    conn.startClaim();
    let result: Awaited<ReturnType<RoomEngine['claim']>>;
    try {
      result = await this.engine.claim(conn.roomName, conn.channel, name, this.opts.maxRoomSize);
    } catch (err) {
      conn.endClaim(undefined);
      throw err;
    }
    if (!result.ok) {
      conn.endClaim(undefined);
      if (result.reason === 'taken') {
        this.refuse(conn, 'username-taken', `username "${name}" is taken in room ${conn.roomName}`, ref);
      } else if (result.reason === 'full') {
        this.refuse(
          conn,
          'room-full',
          `room ${conn.roomName} is full (${this.opts.maxRoomSize} members)`,
          ref,
        );
      } else {
        // An earlier claim of another name by this socket took effect after all (it was not confirmed).
        this.sendError(conn, 'identity-changed', `this socket already claimed another name`, ref);
      }
      return false;
    }
    const held = conn.endClaim(name);
    // Closed while the claim was in flight: its close already left the room (the engine orders the two).
    if (!conn.isOpen) return false;
    this.local.add(conn);
    if (held === undefined) {
      this.refuse(conn, 'rejoin', 'the room moved on faster than this socket could join; rejoin', ref);
      return false;
    }
    for (const out of held) this.deliveries.sendTo(conn, out);
    return true;
  }

  /** The room rules (rooms.ts) say whom it goes to; the engine carries it out. */
  private async dispatch(conn: Connection, msg: ClientMessage): Promise<void> {
    const route = routeOf(msg);
    const relay = relayedFrame(msg, conn.channel);
    const room = conn.roomName;
    let result: { ok: true } | { ok: false; reason: string };
    switch (route.kind) {
      case 'join':
        result = await this.engine.join(room, conn.channel, relay.frame);
        break;
      case 'direct':
        result = await this.engine.sendTo(room, conn.channel, route.to, relay);
        break;
      case 'broadcast':
        result = await this.engine.broadcast(room, conn.channel, relay);
        break;
    }
    if (result.ok) return;
    if (result.reason === 'unknown-target') {
      return this.sendError(conn, 'unknown-target', `no member of room ${room} has that channel`, msg.action);
    }
    // not-member: this socket had a name, and the room's state no longer knows it.
    this.refuse(conn, 'rejoin', 'this socket lost its place in the room; rejoin', msg.action);
  }

  // ---- sending ----------------------------------------------------------------------------------

  /** Sends unless the socket is closed or its peer stopped reading, in which case it is cut off. */
  private send(conn: Connection, frame: string): boolean {
    const buffered = conn.socket.bufferedAmount;
    const outcome = conn.send(frame);
    if (outcome === 'cut') {
      this.metrics.slowConsumersCut.inc();
      this.log.warn(
        { room: conn.roomName, peer: conn.name, buffered },
        'terminating socket that stopped reading',
      );
    }
    return outcome === 'sent';
  }

  private sendError(conn: Connection, code: ErrorCode, message: string, ref?: string): void {
    this.metrics.countError(code);
    this.log.debug({ room: conn.roomName, peer: conn.name, code, ref }, message);
    if (this.send(conn, JSON.stringify(errorMessage(code, message, ref)))) {
      this.metrics.countOut('error', 1);
    }
  }
}
