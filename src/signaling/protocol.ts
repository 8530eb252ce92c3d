import {
  ACTION_MAX_LENGTH,
  type CLOSE_CODES,
  type ERROR_CODES,
  FRAME_SHAPE,
  PROTOCOL_ACTIONS,
  SERVER_ONLY_ACTIONS,
  SERVER_PEER,
  USERNAME,
} from './constants.js';
import { describeShapeProblem, shapeProblem } from './frame-shape.js';

/**
 * The wire contract of docs/protocol.md as one discriminated union, parsed once at the boundary.
 * Everything past `parseClientFrame` may trust the shapes declared here.
 */

export { CLOSE_CODES, ERROR_CODES, ROOM_NAME, SERVER_PEER } from './constants.js';

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

export type ErrorCode = (typeof ERROR_CODES)[number];
/** The refusals after which a socket cannot stay, each with its close code. */
export type ClosingCode = keyof typeof CLOSE_CODES & ErrorCode;

export type PeerLeft = Envelope<'peer-left', { receiver_channel_name: string }>;
export type ServerError = Envelope<'error', { code: ErrorCode; message: string; ref?: string }>;

/** What a client may receive: relayed client messages (with the sender's channel) and the server's own. */
export type ServerMessage =
  | ((NewJoin | NewOffer | NewAnswer | Close | Custom) & { keyword: { receiver_channel_name: string } })
  | PeerLeft
  | ServerError;

const SERVER_ONLY = new Set<string>(SERVER_ONLY_ACTIONS);

export const KNOWN_ACTIONS = PROTOCOL_ACTIONS;

/** Actions the server delivers to the whole room: the protocol's new-join and close, and every custom one. */
export function isBroadcast(msg: ClientMessage): boolean {
  return msg.action !== 'new-offer' && msg.action !== 'new-answer';
}

export type ParseResult<T> =
  | { ok: true; value: T }
  | { ok: false; code: ErrorCode; message: string; ref?: string };

/** Returns why `name` cannot be a username, or null when it can. */
export function usernameProblem(name: unknown): string | null {
  if (typeof name !== 'string') return 'peer must be a string';
  if (name.length < 1 || name.length > USERNAME.maxLength)
    return `peer must be 1-${USERNAME.maxLength} characters`;
  if (USERNAME.forbidden.test(name)) return 'peer must not contain control characters';
  if (name.startsWith(USERNAME.reservedPrefix))
    return `peer must not start with "${USERNAME.reservedPrefix}" (reserved for the server)`;
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
  if (typeof action !== 'string' || action.length < 1 || action.length > ACTION_MAX_LENGTH) {
    return bad(`action must be a string of 1-${ACTION_MAX_LENGTH} characters`);
  }
  const ref = action;
  const peerProblem = usernameProblem(value.peer);
  if (peerProblem) return bad(peerProblem, ref);
  if (!isObject(value.keyword)) return bad('keyword must be an object', ref);
  if (SERVER_ONLY.has(action)) return bad(`action "${action}" is sent only by the server`, ref);
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

/**
 * Parses one text frame: its shape (depth, number of values) is checked on the text first, so that a
 * frame JSON.parse would accept but nothing could safely walk never becomes a value. Binary frames are not
 * part of the protocol.
 */
export function parseClientFrame(data: string): ParseResult<ClientMessage> {
  const shape = shapeProblem(data);
  if (shape) return { ok: false, code: 'too-complex', message: describeShapeProblem(shape) };
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
  // A relayed message holds one value more than the frame its sender sent: the channel the server adds.
  const limits = { ...FRAME_SHAPE, maxValues: FRAME_SHAPE.maxValues + 1 };
  const shape = shapeProblem(data, limits);
  if (shape) return { ok: false, code: 'too-complex', message: describeShapeProblem(shape, limits) };
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
