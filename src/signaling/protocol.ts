/**
 * The wire contract of ../shared/protocol.md as one discriminated union, parsed once at the boundary.
 * Everything past `parseClientFrame` may trust the shapes declared here.
 */

export const SERVER_PEER = '@server';

/** Room names: ASCII letters, digits, `_` and `-`, 1–64 characters. */
export const ROOM_NAME = /^[A-Za-z0-9_-]{1,64}$/;

export type Keyword = Record<string, unknown>;

export interface SessionDescriptionInit {
  type: 'offer' | 'answer';
  sdp: string;
  [extra: string]: unknown;
}

interface Envelope<A extends string, K> {
  peer: string;
  action: A;
  keyword: K;
}

export type NewJoin = Envelope<'new-join', Keyword>;
export type NewOffer = Envelope<
  'new-offer',
  Keyword & { sdp: SessionDescriptionInit & { type: 'offer' }; receiver_channel_name: string }
>;
export type NewAnswer = Envelope<
  'new-answer',
  Keyword & { sdp: SessionDescriptionInit & { type: 'answer' }; receiver_channel_name: string }
>;
export type Close = Envelope<'close', Keyword>;
/** Any action the server does not know is broadcast untouched; old clients ignore what they do not know. */
export type Custom = Envelope<string, Keyword> & { custom: true };

export type ClientMessage = NewJoin | NewOffer | NewAnswer | Close | Custom;

export const ERROR_CODES = [
  'bad-json',
  'bad-envelope',
  'too-large',
  'rate-limited',
  'unknown-target',
  'username-taken',
  'identity-changed',
  'room-full',
  'unauthorized',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/** Close codes for the refusals after which a socket cannot stay. */
export const CLOSE_CODES = {
  'username-taken': 4409,
  unauthorized: 4401,
  'room-full': 4429,
} as const satisfies Partial<Record<ErrorCode, number>>;

export type PeerLeft = Envelope<'peer-left', { receiver_channel_name: string }>;
export type ServerError = Envelope<'error', { code: ErrorCode; message: string; ref?: string }>;

/** What a client may receive: relayed client messages (with the sender's channel) and the server's own. */
export type ServerMessage =
  | ((NewJoin | NewOffer | NewAnswer | Close | Custom) & { keyword: { receiver_channel_name: string } })
  | PeerLeft
  | ServerError;

/** Actions only the server may send; a client claiming them could spoof a departure or an error. */
const SERVER_ONLY_ACTIONS = new Set(['peer-left', 'error']);

export const KNOWN_ACTIONS = ['new-join', 'new-offer', 'new-answer', 'close', 'peer-left', 'error'] as const;

export type ParseResult<T> =
  | { ok: true; value: T }
  | { ok: false; code: ErrorCode; message: string; ref?: string };

function hasControlCharacter(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) return true;
  }
  return false;
}

/** Returns why `name` cannot be a username, or null when it can. */
export function usernameProblem(name: unknown): string | null {
  if (typeof name !== 'string') return 'peer must be a string';
  if (name.length < 1 || name.length > 64) return 'peer must be 1-64 characters';
  if (hasControlCharacter(name)) return 'peer must not contain control characters';
  if (name.startsWith('@')) return 'peer must not start with "@" (reserved for the server)';
  return null;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function bad(message: string, ref?: string): ParseResult<never> {
  return { ok: false, code: 'bad-envelope', message, ...(ref === undefined ? {} : { ref }) };
}

function checkDescription(keyword: Keyword, type: 'offer' | 'answer', action: string): string | null {
  const sdp = keyword.sdp;
  if (!isObject(sdp)) return `${action} needs keyword.sdp, an object {type, sdp}`;
  if (sdp.type !== type) return `${action} needs keyword.sdp.type "${type}"`;
  if (typeof sdp.sdp !== 'string' || sdp.sdp.length === 0) return `${action} needs keyword.sdp.sdp, a string`;
  if (typeof keyword.receiver_channel_name !== 'string' || keyword.receiver_channel_name.length === 0) {
    return `${action} needs keyword.receiver_channel_name, the target's channel`;
  }
  return null;
}

/** Validates a parsed JSON value as a client envelope. */
export function parseClientMessage(value: unknown): ParseResult<ClientMessage> {
  if (!isObject(value)) return bad('a message must be a JSON object {peer, action, keyword}');
  const { action } = value;
  if (typeof action !== 'string' || action.length < 1 || action.length > 64) {
    return bad('action must be a string of 1-64 characters');
  }
  const ref = action;
  const peerProblem = usernameProblem(value.peer);
  if (peerProblem) return bad(peerProblem, ref);
  if (!isObject(value.keyword)) return bad('keyword must be an object', ref);
  if (SERVER_ONLY_ACTIONS.has(action)) return bad(`action "${action}" is sent only by the server`, ref);
  const keyword = value.keyword;
  switch (action) {
    case 'new-offer':
    case 'new-answer': {
      const problem = checkDescription(keyword, action === 'new-offer' ? 'offer' : 'answer', action);
      if (problem) return bad(problem, ref);
      return { ok: true, value: value as unknown as NewOffer | NewAnswer };
    }
    case 'new-join':
    case 'close':
      return { ok: true, value: value as unknown as NewJoin | Close };
    default:
      return { ok: true, value: Object.assign(value as unknown as Custom, { custom: true as const }) };
  }
}

/** Parses one text frame. Binary frames are not part of the protocol. */
export function parseClientFrame(data: string): ParseResult<ClientMessage> {
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    return { ok: false, code: 'bad-json', message: 'frame is not valid JSON' };
  }
  return parseClientMessage(value);
}

/** Validates a message received from a server, for clients (bots) that must not trust the network either. */
export function parseServerFrame(data: string): ParseResult<ServerMessage> {
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    return { ok: false, code: 'bad-json', message: 'frame is not valid JSON' };
  }
  if (!isObject(value) || typeof value.action !== 'string' || typeof value.peer !== 'string') {
    return bad('a message must be a JSON object {peer, action, keyword}');
  }
  if (!isObject(value.keyword)) return bad('keyword must be an object', value.action);
  const keyword = value.keyword;
  switch (value.action) {
    case 'error':
      if (typeof keyword.code !== 'string') return bad('error needs keyword.code', 'error');
      return { ok: true, value: value as unknown as ServerError };
    case 'peer-left':
      return { ok: true, value: value as unknown as PeerLeft };
    case 'new-offer':
    case 'new-answer': {
      // The server has already replaced receiver_channel_name with the sender's channel.
      const problem = checkDescription(
        keyword,
        value.action === 'new-offer' ? 'offer' : 'answer',
        value.action,
      );
      if (problem) return bad(problem, value.action);
      return { ok: true, value: value as unknown as ServerMessage };
    }
    default:
      return { ok: true, value: value as unknown as ServerMessage };
  }
}

export function errorMessage(code: ErrorCode, message: string, ref?: string): ServerError {
  return {
    peer: SERVER_PEER,
    action: 'error',
    keyword: ref === undefined ? { code, message } : { code, message, ref },
  };
}
