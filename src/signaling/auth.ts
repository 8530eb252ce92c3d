import { createHmac, timingSafeEqual } from 'node:crypto';

/** What a valid engage token grants: one username in one room, until it expires. */
export interface RoomGrant {
  room: string;
  username: string;
  /** Expiry, seconds since the epoch (the JWT `exp` claim). */
  exp: number;
}

export type TokenCheck = { ok: true; grant: RoomGrant } | { ok: false; reason: string };

const b64url = (buf: Buffer) => buf.toString('base64url');

/** Makes an HS256 JWT for `grant` (for tests and for operators who mint tokens with engage). */
export function signRoomToken(grant: RoomGrant, secret: string): string {
  const header = b64url(Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })));
  const payload = b64url(Buffer.from(JSON.stringify(grant)));
  const signature = b64url(createHmac('sha256', secret).update(`${header}.${payload}`).digest());
  return `${header}.${payload}.${signature}`;
}

/**
 * Verifies an HS256 JWT naming `room` and a username, with an expiry (docs/protocol.md, Security).
 * Only HS256 is accepted, whatever the header says, so a token cannot downgrade itself to `none`.
 */
export function verifyRoomToken(
  token: string,
  secret: string,
  room: string,
  nowS = Date.now() / 1000,
): TokenCheck {
  const parts = token.split('.');
  if (parts.length !== 3) return { ok: false, reason: 'token is not a JWT' };
  const [header, payload, signature] = parts as [string, string, string];
  let alg: unknown;
  let claims: Record<string, unknown>;
  try {
    alg = (JSON.parse(Buffer.from(header, 'base64url').toString('utf8')) as { alg?: unknown }).alg;
    claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch {
    return { ok: false, reason: 'token is not valid JSON' };
  }
  if (alg !== 'HS256') return { ok: false, reason: 'token must be signed with HS256' };
  const expected = createHmac('sha256', secret).update(`${header}.${payload}`).digest();
  const given = Buffer.from(signature, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return { ok: false, reason: 'token signature does not match' };
  }
  if (typeof claims !== 'object' || claims === null)
    return { ok: false, reason: 'token claims must be an object' };
  if (typeof claims.exp !== 'number') return { ok: false, reason: 'token has no expiry (exp)' };
  if (claims.exp <= nowS) return { ok: false, reason: 'token has expired' };
  if (claims.room !== room) return { ok: false, reason: `token is not for room ${room}` };
  if (typeof claims.username !== 'string') return { ok: false, reason: 'token names no username' };
  return { ok: true, grant: { room, username: claims.username, exp: claims.exp } };
}
