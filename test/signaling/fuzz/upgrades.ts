/**
 * fast-check generators of WebSocket upgrade requests, written byte for byte (so that nothing a real
 * HTTP client would refuse to send is out of reach), each with the statuses docs/protocol.md allows.
 */
import { connect } from 'node:net';
import fc from 'fast-check';
import { ROOM_NAME, USERNAME } from '../../../src/signaling/constants.js';

export interface UpgradeCase {
  /** The request target, as raw bytes (latin1). */
  target: string;
  method: string;
  /** Header lines after Host, replacing the handshake's own when given. */
  headers: Record<string, string>;
  /** The statuses the server may answer with. */
  allowed: number[];
  gen: string;
}

const HANDSHAKE = {
  Upgrade: 'websocket',
  Connection: 'Upgrade',
  'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
  'Sec-WebSocket-Version': '13',
};

const roomName = fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/);
const prefix = fc.constantFrom('/room/', '/ws/room/');
const slash = fc.constantFrom('/', '');
/** Printable ASCII without space, `#`, or anything that starts a new query parameter by accident. */
const queryText = fc.string({
  unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)),
  maxLength: 30,
});

let serial = 0;

const make = (
  gen: string,
  target: string,
  allowed: number[],
  extra: Partial<UpgradeCase> = {},
): UpgradeCase => ({
  gen,
  target,
  method: 'GET',
  headers: HANDSHAKE,
  allowed,
  ...extra,
});

/** A valid room with arbitrary extra query parameters (none of them username or token): accepted. */
const junkQuery = fc
  .tuple(prefix, roomName, slash, fc.array(fc.tuple(queryText, queryText), { maxLength: 4 }), queryText)
  .map(([p, room, s, pairs, raw]) => {
    const q = new URLSearchParams(pairs.filter(([k]) => k !== 'username'));
    let query = `${q}&${raw.replace(/#/g, '')}`;
    const parsed = new URLSearchParams(query);
    if (parsed.has('username')) query = q.toString();
    return make('junkQuery', `${p}${room}${s}?${query}`, [101]);
  });

/** A valid room and a valid, unused username: accepted. */
const freshName = fc
  .tuple(prefix, roomName, fc.string({ unit: 'binary', minLength: 1, maxLength: 20 }))
  .filter(([, , n]) => !USERNAME.forbidden.test(n) && !n.startsWith('@'))
  .map(([p, room, n]) => {
    const name = `u${serial++}-${n}`.slice(0, 64);
    return make('freshName', `${p}${room}/?username=${encodeURIComponent(name)}`, [101]);
  });

/** A username the protocol forbids: 400. */
const badName = fc
  .tuple(
    prefix,
    roomName,
    fc.oneof(
      fc.constant(''),
      fc.string({ minLength: 1, maxLength: 10 }).map((s) => `@${s}`),
      fc.string({ unit: 'grapheme-ascii', minLength: 65, maxLength: 200 }),
      fc
        .tuple(fc.string({ maxLength: 5 }), fc.integer({ min: 0, max: 0x1f }))
        .map(([s, c]) => `${s}${String.fromCharCode(c)}`),
      fc.constantFrom('\u007f', 'a\u0085b', '\u009f'),
    ),
  )
  .filter(([, , n]) => n.length === 0 || n.length > 64 || n.startsWith('@') || USERNAME.forbidden.test(n))
  .map(([p, room, n]) => make('badName', `${p}${room}/?username=${encodeURIComponent(n)}`, [400]));

/** A room name the protocol forbids (encoded characters outside the set, too long, empty, bad escapes): 400. */
const badRoom = fc
  .tuple(
    prefix,
    fc.oneof(
      fc.string({ unit: 'binary', minLength: 1, maxLength: 20 }).map((s) => encodeURIComponent(s)),
      fc.stringMatching(/^[A-Za-z0-9_-]{65,200}$/),
      fc.constantFrom('', '%zz', '%', '%e9', 'a%2Fb', '%00', 'caf%C3%A9', '%20'),
    ),
  )
  .filter(([, room]) => {
    try {
      return !ROOM_NAME.test(decodeURIComponent(room));
    } catch {
      return true;
    }
  })
  .map(([p, room]) => make('badRoom', `${p}${room}/`, [400]));

/** Paths that are not a room's: 404. */
const wrongPath = fc
  .tuple(
    fc.constantFrom(
      '/',
      '/room',
      '/rooms/',
      '/ROOM/',
      '/x/room/',
      '/room/a/b/',
      '/ws/room/a/b',
      '/wss/room/',
      '/web/',
    ),
    fc.stringMatching(/^[A-Za-z0-9_-]{0,10}$/),
  )
  .map(([p, tail]) => {
    const target =
      p === '/room/a/b/' || p === '/ws/room/a/b' ? `${p}${tail}` : `${p}${tail}${tail ? '/x/' : ''}`;
    return make(
      'wrongPath',
      target.startsWith('/room/') && !target.includes('/a/b') ? `/nope${target}` : target,
      [404],
    );
  });

/** Raw bytes in the request target (no CR or LF, which would end the line): refused, never accepted. */
const rawTarget = fc
  .uint8Array({ minLength: 1, maxLength: 60 })
  .map((bytes) =>
    [...bytes]
      .filter((b) => b !== 0x0d && b !== 0x0a)
      .map((b) => String.fromCharCode(b))
      .join(''),
  )
  .map((junk) => make('rawTarget', `/g${junk}`, [400, 404]));

/** A room path with a broken handshake: ws's own refusals. */
const badHandshake = fc
  .tuple(
    prefix,
    roomName,
    fc.oneof(
      fc.constantFrom('12', '', 'abc', '14').map((v) => ({
        headers: { ...HANDSHAKE, 'Sec-WebSocket-Version': v },
        allowed: [400],
        method: 'GET',
      })),
      fc
        .constantFrom('', 'short', 'not base64 at all!!!!!')
        .map((k) => ({ headers: { ...HANDSHAKE, 'Sec-WebSocket-Key': k }, allowed: [400], method: 'GET' })),
      fc
        .constantFrom('POST', 'PUT', 'DELETE')
        .map((m) => ({ headers: HANDSHAKE, allowed: [405], method: m })),
    ),
  )
  .map(([p, room, broken]) => make('badHandshake', `${p}${room}/`, broken.allowed, broken));

export const upgradeCase: fc.Arbitrary<UpgradeCase> = fc.oneof(
  { weight: 3, arbitrary: junkQuery },
  { weight: 2, arbitrary: freshName },
  { weight: 2, arbitrary: badName },
  { weight: 3, arbitrary: badRoom },
  { weight: 2, arbitrary: wrongPath },
  { weight: 3, arbitrary: rawTarget },
  { weight: 2, arbitrary: badHandshake },
);

/**
 * Sends the request over a raw TCP connection and resolves with the status the server answered (then
 * closes, so an accepted socket goes at once). Rejects if the server neither answers nor closes in time.
 */
export function sendUpgrade(httpUrl: string, c: UpgradeCase, timeoutMs = 5000): Promise<number> {
  const url = new URL(httpUrl);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname);
    let head = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within ${timeoutMs} ms to ${JSON.stringify(c)}`));
    }, timeoutMs);
    const finish = (status: number) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(status);
    };
    socket.on('data', (d) => {
      head += d.toString('latin1');
      const m = /^HTTP\/1\.1 (\d{3})/.exec(head);
      if (m && head.includes('\r\n\r\n')) finish(Number(m[1]));
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      const m = /^HTTP\/1\.1 (\d{3})/.exec(head);
      if (m) finish(Number(m[1]));
      else {
        clearTimeout(timer);
        reject(
          new Error(
            `connection closed without a status line for ${JSON.stringify(c)}: ${JSON.stringify(head)}`,
          ),
        );
      }
    });
    const headers = Object.entries({ Host: url.host, ...c.headers })
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('');
    socket.write(Buffer.from(`${c.method} ${c.target} HTTP/1.1\r\n${headers}\r\n`, 'latin1'));
  });
}
