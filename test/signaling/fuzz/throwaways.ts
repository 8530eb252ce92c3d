/**
 * Sockets that come and go around the fuzz room: impostors claiming a member's name, frames past the hard
 * cap, pending sockets sending junk, broken WebSocket framing on the raw TCP stream, members of a side
 * room. Each case checks what that one socket gets; the fuzz room's own model checks nobody else heard.
 */
import { connect } from 'node:net';
import fc from 'fast-check';
import { TestClient } from '../../helpers/client.js';
import { FUZZ_LIMITS } from './frames.js';

/** ws closes a frame this far past --max-message-bytes without buffering it (server.ts). */
const HARD_CAP = FUZZ_LIMITS.maxMessageBytes + 1024 * 1024;

export type ThrowawayCase =
  | { kind: 'impostor'; victim: number; action: string }
  | { kind: 'pastHardCap'; extra: number }
  | { kind: 'pendingJunk'; frames: Array<{ text: string } | { bytes: Uint8Array }> }
  | { kind: 'wireJunk'; bytes: Uint8Array }
  | { kind: 'sideMember'; name: string };

export const throwawayCase: fc.Arbitrary<ThrowawayCase> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('impostor' as const),
      victim: fc.nat(2),
      action: fc.constantFrom('new-join', 'close', 'anything'),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('pastHardCap' as const),
      extra: fc.integer({ min: 1, max: 4096 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('pendingJunk' as const),
      frames: fc.array(
        fc.oneof(
          fc.string({ maxLength: 50 }).map((s) => ({ text: `junk ${s}` })),
          fc.uint8Array({ maxLength: 50 }).map((bytes) => ({ bytes })),
        ),
        { minLength: 1, maxLength: 5 },
      ),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('wireJunk' as const),
      bytes: fc.uint8Array({ minLength: 1, maxLength: 64 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('sideMember' as const),
      name: fc.stringMatching(/^[a-z]{1,12}$/),
    }),
  },
);

let serial = 0;

/** Runs one case; resolves with the number of `error` messages its socket received. */
export async function runThrowaway(url: string, names: readonly string[], c: ThrowawayCase): Promise<number> {
  switch (c.kind) {
    case 'impostor': {
      // No name yet, then a fuzz member's: refused with username-taken and 4409, never a member.
      const t = await TestClient.connect(url, 'fz');
      t.say(names[c.victim]!, c.action);
      const err = await t.next((m) => m.action === 'error', 5000);
      if (err.keyword.code !== 'username-taken') throw new Error(`impostor got ${JSON.stringify(err)}`);
      const closed = await t.closed;
      if (closed.code !== 4409) throw new Error(`impostor closed with ${closed.code}, not 4409`);
      return 1;
    }
    case 'pastHardCap': {
      const t = await TestClient.connect(url, 'side');
      t.send('x'.repeat(HARD_CAP + c.extra));
      const closed = await t.closed;
      if (closed.code !== 1009)
        throw new Error(`a frame past the hard cap closed with ${closed.code}, not 1009`);
      return 0;
    }
    case 'pendingJunk': {
      // A socket in the fuzz room that never names itself: each frame answered, nobody else hears.
      const t = await TestClient.connect(url, 'fz');
      for (const f of c.frames)
        t.ws.send('text' in f ? f.text : Buffer.from(f.bytes), { binary: 'bytes' in f });
      for (let i = 0; i < c.frames.length; i++) {
        const err = await t.next((m) => m.action === 'error', 5000);
        if (!['bad-json', 'bad-envelope', 'too-complex'].includes(err.keyword.code))
          throw new Error(`junk got ${JSON.stringify(err)}`);
      }
      t.close();
      await t.closed;
      return c.frames.length;
    }
    case 'wireJunk':
      await wireJunk(url, c.bytes);
      return 0;
    case 'sideMember': {
      const name = `${c.name}${serial++}`;
      const t = await TestClient.connect(url, 'side', { username: name });
      t.say(name, 'new-join');
      await t.next((m) => m.action === 'new-join' && m.peer === name, 5000);
      t.close();
      await t.closed;
      return 0;
    }
  }
}

/** Completes a real handshake on a raw TCP socket, then writes bytes that are no WebSocket framing. */
function wireJunk(wsUrl: string, bytes: Uint8Array): Promise<void> {
  const url = new URL(wsUrl.replace(/^ws/, 'http'));
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname);
    let head = '';
    let upgraded = false;
    const timer = setTimeout(() => {
      socket.destroy();
      if (upgraded) resolve();
      else reject(new Error('no handshake answer within 5 s'));
    }, 5000);
    socket.on('error', () => {});
    socket.on('data', (d) => {
      if (upgraded) return;
      head += d.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      if (!head.startsWith('HTTP/1.1 101')) {
        clearTimeout(timer);
        socket.destroy();
        reject(new Error(`handshake refused: ${head.split('\r\n')[0]}`));
        return;
      }
      upgraded = true;
      socket.write(Buffer.from(bytes));
      // The server closes a broken stream (1002) or waits for the rest of a frame; either way we leave.
      setTimeout(() => {
        clearTimeout(timer);
        socket.destroy();
        resolve();
      }, 30);
    });
    socket.write(
      `GET /room/side/ HTTP/1.1\r\nHost: ${url.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    );
  });
}
