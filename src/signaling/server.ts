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
import { actionLabel, SignalingMetrics } from './metrics.js';
import { type ResolvedOptions, resolveOptions, type ServerOptions } from './options.js';
import {
  CLOSE_CODES,
  type ClientMessage,
  type ErrorCode,
  errorMessage,
  type NewAnswer,
  type NewOffer,
  type PeerLeft,
  parseClientFrame,
} from './protocol.js';
import { Member, RoomRegistry } from './rooms.js';
import { admitUpgrade, httpReason } from './upgrade.js';

export type { ServerOptions } from './options.js';

/** A socket whose peer stops reading is cut off before its queue eats the server's memory. */
const MAX_BUFFERED_BYTES = 8 * 1024 * 1024;
/** How long close() lets sockets finish their closing handshake before terminating them. */
const CLOSE_GRACE_MS = 1000;

/**
 * `engage serve`: rooms, unique usernames, offer/answer relay, leave notices (../shared/protocol.md).
 * Every frame is validated here, at the boundary; nothing a client sends can stop it serving the others.
 */
export class SignalingServer {
  readonly metrics = new SignalingMetrics();
  private readonly opts: ResolvedOptions;
  private readonly log: Logger;
  private readonly http: HttpServer;
  private readonly wss: WebSocketServer;
  private readonly registry = new RoomRegistry();
  private heartbeat: NodeJS.Timeout | undefined;
  private closing: Promise<void> | undefined;
  private readonly startedAt = Date.now();

  private constructor(options: ServerOptions) {
    this.opts = resolveOptions(options);
    this.log = (options.logger ?? silentLogger).child({ component: 'signaling' });
    // Frames between the protocol limit and this hard cap are answered with `too-large` and the socket
    // stays; only frames beyond it (which ws would otherwise buffer whole) close the socket with 1009.
    const hardCap = this.opts.maxMessageBytes + 1024 * 1024;
    this.wss = new WebSocketServer({ noServer: true, maxPayload: hardCap, perMessageDeflate: false });
    const onRequest = (req: IncomingMessage, res: ServerResponse) => this.onRequest(req, res);
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
    this.heartbeat = setInterval(() => this.checkHeartbeats(), this.opts.heartbeatIntervalMs);
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

  get stats(): { rooms: number; sockets: number } {
    return { rooms: this.registry.roomCount, sockets: this.wss.clients.size };
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
    for (const ws of clients) ws.close(1001, 'server shutting down');
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

  // ---- plain HTTP -------------------------------------------------------------------------------

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && path === '/healthz') {
      const body = JSON.stringify({
        status: this.closed ? 'closing' : 'ok',
        rooms: this.registry.roomCount,
        sockets: this.wss.clients.size,
        uptime_s: Math.round((Date.now() - this.startedAt) / 1000),
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

  private refuse(socket: Duplex, status: number, reason: string): void {
    this.metrics.upgradesRefused.inc({ status: String(status) });
    const body = `${reason}\n`;
    socket.end(
      `HTTP/1.1 ${status} ${httpReason(status)}\r\nConnection: close\r\nContent-Type: text/plain\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  }

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    if (this.closed) return this.refuse(socket, 503, 'server is shutting down');
    const admission = admitUpgrade(req, {
      allowedOrigins: this.opts.allowedOrigins,
      authSecret: this.opts.authSecret,
      nameTaken: (room, name) => this.registry.get(room)?.memberNamed(name) !== undefined,
    });
    if (!admission.ok) return this.refuse(socket, admission.status, admission.reason);
    const { room, username, expiresAtS } = admission;
    this.wss.handleUpgrade(req, socket, head, (ws) => this.onConnection(ws, room, username, expiresAtS));
  }

  // ---- sockets ----------------------------------------------------------------------------------

  private onConnection(ws: WebSocket, roomName: string, username: string | null, expiresAtS?: number): void {
    const room = this.registry.getOrCreate(roomName);
    const member = new Member(room, ws, this.opts.rate);
    member.expiresAtS = expiresAtS;
    ws.on('error', (err) => this.log.debug({ err, room: roomName }, 'socket error'));
    if (room.size >= this.opts.maxRoomSize) {
      this.refuseMember(member, 'room-full', `room ${roomName} is full (${this.opts.maxRoomSize} members)`);
      return;
    }
    room.add(member);
    ws.on('close', () => this.onClose(member));
    ws.on('pong', () => {
      member.lastSeen = performance.now();
    });
    ws.on('message', (data, isBinary) => this.onFrame(member, data, isBinary));
    if (username !== null && !room.bind(member, username)) {
      // Claimed between the upgrade check and now.
      this.refuseMember(member, 'username-taken', `username "${username}" is taken in room ${roomName}`);
    }
  }

  /** Sends the error and closes with the code that goes with it. */
  private refuseMember(member: Member, code: keyof typeof CLOSE_CODES, message: string, ref?: string): void {
    this.sendError(member, code, message, ref);
    member.socket.close(CLOSE_CODES[code], code);
  }

  private onClose(member: Member): void {
    const { room, name } = member;
    this.registry.remove(member);
    this.log.debug({ room: room.name, peer: name }, 'left');
    if (name === undefined || this.closed) return;
    const left: PeerLeft = {
      peer: name,
      action: 'peer-left',
      keyword: { receiver_channel_name: member.channel },
    };
    this.deliver(room.members.values(), left);
  }

  private checkHeartbeats(): void {
    const now = performance.now();
    for (const member of this.registry.allMembers()) {
      if (now - member.lastSeen > this.opts.heartbeatTimeoutMs) {
        this.log.info({ room: member.room.name, peer: member.name }, 'terminating silent socket');
        member.socket.terminate();
      } else if (member.socket.readyState === WebSocket.OPEN) {
        member.socket.ping();
      }
    }
  }

  private onFrame(member: Member, data: RawData, isBinary: boolean): void {
    const receivedAt = performance.now();
    member.lastSeen = receivedAt;
    if (member.expiresAtS !== undefined && Date.now() / 1000 >= member.expiresAtS) {
      return this.refuseMember(member, 'unauthorized', 'token has expired; reconnect with a fresh one');
    }
    if (!member.bucket.take(receivedAt)) {
      this.metrics.countIn('invalid');
      return this.sendError(
        member,
        'rate-limited',
        `more than ${this.opts.rate} messages/s; message dropped`,
      );
    }
    const bytes = Array.isArray(data) ? data.reduce((n, b) => n + b.length, 0) : data.byteLength;
    if (bytes > this.opts.maxMessageBytes) {
      this.metrics.countIn('invalid');
      return this.sendError(
        member,
        'too-large',
        `frame of ${bytes} bytes exceeds ${this.opts.maxMessageBytes}`,
      );
    }
    if (isBinary) {
      this.metrics.countIn('invalid');
      return this.sendError(
        member,
        'bad-envelope',
        'binary frames are not part of the protocol; send JSON text',
      );
    }
    const text = Array.isArray(data)
      ? Buffer.concat(data).toString('utf8')
      : Buffer.isBuffer(data)
        ? data.toString('utf8')
        : Buffer.from(data).toString('utf8');
    const parsed = parseClientFrame(text);
    if (!parsed.ok) {
      this.metrics.countIn('invalid');
      return this.sendError(member, parsed.code, parsed.message, parsed.ref);
    }
    const msg = parsed.value;
    this.metrics.countIn(actionLabel(msg.action));
    if (!this.checkIdentity(member, msg)) return;
    this.dispatch(member, msg);
    this.metrics.relayLatency.observe((performance.now() - receivedAt) / 1000);
  }

  /** The first message binds the socket's name; later ones must keep it. */
  private checkIdentity(member: Member, msg: ClientMessage): boolean {
    if (member.name === undefined) {
      if (member.room.bind(member, msg.peer)) return true;
      this.refuseMember(
        member,
        'username-taken',
        `username "${msg.peer}" is taken in room ${member.room.name}`,
        msg.action,
      );
      return false;
    }
    if (msg.peer !== member.name) {
      this.sendError(
        member,
        'identity-changed',
        `this socket is "${member.name}"; it cannot speak as "${msg.peer}"`,
        msg.action,
      );
      return false;
    }
    return true;
  }

  private dispatch(member: Member, msg: ClientMessage): void {
    switch (msg.action) {
      case 'new-join': {
        // Glare-free: only members that joined earlier hear of the newcomer, so exactly one side offers.
        const earlier = member.room.join(member);
        earlier.push(member);
        this.relay(member, msg, earlier);
        return;
      }
      case 'new-offer':
      case 'new-answer':
        return this.relayDirect(member, msg as NewOffer | NewAnswer);
      default:
        // close and every unknown action: the whole room, sender included.
        this.relay(member, msg, member.room.members.values());
    }
  }

  private relayDirect(member: Member, msg: NewOffer | NewAnswer): void {
    const target = member.room.members.get(msg.keyword.receiver_channel_name);
    if (!target || target.name === undefined) {
      return this.sendError(
        member,
        'unknown-target',
        `no member of room ${member.room.name} has that channel`,
        msg.action,
      );
    }
    this.relay(member, msg, [target]);
  }

  private relay(from: Member, msg: ClientMessage, to: Iterable<Member>): void {
    const { custom: _custom, ...wire } = msg as ClientMessage & { custom?: true };
    wire.keyword = { ...wire.keyword, receiver_channel_name: from.channel };
    this.deliver(to, wire);
  }

  /** Serialises once and sends to each open recipient. */
  private deliver(to: Iterable<Member>, msg: { action: string }): void {
    const frame = JSON.stringify(msg);
    const label = actionLabel(msg.action);
    let n = 0;
    for (const m of to) {
      if (this.send(m, frame)) n++;
    }
    if (n > 0) this.metrics.countOut(label, n);
  }

  private send(member: Member, frame: string): boolean {
    const ws = member.socket;
    if (ws.readyState !== WebSocket.OPEN) return false;
    if (ws.bufferedAmount > MAX_BUFFERED_BYTES) {
      this.log.warn({ room: member.room.name, peer: member.name }, 'terminating socket that stopped reading');
      ws.terminate();
      return false;
    }
    ws.send(frame);
    return true;
  }

  private sendError(member: Member, code: ErrorCode, message: string, ref?: string): void {
    this.metrics.countError(code);
    this.log.debug({ room: member.room.name, peer: member.name, code, ref }, message);
    if (this.send(member, JSON.stringify(errorMessage(code, message, ref)))) {
      this.metrics.countOut('error', 1);
    }
  }
}
