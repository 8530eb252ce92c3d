import type { IncomingMessage, ServerResponse } from 'node:http';
import { UsageError } from '../util/errors.js';
import type { Logger } from '../util/log.js';

export interface ServerOptions {
  host?: string;
  /** 0 picks a free port; read the real one from `url`. */
  port?: number;
  maxRoomSize?: number;
  maxMessageBytes?: number;
  /** Messages per second per socket; the burst is twice that. */
  rate?: number;
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
}

export type ResolvedOptions = Required<
  Omit<ServerOptions, 'httpFallback' | 'logger' | 'authSecret' | 'tls'>
> &
  Pick<ServerOptions, 'httpFallback' | 'authSecret' | 'tls'>;

const DEFAULTS = {
  host: '127.0.0.1',
  port: 8080,
  maxRoomSize: 50,
  maxMessageBytes: 64 * 1024,
  rate: 50,
  allowedOrigins: [] as string[],
  heartbeatIntervalMs: 15_000,
  heartbeatTimeoutMs: 30_000,
};

export function resolveOptions(o: ServerOptions): ResolvedOptions {
  const r = { ...DEFAULTS, ...Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) };
  const int = (name: string, v: number, min: number, max = Number.MAX_SAFE_INTEGER) => {
    if (!Number.isInteger(v) || v < min || v > max)
      throw new UsageError(`${name} must be an integer in ${min}..${max}, got ${v}`);
  };
  int('port', r.port, 0, 65535);
  int('max room size', r.maxRoomSize, 1);
  int('max message bytes', r.maxMessageBytes, 256, 16 * 1024 * 1024);
  if (!(r.rate > 0))
    throw new UsageError(`rate must be a positive number of messages per second, got ${r.rate}`);
  int('heartbeat interval', r.heartbeatIntervalMs, 10);
  int('heartbeat timeout', r.heartbeatTimeoutMs, 10);
  for (const origin of r.allowedOrigins) {
    try {
      new URL(origin);
    } catch {
      throw new UsageError(`allowed origin must be a URL such as https://meet.example.com, got "${origin}"`);
    }
  }
  r.allowedOrigins = r.allowedOrigins.map((o: string) => new URL(o).origin);
  return r as ResolvedOptions;
}
