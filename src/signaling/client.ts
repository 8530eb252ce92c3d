import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { WebSocket } from 'ws';
import { type Logger, silentLogger } from '../util/log.js';
import { within } from '../util/wait.js';
import { CLOSE_CODES, type ErrorCode, parseServerFrame, type SessionDescriptionInit } from './protocol.js';
import type { ReconnectPolicy } from './reconnect.js';

export { backoffPolicy, noReconnect, type ReconnectPolicy } from './reconnect.js';

/**
 * The client's connection, changed only in `setState`:
 * connecting → open ⇄ reconnecting → closed. `connecting` is the first socket only; a client whose
 * first socket fails never opens (connect() rejects).
 */
export type ConnectionState = 'connecting' | 'open' | 'reconnecting' | 'closed';

/**
 * The engage keyword field naming one run of a member (see docs/protocol.md, "Sessions and
 * reconnects"): the same on every socket of that run, new when the member restarts.
 */
export const SESSION_FIELD = 'session';
const SESSION_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/** A fresh session id: 16 random bytes, base64url. */
export function newSessionId(): string {
  return randomBytes(16).toString('base64url');
}

/** What a member of the room did, as seen by this client. `channel` is the member's opaque channel id. */
export interface ClientEvents {
  /**
   * A member joined (not our own echo); with a glare-free server, only members that joined after us.
   * `session` is the member's engage session, undefined for clients that send none.
   */
  join: [peer: string, channel: string, session: string | undefined];
  offer: [peer: string, channel: string, sdp: SessionDescriptionInit, session: string | undefined];
  answer: [peer: string, channel: string, sdp: SessionDescriptionInit, session: string | undefined];
  /** A member left: its `close` or the server's `peer-left`; either may come, or both. */
  leave: [peer: string, channel: string | undefined];
  /** The server refused something we sent. */
  refused: [code: ErrorCode | string, message: string, ref: string | undefined];
  /** Any other action, for extensions. */
  custom: [peer: string, action: string, keyword: Record<string, unknown>];
  /** The connection state changed. */
  state: [state: ConnectionState];
  /** The socket dropped (or an attempt failed); the next attempt starts in `delayMs`. */
  reconnecting: [attempt: number, delayMs: number, reason: string];
  /** A new socket is open and, if we had joined, our new-join is sent again. */
  reconnected: [attempts: number, outageMs: number];
  /** The client is done: closed by us, by the server for good, or the reconnect policy gave up. */
  closed: [code: number, reason: string];
  /** A frame from the server that does not fit the protocol (counted, then ignored). */
  invalid: [reason: string];
}

export interface ClientOptions {
  /** Base URL of the server, e.g. ws://127.0.0.1:8080 (a path ending in /room/<room>/ is also accepted). */
  url: string;
  room: string;
  name: string;
  /** For a server run with --auth-secret: the JWT naming this room and username. */
  token?: string;
  /** Send ?username= so a taken name fails at the upgrade (HTTP 409); default true. */
  claimNameInUrl?: boolean;
  /** Per socket: how long an attempt may take to open. */
  connectTimeoutMs?: number;
  /** After the first socket opened: how to retry when it drops. Default: no reconnect. */
  reconnect?: ReconnectPolicy;
  /** This run's session id; default: a fresh one. */
  session?: string;
  /**
   * Ping the server this often; a socket that hears nothing (no pong, no frame) for twice as long is
   * dead and dropped, so a half-open connection (a crashed host) is noticed. 0 disables. Default 15 s.
   */
  heartbeatMs?: number;
  /** Aborts the first connect. */
  signal?: AbortSignal;
  logger?: Logger;
}

/** Builds the socket URL of a room from a server URL (ws/wss/http/https, with or without a room path). */
export function roomUrl(base: string, room: string, username?: string, token?: string): string {
  const u = new URL(base);
  if (u.protocol === 'http:') u.protocol = 'ws:';
  if (u.protocol === 'https:') u.protocol = 'wss:';
  if (u.protocol !== 'ws:' && u.protocol !== 'wss:')
    throw new Error(`server URL must be ws:// or wss://, got ${base}`);
  if (!/\/room\/[^/]+\/?$/.test(u.pathname))
    u.pathname = `${u.pathname.replace(/\/$/, '')}/room/${encodeURIComponent(room)}/`;
  if (username !== undefined) u.searchParams.set('username', username);
  if (token !== undefined) u.searchParams.set('token', token);
  return u.toString();
}

/** Why a socket did not open; `final` when trying again cannot help (a bad token, no such endpoint). */
class ConnectError extends Error {
  constructor(
    message: string,
    readonly final: boolean,
  ) {
    super(message);
    this.name = 'ConnectError';
  }
}

/** A socket that stays open this long ends an outage; one that drops sooner continues it. */
const STABLE_SOCKET_MS = 5000;

/**
 * Upgrade refusals worth retrying during a reconnect: 409 (our previous socket still holds the name
 * until the server notices it is gone), 429 and 5xx (a server starting or shutting down).
 */
function retryableStatus(status: number): boolean {
  return status === 409 || status === 429 || status >= 500;
}

/**
 * The signaling side of one room member: speaks docs/protocol.md and knows nothing of media. Incoming
 * frames are validated; our own echoes are dropped. With a reconnect policy it outlives its sockets:
 * when one drops it opens another and sends its new-join again, under the same name and session.
 */
export class SignalingClient extends EventEmitter<ClientEvents> {
  private stateValue: ConnectionState = 'connecting';
  private readonly log: Logger;
  private ws: WebSocket;
  readonly session: string;
  /** Our channel id on the current socket, learned from the echo of our own new-join. */
  channel: string | undefined;
  /** Frames from the server that failed validation. */
  invalidFrames = 0;
  /** Completed reconnects. */
  reconnects = 0;
  /**
   * Frames that arrived before `start()`: a server may send right behind the upgrade response, before
   * whoever awaited `connect()` could subscribe.
   */
  private early: string[] | undefined = [];
  private joined = false;
  /** A new-join the server could not do (its shared state was unavailable), tried again after a pause. */
  private joinRetry: { timer: NodeJS.Timeout | undefined; tries: number } = { timer: undefined, tries: 0 };
  private outage: { since: number; failed: number; timer?: NodeJS.Timeout } | undefined;
  /** The last outage and when it ended: a socket that drops again soon after carries it on. */
  private lastOutage: { since: number; failed: number; endedAt: number } | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private lastHeard = 0;
  private closing: Promise<void> | undefined;

  private constructor(private readonly opts: ClientOptions) {
    super();
    this.session = opts.session ?? newSessionId();
    this.log = (opts.logger ?? silentLogger).child({
      component: 'signaling-client',
      room: opts.room,
      peer: opts.name,
    });
    this.ws = this.openSocket();
  }

  /** Opens the first socket; rejects (and leaves nothing running) when it does not open. */
  static async connect(opts: ClientOptions): Promise<SignalingClient> {
    const client = new SignalingClient(opts);
    try {
      await within(
        client.opened(client.ws, false),
        client.connectTimeoutMs,
        'the signaling socket',
        opts.signal,
      );
    } catch (err) {
      client.ws.terminate();
      client.setState('closed');
      throw err instanceof Error && err.name === 'TimeoutError'
        ? new Error(`cannot connect to ${client.printableUrl}: ${err.message}`)
        : err;
    }
    client.onOpen();
    return client;
  }

  get room(): string {
    return this.opts.room;
  }

  get name(): string {
    return this.opts.name;
  }

  get state(): ConnectionState {
    return this.stateValue;
  }

  private get url(): string {
    const o = this.opts;
    return roomUrl(o.url, o.room, o.claimNameInUrl === false ? undefined : o.name, o.token);
  }

  /** The socket URL for messages and logs: without the token, which is a credential. */
  private get printableUrl(): string {
    const o = this.opts;
    return roomUrl(o.url, o.room, o.claimNameInUrl === false ? undefined : o.name);
  }

  private get connectTimeoutMs(): number {
    return this.opts.connectTimeoutMs ?? 10_000;
  }

  /** The one place the connection state changes. */
  private setState(next: ConnectionState): void {
    if (this.stateValue === next) return;
    this.log.debug({ from: this.stateValue, to: next }, 'connection state');
    this.stateValue = next;
    this.emit('state', next);
  }

  private openSocket(): WebSocket {
    const ws = new WebSocket(this.url, { perMessageDeflate: false });
    ws.on('message', (data, isBinary) => {
      if (ws !== this.ws) return;
      this.lastHeard = performance.now();
      if (isBinary) return this.invalid('binary frame');
      if (this.early) this.early.push(data.toString());
      else this.onFrame(data.toString());
    });
    ws.on('pong', () => {
      if (ws === this.ws) this.lastHeard = performance.now();
    });
    ws.on('ping', () => {
      if (ws === this.ws) this.lastHeard = performance.now();
    });
    ws.on('close', (code, reason) => {
      if (ws === this.ws) this.onSocketClosed(code, reason.toString());
    });
    ws.on('error', (err) => this.log.debug({ err }, 'socket error'));
    return ws;
  }

  /** Resolves when `ws` opens; rejects with a ConnectError saying why not. */
  private opened(ws: WebSocket, reconnecting: boolean): Promise<void> {
    const url = this.printableUrl;
    return new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('unexpected-response', (_req, res) => {
        const status = res.statusCode ?? 0;
        let body = '';
        res.on('data', (d: Buffer) => {
          if (body.length < 1024) body += d.toString();
        });
        res.on('end', () =>
          reject(
            new ConnectError(
              `server refused to join room ${this.opts.room}: HTTP ${status} ${body.trim()}`,
              !reconnecting || !retryableStatus(status),
            ),
          ),
        );
        res.on('error', () => reject(new ConnectError(`server refused the upgrade: HTTP ${status}`, false)));
      });
      ws.once('error', (err) => reject(new ConnectError(`cannot connect to ${url}: ${err.message}`, false)));
      ws.once('close', () => reject(new ConnectError(`the socket to ${url} closed before it opened`, false)));
    });
  }

  /** A socket opened: the first one, or a reconnect. */
  private onOpen(): void {
    this.lastHeard = performance.now();
    this.startHeartbeat();
    this.setState('open');
  }

  private startHeartbeat(): void {
    clearInterval(this.heartbeat);
    const ms = this.opts.heartbeatMs ?? 15_000;
    if (ms <= 0) return;
    const ws = this.ws;
    this.heartbeat = setInterval(() => {
      if (ws !== this.ws || ws.readyState !== WebSocket.OPEN) return;
      if (performance.now() - this.lastHeard > 2 * ms) {
        this.log.info(
          { silentMs: Math.round(performance.now() - this.lastHeard) },
          'server silent; dropping socket',
        );
        ws.terminate();
      } else {
        ws.ping();
      }
    }, ms);
    this.heartbeat.unref();
  }

  private onSocketClosed(code: number, reason: string): void {
    clearInterval(this.heartbeat);
    // Failed attempts are handled by whoever awaited them; only an open socket's drop starts an outage.
    if (this.closing || this.stateValue !== 'open') return;
    this.start();
    const policy = this.opts.reconnect;
    if (!policy || this.isFinalClose(code)) return this.finish(code, reason);
    this.log.info({ code, reason }, 'signaling socket dropped');
    const now = performance.now();
    // A server that accepts and then drops us (a full room, our name still taken) must not get a fresh
    // immediate attempt each time: an outage only ends once a socket has stayed up for a while.
    const last = this.lastOutage;
    this.outage =
      last && now - last.endedAt < STABLE_SOCKET_MS
        ? { since: last.since, failed: last.failed + 1 }
        : { since: now, failed: 0 };
    this.scheduleAttempt(`socket closed (${code}${reason ? ` ${reason}` : ''})`);
  }

  /**
   * Closes after which a new socket cannot help: a token the server no longer accepts, or a name taken
   * by someone else before we ever joined. (A 4409 after we joined is our own previous socket, still
   * held by the server; 1001 is a server going away, maybe to restart.)
   */
  private isFinalClose(code: number): boolean {
    if (code === CLOSE_CODES.unauthorized) return true;
    if (code === CLOSE_CODES['username-taken']) return !this.joined;
    return false;
  }

  private scheduleAttempt(reason: string): void {
    const outage = this.outage!;
    const delay = this.opts.reconnect!(outage.failed, performance.now() - outage.since);
    if (delay === null) {
      const seconds = Math.round((performance.now() - outage.since) / 1000);
      return this.finish(
        1006,
        `gave up reconnecting after ${outage.failed} attempts over ${seconds} s (last: ${reason})`,
      );
    }
    this.setState('reconnecting');
    this.emit('reconnecting', outage.failed + 1, delay, reason);
    // Not unref'd: a bot alone in a room has nothing else keeping the process up while it waits.
    outage.timer = setTimeout(() => this.attempt(), delay);
  }

  private attempt(): void {
    if (this.closing) return;
    const ws = this.openSocket();
    this.ws = ws;
    within(this.opened(ws, true), this.connectTimeoutMs, 'the signaling socket')
      .then(
        () => {
          if (this.closing) return;
          const outage = this.outage!;
          this.outage = undefined;
          this.lastOutage = { since: outage.since, failed: outage.failed, endedAt: performance.now() };
          this.reconnects++;
          this.channel = undefined;
          this.onOpen();
          if (this.joined) this.sendJoin();
          const outageMs = Math.round(performance.now() - outage.since);
          this.log.info({ attempts: outage.failed + 1, outageMs }, 'reconnected');
          this.emit('reconnected', outage.failed + 1, outageMs);
        },
        (err: Error) => {
          ws.terminate();
          if (this.closing) return;
          this.outage!.failed++;
          if (err instanceof ConnectError && err.final) return this.finish(1006, err.message);
          this.scheduleAttempt(err.message);
        },
      )
      // Only a listener of ours can throw here; it must not become an unhandled rejection.
      .catch((err) => this.log.error({ err }, 'a reconnect listener threw'));
  }

  /** The client is done for good. */
  private finish(code: number, reason: string): void {
    if (this.stateValue === 'closed') return;
    clearTimeout(this.outage?.timer);
    clearTimeout(this.joinRetry.timer);
    clearInterval(this.heartbeat);
    this.setState('closed');
    this.emit('closed', code, reason);
  }

  private send(action: string, keyword: Record<string, unknown>): void {
    if (this.stateValue !== 'open' || this.ws.readyState !== WebSocket.OPEN) return;
    this.ws.send(JSON.stringify({ peer: this.opts.name, action, keyword }));
  }

  /** Announces us to the room; after a reconnect the client announces itself again. */
  join(): void {
    this.joined = true;
    this.sendJoin();
  }

  private sendJoin(): void {
    this.send('new-join', { [SESSION_FIELD]: this.session });
  }

  /**
   * The server's rooms are shared (engage serve --redis) and it could not reach them: nothing was done, so
   * the join is sent again, after 250 ms doubling to 5 s. (A lost place in the room is a close, 4503, and
   * a reconnect; this is for a socket that stays.)
   */
  private retryJoin(): void {
    if (!this.joined || this.joinRetry.timer !== undefined) return;
    const delay = Math.min(5000, 250 * 2 ** Math.min(this.joinRetry.tries, 5));
    this.joinRetry.tries++;
    this.joinRetry.timer = setTimeout(() => {
      this.joinRetry.timer = undefined;
      if (!this.closing) this.sendJoin();
    }, delay);
    this.joinRetry.timer.unref();
  }

  offer(channel: string, sdp: SessionDescriptionInit): void {
    this.send('new-offer', { sdp, receiver_channel_name: channel, [SESSION_FIELD]: this.session });
  }

  answer(channel: string, sdp: SessionDescriptionInit): void {
    this.send('new-answer', { sdp, receiver_channel_name: channel, [SESSION_FIELD]: this.session });
  }

  /** Sends an extension action to the whole room. */
  broadcast(action: string, keyword: Record<string, unknown> = {}): void {
    this.send(action, keyword);
  }

  /** Says `close` to the room (when `announce` and connected), stops reconnecting, closes. Idempotent. */
  close(announce = true): Promise<void> {
    this.closing ??= this.shutdown(announce);
    return this.closing;
  }

  private async shutdown(announce: boolean): Promise<void> {
    clearTimeout(this.outage?.timer);
    clearInterval(this.heartbeat);
    const ws = this.ws;
    if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CLOSING) {
      if (announce) this.send('close', {});
      const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
      ws.close(1000, 'leaving');
      // A server that never answers the closing handshake must not hold us.
      const t = setTimeout(() => ws.terminate(), 1000);
      t.unref();
      await closed;
      clearTimeout(t);
    } else if (ws.readyState === WebSocket.CONNECTING) {
      ws.terminate();
    }
    this.finish(1000, 'leaving');
  }

  /** Starts emitting events, first replaying frames that arrived since the socket opened. Idempotent. */
  start(): this {
    const early = this.early;
    this.early = undefined;
    for (const text of early ?? []) this.onFrame(text);
    return this;
  }

  private onFrame(text: string): void {
    const parsed = parseServerFrame(text);
    if (!parsed.ok) return this.invalid(parsed.message);
    const msg = parsed.value;
    const keyword = msg.keyword as Record<string, unknown>;
    const target = keyword.receiver_channel_name;
    const channel = typeof target === 'string' ? target : undefined;
    const session = sessionOf(keyword);
    switch (msg.action) {
      case 'error': {
        const k = msg.keyword as { code: string; message?: unknown; ref?: unknown };
        this.log.warn({ code: k.code, ref: k.ref }, String(k.message ?? ''));
        if (k.code === 'unavailable' && k.ref === 'new-join') this.retryJoin();
        this.emit('refused', k.code, String(k.message ?? ''), typeof k.ref === 'string' ? k.ref : undefined);
        return;
      }
      case 'new-join':
        if (msg.peer === this.opts.name) {
          this.channel ??= channel;
          this.joinRetry.tries = 0;
          return;
        }
        if (channel === undefined) return this.invalid('new-join without receiver_channel_name');
        this.emit('join', msg.peer, channel, session);
        return;
      case 'new-offer':
      case 'new-answer': {
        if (msg.peer === this.opts.name || channel === undefined) return;
        const sdp = msg.keyword.sdp as SessionDescriptionInit;
        if (msg.action === 'new-offer') this.emit('offer', msg.peer, channel, sdp, session);
        else this.emit('answer', msg.peer, channel, sdp, session);
        return;
      }
      case 'close':
      case 'peer-left':
        if (msg.peer === this.opts.name) return;
        this.emit('leave', msg.peer, channel);
        return;
      default:
        if (msg.peer === this.opts.name) return;
        this.emit('custom', msg.peer, msg.action, msg.keyword);
    }
  }

  private invalid(reason: string): void {
    this.invalidFrames++;
    this.log.debug({ reason }, 'invalid frame from server');
    this.emit('invalid', reason);
  }
}

/** The sender's session, when it sent a well-formed one; anything else is as good as none. */
function sessionOf(keyword: Record<string, unknown>): string | undefined {
  const s = keyword[SESSION_FIELD];
  return typeof s === 'string' && SESSION_PATTERN.test(s) ? s : undefined;
}
