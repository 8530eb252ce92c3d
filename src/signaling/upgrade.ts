import type { IncomingMessage } from 'node:http';
import { verifyRoomToken } from './auth.js';
import { ROOM_NAME, usernameProblem } from './protocol.js';

/** `/room/<room>/`, and `/ws/room/<room>/`, the prefix the original app's proxy used. */
export const ROOM_PATH = /^\/(?:ws\/)?room\/([^/]*)\/?$/;

export interface UpgradePolicy {
  /** Browser Origins allowed to connect; empty allows any. */
  allowedOrigins: string[];
  /** When set, `?token=` must be a valid room token (see auth.ts). */
  authSecret?: string;
}

export type Admission =
  | { ok: true; room: string; username: string | null; expiresAtS?: number }
  | { ok: false; status: number; reason: string };

/**
 * Decides a WebSocket upgrade before any socket exists (ws's example: every refusal is a real HTTP
 * status): the endpoint and room name, the Origin, the token, the `?username=`. Whether that name is
 * taken is the room's shared state: the server asks its engine next (409).
 */
export function admitUpgrade(req: IncomingMessage, policy: UpgradePolicy): Admission {
  const refuse = (status: number, reason: string): Admission => ({ ok: false, status, reason });
  let url: URL;
  try {
    url = new URL(req.url ?? '/', 'http://engage.invalid');
  } catch {
    return refuse(400, 'malformed request URL');
  }
  const match = ROOM_PATH.exec(url.pathname);
  if (!match) return refuse(404, 'the WebSocket endpoint is /room/<room>/');
  let room: string;
  try {
    room = decodeURIComponent(match[1] ?? '');
  } catch {
    return refuse(400, 'malformed room name');
  }
  if (!ROOM_NAME.test(room)) return refuse(400, 'room name must be 1-64 characters of A-Z a-z 0-9 _ -');
  const origin = req.headers.origin;
  if (policy.allowedOrigins.length > 0 && origin !== undefined && !policy.allowedOrigins.includes(origin)) {
    return refuse(403, `origin ${origin} is not allowed`);
  }
  let username = url.searchParams.get('username');
  let expiresAtS: number | undefined;
  if (policy.authSecret !== undefined) {
    const token = url.searchParams.get('token');
    if (token === null) return refuse(401, 'this server needs ?token= (a JWT for the room and username)');
    const check = verifyRoomToken(token, policy.authSecret, room);
    if (!check.ok) return refuse(401, check.reason);
    if (username !== null && username !== check.grant.username)
      return refuse(401, 'username does not match the token');
    username = check.grant.username;
    expiresAtS = check.grant.exp;
  }
  if (username !== null) {
    const problem = usernameProblem(username);
    if (problem) return refuse(400, `username: ${problem.replace(/^peer/, 'it')}`);
  }
  return { ok: true, room, username, ...(expiresAtS === undefined ? {} : { expiresAtS }) };
}

export function httpReason(status: number): string {
  return (
    {
      400: 'Bad Request',
      401: 'Unauthorized',
      403: 'Forbidden',
      404: 'Not Found',
      409: 'Conflict',
      500: 'Internal Server Error',
      503: 'Service Unavailable',
    }[status] ?? 'Error'
  );
}
