import { randomBytes } from 'node:crypto';
import { WebSocket } from 'ws';
import { TokenBucket } from './rate.js';

/** A channel id shaped like the original Django Channels ones: `specific.<letters>!<random>`. */
export function newChannelId(): string {
  return `specific.engage!${randomBytes(9).toString('base64url')}`;
}

export interface ConnectionLimits {
  /** Messages per second, every frame; the burst is twice that. */
  rate: number;
  /** Messages per second that go to the whole room (new-join, close, custom actions); burst twice that. */
  broadcastRate: number;
  /** Unsent bytes past which a socket whose peer stopped reading is cut off. */
  maxBufferedBytes: number;
}

/**
 * `pending`: no name yet, hears nothing. `claiming`: its claim of a name is in flight; what the room sends
 * meanwhile is held until the claim is decided. `member`: has its name in the room.
 */
export type Standing = 'pending' | 'claiming' | 'member';

/** What became of one send. `cut`: the peer had stopped reading, so the socket was terminated. */
export type SendOutcome = 'sent' | 'closed' | 'cut';

/** Deliveries held for a claiming socket; a claim that outlasts this many events rejoins instead. */
const MAX_HELD = 256;

/** A frame for this socket, and its action as a metrics label. */
export interface OutboundFrame {
  frame: string;
  action: string;
}

/**
 * One socket on one room's path, and what belongs to the socket rather than to the room: its channel id,
 * rate buckets, liveness (heartbeat), token expiry, join timer, and the order in which its frames are
 * handled. It becomes a member of its room once it has claimed a name (from `?username=` or its first
 * message); until then it is pending: it counts toward no room and hears no broadcast.
 */
export class Connection {
  name: string | undefined;
  standing: Standing = 'pending';
  lastSeen = performance.now();
  readonly bucket: TokenBucket;
  readonly broadcastBucket: TokenBucket;
  /** Closes the socket if it is still pending when --join-timeout runs out. */
  joinTimer: NodeJS.Timeout | undefined;
  /** Frames for this socket that arrived while its claim was in flight, in the room's order. */
  private held: OutboundFrame[] | undefined;
  private heldOverflow = false;
  /** Frames are handled one at a time, so one sender's messages keep their order whatever the engine does. */
  private readonly queue: Array<() => Promise<void>> = [];
  private draining = false;

  constructor(
    readonly roomName: string,
    readonly channel: string,
    readonly socket: WebSocket,
    private readonly limits: ConnectionLimits,
    /** The only name it may take: `?username=` or its token's username (undefined: its first `peer`). */
    readonly requiredName?: string,
    /** With --auth-secret: when the socket's token expires (seconds since the epoch). */
    readonly expiresAtS?: number,
  ) {
    this.bucket = new TokenBucket(limits.rate, limits.rate * 2);
    this.broadcastBucket = new TokenBucket(limits.broadcastRate, limits.broadcastRate * 2);
  }

  get isOpen(): boolean {
    return this.socket.readyState === WebSocket.OPEN;
  }

  get isMember(): boolean {
    return this.standing === 'member';
  }

  /** Frames waiting for their turn (bounded by the rate bucket, which refuses before anything queues). */
  get backlog(): number {
    return this.queue.length + (this.draining ? 1 : 0);
  }

  tokenExpired(nowS = Date.now() / 1000): boolean {
    return this.expiresAtS !== undefined && nowS >= this.expiresAtS;
  }

  silentFor(now = performance.now()): number {
    return now - this.lastSeen;
  }

  /**
   * Runs `task` after every task queued before it; at once (up to its first await) when none is waiting.
   * `task` must not reject (the server guards it); one that does is skipped, not retried.
   */
  enqueue(task: () => Promise<void>): void {
    this.queue.push(task);
    if (!this.draining) void this.drain();
  }

  private async drain(): Promise<void> {
    this.draining = true;
    try {
      for (let task = this.queue.shift(); task; task = this.queue.shift()) {
        try {
          await task();
        } catch {
          // Guarded by the caller; nothing must stop the queue.
        }
      }
    } finally {
      this.draining = false;
    }
  }

  /** Sends unless the socket is closed or its peer stopped reading, in which case it is cut off. */
  send(frame: string): SendOutcome {
    const ws = this.socket;
    if (ws.readyState !== WebSocket.OPEN) return 'closed';
    if (ws.bufferedAmount > this.limits.maxBufferedBytes) {
      ws.terminate();
      return 'cut';
    }
    ws.send(frame);
    return 'sent';
  }

  /** The claim is in flight: hold what the room sends until it is decided. */
  startClaim(): void {
    this.standing = 'claiming';
    this.held = [];
    this.heldOverflow = false;
  }

  /** Keeps a frame for after the claim; false when too many are held (the socket must rejoin). */
  hold(frame: OutboundFrame): boolean {
    if (!this.held || this.held.length >= MAX_HELD) {
      this.heldOverflow = true;
      return false;
    }
    this.held.push(frame);
    return true;
  }

  /**
   * The claim is decided. Won: the socket is a member named `name`, and returns what was held for it
   * (or undefined when more was sent than could be held). Lost or undone: back to pending, held frames
   * dropped (a socket that is no member hears nothing of the room).
   */
  endClaim(name: string | undefined): OutboundFrame[] | undefined {
    const held = this.held ?? [];
    const overflow = this.heldOverflow;
    this.held = undefined;
    this.heldOverflow = false;
    if (name === undefined) {
      this.standing = 'pending';
      return [];
    }
    this.name = name;
    this.standing = 'member';
    clearTimeout(this.joinTimer);
    return overflow ? undefined : held;
  }

  close(code: number, reason: string): void {
    clearTimeout(this.joinTimer);
    this.socket.close(code, reason);
  }
}
