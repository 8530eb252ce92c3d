import type { IncomingMessage, ServerResponse } from 'node:http';
import { UsageError } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import type { RoomEngine } from './engine/engine.js';
import type { RedisEngineOptions } from './engine/redis-options.js';

export interface ServerOptions {
  host?: string;
  /** 0 picks a free port; read the real one from `url`. */
  port?: number;
  /** Named members per room; sockets without a name yet do not count. */
  maxRoomSize?: number;
  /** Open sockets on the whole server; an upgrade beyond it is refused with HTTP 503. */
  maxSockets?: number;
  /** Largest frame accepted; larger ones get `too-large`. */
  maxMessageBytes?: number;
  /** Largest frame the server fans out to the whole room (new-join, close, custom actions). */
  maxBroadcastBytes?: number;
  /** Messages per second per socket; the burst is twice that. */
  rate?: number;
  /** Room-wide messages (new-join, close, custom actions) per second per socket; the burst is twice that. */
  broadcastRate?: number;
  /** A socket that has no name this long after its upgrade is closed with 4408 (join-timeout). */
  joinTimeoutMs?: number;
  /** A socket whose unsent data passes this (its peer stopped reading) is cut off. */
  maxBufferedBytes?: number;
  /** When non-empty, a browser upgrade whose Origin is not listed is refused with 403. */
  allowedOrigins?: string[];
  /** Ping every socket this often. */
  heartbeatIntervalMs?: number;
  /** Terminate a socket that sent nothing, not even a pong, for this long. */
  heartbeatTimeoutMs?: number;
  logger?: Logger;
  /**
   * When set, an upgrade needs `?token=`: an HS256 JWT naming the room and the username, with an
   * expiry. The token's username is then the only name the socket may use.
   */
  authSecret?: string;
  /** PEM certificate and key: serve wss:// and https:// instead of ws:// and http://. */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** Handles plain HTTP requests the server itself does not serve (the web client); returns false for 404. */
  httpFallback?: (req: IncomingMessage, res: ServerResponse) => boolean;
  /**
   * Share rooms with other instances through Redis (`engage serve --redis`): the server starts a
   * RedisEngine with these options, its metrics on the server's /metrics, and closes it on close().
   */
  redis?: Omit<RedisEngineOptions, 'metrics' | 'logger'>;
  /**
   * The room engine to use instead (e.g. a MemoryEngine on a shared MemoryHub, to run several instances in
   * one process). The server owns it: it closes it on close(). Default: a MemoryEngine of its own.
   */
  engine?: RoomEngine;
}

export type ResolvedOptions = Required<
  Omit<ServerOptions, 'httpFallback' | 'logger' | 'authSecret' | 'tls' | 'redis' | 'engine'>
> &
  Pick<ServerOptions, 'httpFallback' | 'authSecret' | 'tls' | 'redis'>;

/** The defaults of every limit, as docs/protocol.md lists them. */
export const DEFAULTS = {
  host: '127.0.0.1',
  port: 8080,
  maxRoomSize: 50,
  maxSockets: 10_000,
  maxMessageBytes: 64 * 1024,
  maxBroadcastBytes: 4 * 1024,
  rate: 50,
  broadcastRate: 5,
  joinTimeoutMs: 10_000,
  maxBufferedBytes: 1024 * 1024,
  allowedOrigins: [] as string[],
  heartbeatIntervalMs: 15_000,
  heartbeatTimeoutMs: 30_000,
};

/** HS256 wants a key at least as long as its hash: 256 bits (RFC 7518, section 3.2). */
export const MIN_AUTH_SECRET_BYTES = 32;

export function resolveOptions(o: ServerOptions): ResolvedOptions {
  const r = { ...DEFAULTS, ...Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) };
  const int = (name: string, v: number, min: number, max = Number.MAX_SAFE_INTEGER) => {
    if (!Number.isInteger(v) || v < min || v > max)
      throw new UsageError(`${name} must be an integer in ${min}..${max}, got ${v}`);
  };
  int('port', r.port, 0, 65535);
  int('max room size', r.maxRoomSize, 1);
  int('max sockets', r.maxSockets, 1);
  int('max message bytes', r.maxMessageBytes, 256, 16 * 1024 * 1024);
  int('max broadcast bytes', r.maxBroadcastBytes, 256, 16 * 1024 * 1024);
  // A broadcast is a frame too: the smaller limit wins.
  r.maxBroadcastBytes = Math.min(r.maxBroadcastBytes, r.maxMessageBytes);
  for (const [name, value] of [
    ['rate', r.rate],
    ['broadcast rate', r.broadcastRate],
  ] as const) {
    if (!(value > 0) || !Number.isFinite(value))
      throw new UsageError(`${name} must be a positive number of messages per second, got ${value}`);
  }
  int('join timeout', r.joinTimeoutMs, 10);
  int('max buffered bytes', r.maxBufferedBytes, 64 * 1024);
  int('heartbeat interval', r.heartbeatIntervalMs, 10);
  int('heartbeat timeout', r.heartbeatTimeoutMs, 10);
  if (o.authSecret !== undefined && Buffer.byteLength(o.authSecret) < MIN_AUTH_SECRET_BYTES) {
    throw new UsageError(
      `the auth secret (--auth-secret or ENGAGE_AUTH_SECRET) must be at least ${MIN_AUTH_SECRET_BYTES} bytes, ` +
        `got ${Buffer.byteLength(o.authSecret)}; make one with: openssl rand -base64 32`,
    );
  }
  for (const origin of r.allowedOrigins) {
    try {
      new URL(origin);
    } catch {
      throw new UsageError(`allowed origin must be a URL such as https://meet.example.com, got "${origin}"`);
    }
  }
  r.allowedOrigins = r.allowedOrigins.map((o: string) => new URL(o).origin);
  if (o.redis !== undefined && o.engine !== undefined)
    throw new UsageError('give the server either redis options or an engine, not both');
  delete (r as { engine?: unknown }).engine;
  return r as ResolvedOptions;
}
