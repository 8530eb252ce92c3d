import { isUtf8 } from 'node:buffer';
import type { RawData } from 'ws';
import type { Connection } from './connection.js';
import type { ResolvedOptions } from './options.js';
import { type ClientMessage, type ErrorCode, isBroadcast, parseClientFrame } from './protocol.js';

export type FrameCheck =
  | { ok: true; msg: ClientMessage }
  | { ok: false; code: ErrorCode; message: string; ref?: string };

type Limits = Pick<ResolvedOptions, 'rate' | 'maxMessageBytes' | 'maxBroadcastBytes' | 'broadcastRate'>;

function refuse(code: ErrorCode, message: string, ref?: string): FrameCheck {
  return ref === undefined ? { ok: false, code, message } : { ok: false, code, message, ref };
}

/**
 * Checks 2-9 of docs/protocol.md ("Checks, in order"), everything a frame can fail before the room's
 * state is consulted: rate, size, text, UTF-8, shape, JSON, envelope, the room-wide limits. Synchronous
 * and done on arrival, so a flood is refused at once and never waits in the socket's queue.
 */
export function checkFrame(
  conn: Connection,
  data: RawData,
  isBinary: boolean,
  limits: Limits,
  now: number,
): FrameCheck {
  if (!conn.bucket.take(now))
    return refuse('rate-limited', `more than ${limits.rate} messages/s; message dropped`);
  const buffer = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data); // a view of the ArrayBuffer, not a copy
  const max = limits.maxMessageBytes;
  if (buffer.byteLength > max)
    return refuse('too-large', `frame of ${buffer.byteLength} bytes exceeds ${max}`);
  if (isBinary) return refuse('bad-envelope', 'binary frames are not part of the protocol; send JSON text');
  if (!isUtf8(buffer)) return refuse('bad-json', 'text frame is not valid UTF-8');
  const parsed = parseClientFrame(buffer.toString('utf8'));
  if (!parsed.ok) return refuse(parsed.code, parsed.message, parsed.ref);
  const msg = parsed.value;
  // A message to the whole room costs a send per member, so it has smaller limits of its own.
  if (isBroadcast(msg)) {
    const bytes = buffer.byteLength;
    if (bytes > limits.maxBroadcastBytes) {
      const why = `${msg.action} goes to the whole room: ${bytes} bytes exceeds ${limits.maxBroadcastBytes}`;
      return refuse('too-large', why, msg.action);
    }
    if (!conn.broadcastBucket.take(now)) {
      const why = `more than ${limits.broadcastRate} room-wide messages/s; ${msg.action} dropped`;
      return refuse('rate-limited', why, msg.action);
    }
  }
  return { ok: true, msg };
}
