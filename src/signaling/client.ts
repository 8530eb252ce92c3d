import { EventEmitter } from 'node:events';
import { WebSocket } from 'ws';
import { type Logger, silentLogger } from '../util/log.js';
import { within } from '../util/wait.js';
import { type ErrorCode, parseServerFrame, type SessionDescriptionInit } from './protocol.js';

export type ClientState = 'connecting' | 'open' | 'closed';

/** What a member of the room did, as seen by this client. `channel` is the member's opaque channel id. */
export interface ClientEvents {
  /** A member joined (not our own echo); with a glare-free server, only members that joined after us. */
  join: [peer: string, channel: string];
  offer: [peer: string, channel: string, sdp: SessionDescriptionInit];
  answer: [peer: string, channel: string, sdp: SessionDescriptionInit];
  /** A member left: its `close` or the server's `peer-left`; either may come, or both. */
  leave: [peer: string, channel: string | undefined];
  /** The server refused something we sent. */
  refused: [code: ErrorCode | string, message: string, ref: string | undefined];
  /** Any other action, for extensions. */
  custom: [peer: string, action: string, keyword: Record<string, unknown>];
  /** The socket closed; the client is done. */
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
  connectTimeoutMs?: number;
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

/**
 * The signaling side of one room member: speaks ../shared/protocol.md and knows nothing of media.
 * Incoming frames are validated; our own echoes are dropped.
 */
export class SignalingClient extends EventEmitter<ClientEvents> {
  private stateValue: ClientState = 'connecting';
  private readonly log: Logger;
  /** Our channel id, learned from the echo of our own new-join. */
  channel: string | undefined;
  /** Frames from the server that failed validation. */
  invalidFrames = 0;
  /**
   * Frames that arrived before `start()`: a server may send right behind the upgrade response, before
   * whoever awaited `connect()` could subscribe.
   */
  private early: string[] | undefined = [];

  private constructor(
    private readonly ws: WebSocket,
    readonly room: string,
    readonly name: string,
    logger: Logger,
  ) {
    super();
    this.log = logger.child({ component: 'signaling-client', room, peer: name });
    ws.on('message', (data, isBinary) => {
      if (isBinary) return this.invalid('binary frame');
      if (this.early) this.early.push(data.toString());
      else this.onFrame(data.toString());
    });
    ws.on('close', (code, reason) => {
      this.start();
      this.setState('closed');
      this.emit('closed', code, reason.toString());
    });
    ws.on('error', (err) => this.log.debug({ err }, 'socket error'));
  }

  static async connect(opts: ClientOptions): Promise<SignalingClient> {
    const url = roomUrl(
      opts.url,
      opts.room,
      opts.claimNameInUrl === false ? undefined : opts.name,
      opts.token,
    );
    const ws = new WebSocket(url, { perMessageDeflate: false });
    const client = new SignalingClient(ws, opts.room, opts.name, opts.logger ?? silentLogger);
    const opened = new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('unexpected-response', (_req, res) => {
        const status = res.statusCode ?? 0;
        let body = '';
        res.on('data', (d: Buffer) => {
          body += d.toString();
        });
        res.on('end', () =>
          reject(new Error(`server refused to join room ${opts.room}: HTTP ${status} ${body.trim()}`)),
        );
      });
      ws.once('error', (err) => reject(new Error(`cannot connect to ${url}: ${err.message}`)));
    });
    try {
      await within(opened, opts.connectTimeoutMs ?? 10_000, `the signaling socket to ${url}`, opts.signal);
    } catch (err) {
      ws.terminate();
      throw err;
    }
    client.setState('open');
    return client;
  }

  get state(): ClientState {
    return this.stateValue;
  }

  private setState(s: ClientState): void {
    this.stateValue = s;
  }

  private send(action: string, keyword: Record<string, unknown>): void {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    this.ws.send(JSON.stringify({ peer: this.name, action, keyword }));
  }

  join(): void {
    this.send('new-join', {});
  }

  offer(channel: string, sdp: SessionDescriptionInit): void {
    this.send('new-offer', { sdp, receiver_channel_name: channel });
  }

  answer(channel: string, sdp: SessionDescriptionInit): void {
    this.send('new-answer', { sdp, receiver_channel_name: channel });
  }

  /** Sends an extension action to the whole room. */
  broadcast(action: string, keyword: Record<string, unknown> = {}): void {
    this.send(action, keyword);
  }

  /** Says `close` to the room (when `announce`) and closes the socket. Idempotent. */
  async close(announce = true): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    if (announce && this.ws.readyState === WebSocket.OPEN) this.send('close', {});
    const closed = new Promise<void>((resolve) => this.ws.once('close', () => resolve()));
    this.ws.close(1000, 'leaving');
    // A server that never answers the closing handshake must not hold us.
    const t = setTimeout(() => this.ws.terminate(), 1000);
    t.unref();
    await closed;
    clearTimeout(t);
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
    const target = (msg.keyword as Record<string, unknown>).receiver_channel_name;
    const channel = typeof target === 'string' ? target : undefined;
    switch (msg.action) {
      case 'error': {
        const k = msg.keyword as { code: string; message?: unknown; ref?: unknown };
        this.log.warn({ code: k.code, ref: k.ref }, String(k.message ?? ''));
        this.emit('refused', k.code, String(k.message ?? ''), typeof k.ref === 'string' ? k.ref : undefined);
        return;
      }
      case 'new-join':
        if (msg.peer === this.name) {
          this.channel ??= channel;
          return;
        }
        if (channel === undefined) return this.invalid('new-join without receiver_channel_name');
        this.emit('join', msg.peer, channel);
        return;
      case 'new-offer':
      case 'new-answer': {
        if (msg.peer === this.name || channel === undefined) return;
        const sdp = msg.keyword.sdp as SessionDescriptionInit;
        if (msg.action === 'new-offer') this.emit('offer', msg.peer, channel, sdp);
        else this.emit('answer', msg.peer, channel, sdp);
        return;
      }
      case 'close':
      case 'peer-left':
        if (msg.peer === this.name) return;
        this.emit('leave', msg.peer, channel);
        return;
      default:
        if (msg.peer === this.name) return;
        this.emit('custom', msg.peer, msg.action, msg.keyword);
    }
  }

  private invalid(reason: string): void {
    this.invalidFrames++;
    this.log.debug({ reason }, 'invalid frame from server');
    this.emit('invalid', reason);
  }
}
