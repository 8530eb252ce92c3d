import { isUtf8 } from 'node:buffer';
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
import { Connection } from './connection.js';
import { STANDARD_CLOSE_CODES } from './constants.js';
import { actionLabel, type FailurePoint, SignalingMetrics } from './metrics.js';
import { type ResolvedOptions, resolveOptions, type ServerOptions } from './options.js';
import {
  CLOSE_CODES,
  type ClientMessage,
  type ClosingCode,
  type ErrorCode,
  errorMessage,
  isBroadcast,
  type NewAnswer,
  type NewOffer,
  type PeerLeft,
  parseClientFrame,
} from './protocol.js';
import { RoomRegistry } from './rooms.js';
import { admitUpgrade, httpReason } from './upgrade.js';

export type { ServerOptions } from './options.js';

/** How long close() lets sockets finish their closing handshake before terminating them. */
const CLOSE_GRACE_MS = 1000;
/** Frames beyond the protocol limit by more than this are not even buffered: ws closes with 1009. */
const HARD_CAP_MARGIN_BYTES = 1024 * 1024;

/**
 * `engage serve`: rooms, unique usernames, offer/answer relay, leave notices (docs/protocol.md).
 * Every frame is validated here, at the boundary, in the order docs/protocol.md gives; nothing a client
 * sends can stop it serving the others. Every event handler is guarded: an exception in one becomes an
 * `internal-error` reply (for a frame), a logged and counted failure, never a process exit.
 */
export class SignalingServer {
  readonly metrics = new SignalingMetrics();
  private readonly opts: ResolvedOptions;
  private readonly log: Logger;
  private readonly http: HttpServer;
  private readonly wss: WebSocketServer;
  private readonly registry = new RoomRegistry();
  /** Every open socket, named or pending. */
  private readonly connections = new Set<Connection>();
  private heartbeat: NodeJS.Timeout | undefined;
  private closing: Promise<void> | undefined;
  private readonly startedAt = Date.now();
  private uncaughtErrors = 0;

  private constructor(options: ServerOptions) {
    this.opts = resolveOptions(options);
    this.log = (options.logger ?? silentLogger).child({ component: 'signaling' });
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
      this.guard('request', () => this.onRequest(req, res));
    this.http = this.opts.tls ? createHttpsServer(this.opts.tls, onRequest) : createServer(onRequest);
    this.http.on('upgrade', (req, socket, head) => this.onUpgrade(req, socket, head));
    this.http.on('clientError', (_err, socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
      else socket.destroy();
    });
  }

  /** Starts listening; resolves once the port is bound. */
  static async start(options: ServerOptions = {}): Promise<SignalingServer> {
    const server = new SignalingServer(options);
    await server.listen();
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
    this.log.info({ url: this.url }, 'listening');
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

  /** Rooms with at least one member, and open sockets (members and sockets without a name yet). */
  get stats(): { rooms: number; sockets: number } {
    return { rooms: this.registry.roomCount, sockets: this.wss.clients.size };
  }

  /**
   * Records an error that escaped every handler of the process (see run.ts): counted, and /healthz says
   * `degraded` from then on, so that an operator can restart the process when it suits them.
   */
  recordUncaught(kind: 'exception' | 'rejection'): void {
    this.uncaughtErrors++;
    this.metrics.uncaughtErrors.inc({ kind });
  }

  /** Stops accepting, closes every socket with 1001, and resolves when all are gone. Idempotent. */
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
    this.log.info('closed');
  }

  /** Runs one event handler; an exception in it is logged and counted, and `onError` may answer it. */
  private guard(where: FailurePoint, fn: () => void, onError?: () => void): void {
    try {
      fn();
    } catch (err) {
      this.metrics.internalErrors.inc({ where });
      this.log.error({ err, where }, 'internal error; the server carries on');
      try {
        onError?.();
      } catch (err2) {
        this.log.error({ err: err2, where }, 'internal error while answering an internal error');
      }
    }
  }

  // ---- plain HTTP -------------------------------------------------------------------------------

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && path === '/healthz') {
      const status = this.closed ? 'closing' : this.uncaughtErrors > 0 ? 'degraded' : 'ok';
      const body = JSON.stringify({
        status,
        rooms: this.registry.roomCount,
        sockets: this.wss.clients.size,
        uptime_s: Math.round((Date.now() - this.startedAt) / 1000),
        uncaught_errors: this.uncaughtErrors,
      });
      res.writeHead(this.closed ? 503 : 200, { 'content-type': 'application/json' }).end(body);
      return;
    }
    if (req.method === 'GET' && path === '/metrics') {
      this.metrics.sockets.set(this.wss.clients.size);
      this.metrics.rooms.set(this.registry.roomCount);
      this.metrics.text().then(
        (text) => res.writeHead(200, { 'content-type': this.metrics.contentType }).end(text),
        (err) => {
          this.log.error({ err }, 'metrics failed');
          res.writeHead(500).end();
        },
      );
      return;
    }
    if (this.opts.httpFallback?.(req, res)) return;
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
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
    this.guard(
      'upgrade',
      () => this.upgrade(req, socket, head),
      () => this.refuseUpgrade(socket, 500, 'internal error'),
    );
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (this.closed) return this.refuseUpgrade(socket, 503, 'server is shutting down');
    if (this.wss.clients.size >= this.opts.maxSockets) {
      return this.refuseUpgrade(socket, 503, `server is at its limit of ${this.opts.maxSockets} sockets`);
    }
    const admission = admitUpgrade(req, {
      allowedOrigins: this.opts.allowedOrigins,
      authSecret: this.opts.authSecret,
      nameTaken: (room, name) => this.registry.get(room)?.memberNamed(name) !== undefined,
    });
    if (!admission.ok) return this.refuseUpgrade(socket, admission.status, admission.reason);
    const { room, username, expiresAtS } = admission;
    this.wss.handleUpgrade(req, socket, head, (ws) =>
      this.guard(
        'connection',
        () => this.onConnection(ws, room, username, expiresAtS),
        () => ws.terminate(),
      ),
    );
  }

  // ---- sockets ----------------------------------------------------------------------------------

  private onConnection(ws: WebSocket, roomName: string, username: string | null, expiresAtS?: number): void {
    const conn = new Connection(roomName, ws, this.opts);
    conn.expiresAtS = expiresAtS;
    this.connections.add(conn);
    ws.on('error', (err) => this.log.debug({ err, room: roomName }, 'socket error'));
    ws.on('close', () => this.guard('close', () => this.onClose(conn)));
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
    if (username !== null) {
      this.admit(conn, username);
      return;
    }
    conn.joinTimer = setTimeout(
      () => this.guard('heartbeat', () => this.onJoinTimeout(conn)),
      this.opts.joinTimeoutMs,
    );
    conn.joinTimer.unref();
  }

  private onJoinTimeout(conn: Connection): void {
    if (conn.name !== undefined || conn.socket.readyState !== WebSocket.OPEN) return;
    this.refuse(
      conn,
      'join-timeout',
      `no name within ${this.opts.joinTimeoutMs} ms of connecting; send new-join (or use ?username=) at once`,
    );
  }

  /** Makes a pending socket a member of its room under `name`; false (and the socket closing) if not. */
  private admit(conn: Connection, name: string, ref?: string): boolean {
    const result = this.registry.admit(conn, name, this.opts.maxRoomSize);
    if (result === 'ok') {
      clearTimeout(conn.joinTimer);
      return true;
    }
    if (result === 'taken') {
      this.refuse(conn, 'username-taken', `username "${name}" is taken in room ${conn.roomName}`, ref);
    } else {
      this.refuse(conn, 'room-full', `room ${conn.roomName} is full (${this.opts.maxRoomSize} members)`, ref);
    }
    return false;
  }

  /** Sends the error and closes with the code that goes with it. */
  private refuse(conn: Connection, code: ClosingCode, message: string, ref?: string): void {
    this.sendError(conn, code, message, ref);
    conn.socket.close(CLOSE_CODES[code], code);
  }

  private onClose(conn: Connection): void {
    clearTimeout(conn.joinTimer);
    this.connections.delete(conn);
    const { room, name } = conn;
    this.registry.remove(conn);
    this.log.debug({ room: conn.roomName, peer: name }, 'left');
    if (room === undefined || name === undefined || this.closed) return;
    const left: PeerLeft = {
      peer: name,
      action: 'peer-left',
      keyword: { receiver_channel_name: conn.channel },
    };
    this.deliver(room.members.values(), left);
  }

  private checkHeartbeats(): void {
    const now = performance.now();
    const nowS = Date.now() / 1000;
    for (const conn of this.connections) {
      if (conn.socket.readyState !== WebSocket.OPEN) continue;
      if (conn.expiresAtS !== undefined && nowS >= conn.expiresAtS) {
        this.refuse(conn, 'unauthorized', 'token has expired; reconnect with a fresh one');
      } else if (now - conn.lastSeen > this.opts.heartbeatTimeoutMs) {
        this.log.info({ room: conn.roomName, peer: conn.name }, 'terminating silent socket');
        conn.socket.terminate();
      } else {
        conn.socket.ping();
      }
    }
  }

  /** The frame path, in the order of docs/protocol.md ("Checks, in order"). */
  private onFrame(conn: Connection, data: RawData, isBinary: boolean): void {
    // A socket being closed by the server gets no more answers.
    if (conn.socket.readyState !== WebSocket.OPEN) return;
    const receivedAt = performance.now();
    conn.lastSeen = receivedAt;
    if (conn.expiresAtS !== undefined && Date.now() / 1000 >= conn.expiresAtS) {
      return this.refuse(conn, 'unauthorized', 'token has expired; reconnect with a fresh one');
    }
    if (!conn.bucket.take(receivedAt)) {
      return this.refuseFrame(
        conn,
        'rate-limited',
        `more than ${this.opts.rate} messages/s; message dropped`,
      );
    }
    const buffer = Buffer.isBuffer(data)
      ? data
      : Array.isArray(data)
        ? Buffer.concat(data)
        : Buffer.from(data); // a view of the ArrayBuffer, not a copy
    const msg = this.decode(conn, buffer, isBinary);
    if (msg === undefined || !this.withinBroadcastLimits(conn, msg, buffer.byteLength, receivedAt)) return;
    this.metrics.countIn(actionLabel(msg.action));
    if (!this.checkIdentity(conn, msg)) return;
    this.dispatch(conn, msg);
    this.metrics.relayLatency.observe((performance.now() - receivedAt) / 1000);
  }

  /** Checks 3-8: size, text, UTF-8, shape, JSON, envelope. Answers and returns undefined when one fails. */
  private decode(conn: Connection, buffer: Buffer, isBinary: boolean): ClientMessage | undefined {
    const max = this.opts.maxMessageBytes;
    if (buffer.byteLength > max) {
      this.refuseFrame(conn, 'too-large', `frame of ${buffer.byteLength} bytes exceeds ${max}`);
    } else if (isBinary) {
      this.refuseFrame(conn, 'bad-envelope', 'binary frames are not part of the protocol; send JSON text');
    } else if (!isUtf8(buffer)) {
      this.refuseFrame(conn, 'bad-json', 'text frame is not valid UTF-8');
    } else {
      const parsed = parseClientFrame(buffer.toString('utf8'));
      if (parsed.ok) return parsed.value;
      this.refuseFrame(conn, parsed.code, parsed.message, parsed.ref);
    }
    return undefined;
  }

  /** Check 9: a message to the whole room costs a send per member, so it has smaller limits of its own. */
  private withinBroadcastLimits(conn: Connection, msg: ClientMessage, bytes: number, now: number): boolean {
    if (!isBroadcast(msg)) return true;
    const { maxBroadcastBytes, broadcastRate } = this.opts;
    if (bytes > maxBroadcastBytes) {
      const why = `${msg.action} goes to the whole room: ${bytes} bytes exceeds ${maxBroadcastBytes}`;
      this.refuseFrame(conn, 'too-large', why, msg.action);
      return false;
    }
    if (!conn.broadcastBucket.take(now)) {
      const why = `more than ${broadcastRate} room-wide messages/s; ${msg.action} dropped`;
      this.refuseFrame(conn, 'rate-limited', why, msg.action);
      return false;
    }
    return true;
  }

  /** Answers a frame that is refused before it is understood; it counts as `invalid`. */
  private refuseFrame(conn: Connection, code: ErrorCode, message: string, ref?: string): void {
    this.metrics.countIn('invalid');
    this.sendError(conn, code, message, ref);
  }

  /** The first message binds the socket's name (and makes it a member); later ones must keep it. */
  private checkIdentity(conn: Connection, msg: ClientMessage): boolean {
    if (conn.name === undefined) return this.admit(conn, msg.peer, msg.action);
    if (msg.peer !== conn.name) {
      this.sendError(
        conn,
        'identity-changed',
        `this socket is "${conn.name}"; it cannot speak as "${msg.peer}"`,
        msg.action,
      );
      return false;
    }
    return true;
  }

  private dispatch(member: Connection, msg: ClientMessage): void {
    const room = member.room!;
    switch (msg.action) {
      case 'new-join': {
        // Glare-free: only members that joined earlier hear of the newcomer, so exactly one side offers.
        const earlier = room.join(member);
        earlier.push(member);
        this.relay(member, msg, earlier);
        return;
      }
      case 'new-offer':
      case 'new-answer':
        return this.relayDirect(member, msg as NewOffer | NewAnswer);
      default:
        // close and every unknown action: the whole room, sender included.
        this.relay(member, msg, room.members.values());
    }
  }

  private relayDirect(member: Connection, msg: NewOffer | NewAnswer): void {
    // Members only: a pending socket, or a socket in another room, is no target.
    const target = member.room!.members.get(msg.keyword.receiver_channel_name);
    if (!target) {
      return this.sendError(
        member,
        'unknown-target',
        `no member of room ${member.roomName} has that channel`,
        msg.action,
      );
    }
    this.relay(member, msg, [target]);
  }

  private relay(from: Connection, msg: ClientMessage, to: Iterable<Connection>): void {
    const { custom: _custom, ...wire } = msg as ClientMessage & { custom?: true };
    wire.keyword = { ...wire.keyword, receiver_channel_name: from.channel };
    this.deliver(to, wire);
  }

  /** Serialises once and sends to each open recipient. */
  private deliver(to: Iterable<Connection>, msg: { action: string }): void {
    const frame = JSON.stringify(msg);
    const label = actionLabel(msg.action);
    let n = 0;
    for (const m of to) {
      if (this.send(m, frame)) n++;
    }
    if (n > 0) this.metrics.countOut(label, n);
  }

  /** Sends unless the socket is closed or its peer stopped reading, in which case it is cut off. */
  private send(conn: Connection, frame: string): boolean {
    const ws = conn.socket;
    if (ws.readyState !== WebSocket.OPEN) return false;
    if (ws.bufferedAmount > this.opts.maxBufferedBytes) {
      this.metrics.slowConsumersCut.inc();
      this.log.warn(
        { room: conn.roomName, peer: conn.name, buffered: ws.bufferedAmount },
        'terminating socket that stopped reading',
      );
      ws.terminate();
      return false;
    }
    ws.send(frame);
    return true;
  }

  private sendError(conn: Connection, code: ErrorCode, message: string, ref?: string): void {
    this.metrics.countError(code);
    this.log.debug({ room: conn.roomName, peer: conn.name, code, ref }, message);
    if (this.send(conn, JSON.stringify(errorMessage(code, message, ref)))) {
      this.metrics.countOut('error', 1);
    }
  }
}
