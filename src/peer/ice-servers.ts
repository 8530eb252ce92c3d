import type { RTCIceServer } from 'werift';

// STUN/TURN server URLs as users give them, apart from src/peer/ice.ts so that parsing a plan's
// --ice-server values does not load werift.

/**
 * Parses `--ice-server` values: `stun:host:port`, `turn:host:port?transport=udp`, with credentials as
 * `turn:user:pass@host:port` (the shape most tools print).
 */
export function parseIceServer(text: string): RTCIceServer {
  const m = /^(stuns?|turns?):(?:([^:@]+):([^@]+)@)?(.+)$/.exec(text.trim());
  if (!m)
    throw new Error(`ICE server must look like stun:host:port or turn:user:pass@host:port, got "${text}"`);
  const [, scheme, username, credential, rest] = m;
  const server: RTCIceServer = { urls: `${scheme}:${rest}` };
  if (username !== undefined) {
    server.username = decodeURIComponent(username);
    server.credential = decodeURIComponent(credential!);
  }
  return server;
}

/** The host of a STUN/TURN URL (`turn:host:port?transport=tcp`), without brackets. */
export function iceServerHost(url: string): string {
  const rest = url.replace(/^[a-z]+:/i, '').split('?')[0]!;
  const bracketed = /^\[([^\]]+)\]/.exec(rest);
  if (bracketed) return bracketed[1]!;
  return rest.split(':')[0]!;
}

/** A server entry's URLs: `urls` may be one string or several. */
export function urlsOf(server: RTCIceServer): string[] {
  return Array.isArray(server.urls) ? server.urls : [server.urls];
}

/** Whether any of the servers is a TURN server with credentials (werift uses the first such one). */
export function hasTurnServer(servers: RTCIceServer[]): boolean {
  return servers.some(
    (s) =>
      s.username !== undefined && s.credential !== undefined && urlsOf(s).some((u) => /^turns?:/i.test(u)),
  );
}
