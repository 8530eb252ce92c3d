/**
 * The protocol's constants (docs/protocol.md): the one copy the server, the bots' client and the browser
 * page all read. The page gets this very module, rendered to plain JavaScript by `engage serve` at
 * `/signaling/constants.js` (src/web/static.ts), so it must stay data only: strings, numbers, RegExps and
 * frozen objects and arrays of them, with no imports and no functions.
 */

/** The `peer` of every message the server itself sends; clients may not use names starting with `@`. */
export const SERVER_PEER = '@server';

/** Room names: ASCII letters, digits, `_` and `-`, 1–64 characters. */
export const ROOM_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/** `/room/<room>/`, and `/ws/room/<room>/`, the prefix the original app's proxy used. */
export const ROOM_PATH = /^\/(?:ws\/)?room\/([^/]*)\/?$/;

/** Usernames: 1–64 UTF-16 code units, no control characters, not starting with `@`. */
export const USERNAME = Object.freeze({
  maxLength: 64,
  reservedPrefix: '@',
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it looks for
  forbidden: /[\u0000-\u001f\u007f-\u009f]/,
});

/** Actions: 1–64 characters. */
export const ACTION_MAX_LENGTH = 64;

/** The label of the data channel the offerer creates; chat on it is `"<name>: <text>"`. */
export const DATA_CHANNEL_LABEL = 'channel';

/** The actions the protocol defines; any other action is a custom one, broadcast to the room. */
export const PROTOCOL_ACTIONS = Object.freeze([
  'new-join',
  'new-offer',
  'new-answer',
  'close',
  'peer-left',
  'error',
] as const);

/** Actions only the server sends: a client claiming them could spoof a departure or an error. */
export const SERVER_ONLY_ACTIONS = Object.freeze(['peer-left', 'error'] as const);

/**
 * What a frame may hold, checked on its text before anything parses or walks it. Depth counts the
 * envelope itself as 1, `keyword` as 2. Values are object members plus array elements, at every level.
 */
export const FRAME_SHAPE = Object.freeze({ maxDepth: 32, maxValues: 4096 });

/** The codes of the server's `error` messages. */
export const ERROR_CODES = Object.freeze([
  'bad-json',
  'bad-envelope',
  'too-large',
  'too-complex',
  'rate-limited',
  'unknown-target',
  'username-taken',
  'identity-changed',
  'room-full',
  'unauthorized',
  'join-timeout',
  'internal-error',
  'unavailable',
  'rejoin',
] as const);

/** WebSocket close codes for the refusals after which a socket cannot stay (docs/protocol.md). */
export const CLOSE_CODES = Object.freeze({
  'username-taken': 4409,
  unauthorized: 4401,
  'room-full': 4429,
  'join-timeout': 4408,
  rejoin: 4503,
} as const);

/** Close codes of the WebSocket standard that the server also uses. */
export const STANDARD_CLOSE_CODES = Object.freeze({
  /** The server is shutting down. */
  goingAway: 1001,
  /** A frame beyond the hard cap (--max-message-bytes plus 1 MiB), which would have to be buffered whole. */
  tooBig: 1009,
});
