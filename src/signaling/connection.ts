import { randomBytes } from 'node:crypto';
import type { WebSocket } from 'ws';
import { TokenBucket } from './rate.js';
import type { Room } from './rooms.js';

/** A channel id shaped like the original Django Channels ones: `specific.<letters>!<random>`. */
export function newChannelId(): string {
  return `specific.engage!${randomBytes(9).toString('base64url')}`;
}

export interface ConnectionLimits {
  /** Messages per second, every frame; the burst is twice that. */
  rate: number;
  /** Messages per second that go to the whole room (new-join, close, custom actions); burst twice that. */
  broadcastRate: number;
}

/**
 * One socket on one room's path. It becomes a member of that room once it has a name (from `?username=`
 * or its first message); until then it is pending: it counts toward no room and hears no broadcast.
 */
export class Connection {
  readonly channel = newChannelId();
  name: string | undefined;
  /** The room it is a member of; undefined while pending. */
  room: Room | undefined;
  /** Order of this member's `new-join` within its room; undefined until it has sent one. */
  joinSeq: number | undefined;
  lastSeen = performance.now();
  /** With --auth-secret: when the socket's token expires (seconds since the epoch). */
  expiresAtS: number | undefined;
  readonly bucket: TokenBucket;
  readonly broadcastBucket: TokenBucket;
  /** Closes the socket if it is still pending when --join-timeout runs out. */
  joinTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly roomName: string,
    readonly socket: WebSocket,
    limits: ConnectionLimits,
  ) {
    this.bucket = new TokenBucket(limits.rate, limits.rate * 2);
    this.broadcastBucket = new TokenBucket(limits.broadcastRate, limits.broadcastRate * 2);
  }
}
