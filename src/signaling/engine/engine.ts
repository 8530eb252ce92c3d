/**
 * What the room rules need from shared state, so one server and many servers run the same rules
 * (docs/cluster.md). A *member* is a socket that has claimed a name in a room; a *channel* is a
 * socket's id. An engine instance hosts the sockets of one server process ("local channels"); other
 * instances may host the rest of the room.
 *
 * Every operation may reject with {@link EngineUnavailableError} (shared state unreachable, overloaded or
 * closed): the caller answers its client with the `unavailable` error and nothing is queued for later,
 * except {@link RoomEngine.leave}, which must eventually happen and is retried by the engine itself.
 */

/** `ready` serves; `unavailable` refuses every call until it has recovered by itself; `closed` is final. */
export type EngineState = 'starting' | 'ready' | 'unavailable' | 'closed';

export interface RoomMember {
  channel: string;
  name: string;
}

export type ClaimResult =
  /** `size`: named members of the room, across every instance, this one included. */
  | { ok: true; size: number }
  /** `taken`: another channel holds the name; `full`: the room has `maxMembers` already; `named`: this
   *  channel holds another name (a socket's name is bound once). */
  | { ok: false; reason: 'taken' | 'full' | 'named' };

export type JoinResult =
  /** `earlier`: members whose own join came first; the join frame went to them and to the joiner. */
  | { ok: true; earlier: RoomMember[] }
  /** The channel is not (or no longer) a member: it never claimed, or its claim was lost (resync). */
  | { ok: false; reason: 'not-member' };

export type SendResult = { ok: true } | { ok: false; reason: 'not-member' | 'unknown-target' };

/**
 * A client frame to relay, already serialised by the sender's server, and its action as a metrics label
 * (a known action or `other`: the receiving instances count deliveries by it without parsing the frame).
 */
export interface Relay {
  action: string;
  frame: string;
}

/** What reached the room, as the engine hands it to the instances hosting its recipients. */
export type RoomEvent =
  /** A client frame, relayed verbatim. */
  | ({ kind: 'frame'; from: string } & Relay)
  /** A member left: by its socket closing, or swept because its instance died. */
  | { kind: 'left'; member: RoomMember };

export interface Delivery {
  room: string;
  /** The room's sequence number of this event; every instance sees a room's events in this order. */
  seq: number;
  /** The local channels to hand it to (recipients hosted elsewhere are delivered by their instance). */
  to: string[];
  event: RoomEvent;
  /** True when it came from the room's stream to fill a gap rather than live from pub/sub. */
  replayed: boolean;
}

/**
 * Local channels that must rejoin: their room's shared state is gone (`reset`: Redis restarted empty or
 * lost the room), could not be caught up (`gap`: the stream no longer holds what they missed) or this
 * instance was declared dead and swept (`swept`). The server closes their sockets with the rejoin close
 * code; it still calls `leave` for each as for any closed socket.
 */
export interface Resync {
  room: string;
  channels: string[];
  reason: 'reset' | 'gap' | 'swept';
}

export interface EngineEvents {
  state: [state: EngineState];
  delivery: [delivery: Delivery];
  resync: [resync: Resync];
}

/** Labels travel in the room's event header: anything else is counted as `other`. */
export function relayLabel(action: string): string {
  return /^[a-z][a-z-]{0,31}$/.test(action) ? action : 'other';
}

export type UnavailableReason = 'down' | 'timeout' | 'overloaded' | 'closed';

/**
 * The shared state did not do it. `maybeDone` false: refused before anything was sent, nothing happened.
 * True: sent but not confirmed (a timeout, a lost connection); room operations carry a deadline, so a
 * command Redis runs after its sender gave up does nothing, and only one that ran in time but whose reply
 * was lost can have happened.
 */
export class EngineUnavailableError extends Error {
  constructor(
    readonly reason: UnavailableReason,
    message: string,
    readonly maybeDone = false,
  ) {
    super(message);
    this.name = 'EngineUnavailableError';
  }
}

export interface RoomEngine {
  /** The name this instance goes by in logs and metrics (`--instance-id`). */
  readonly instanceId: string;
  readonly state: EngineState;
  readonly closed: boolean;

  on<E extends keyof EngineEvents>(event: E, listener: (...args: EngineEvents[E]) => void): this;
  off<E extends keyof EngineEvents>(event: E, listener: (...args: EngineEvents[E]) => void): this;

  /** A socket of this instance entered `room`: from when this resolves, the room's events reach it. */
  open(room: string, channel: string): Promise<void>;
  /** Binds `name` to `channel` in `room`, atomically across every instance; counts toward the room size. */
  claim(room: string, channel: string, name: string, maxMembers: number): Promise<ClaimResult>;
  /** The channel that holds `name` in `room`, if any (the upgrade's `?username=` check). */
  holder(room: string, name: string): Promise<string | undefined>;
  /** Every member of `room`, on every instance. */
  members(room: string): Promise<RoomMember[]>;
  /**
   * Places `channel` in the room's join order (a repeated join keeps its first place) and delivers `frame`
   * (action `new-join`)
   * to every member that joined earlier and to `channel` itself: of two newcomers exactly one hears of the
   * other, so exactly one offers.
   */
  join(room: string, channel: string, frame: string): Promise<JoinResult>;
  /** Delivers to member `to` of the room, wherever it is hosted; refuses a channel not in the room. */
  sendTo(room: string, from: string, to: string, relay: Relay): Promise<SendResult>;
  /** Delivers to every socket in the room, the sender included. */
  broadcast(room: string, from: string, relay: Relay): Promise<SendResult>;
  /**
   * The socket is gone: its name is freed, it leaves the join order, and (if it was a member) the rest of
   * the room gets a `left` event. Never refused: while the shared state is unreachable the engine keeps the
   * release and does it on recovery.
   */
  leave(room: string, channel: string): Promise<void>;
  /** Releases what this instance holds and stops. Idempotent. */
  close(): Promise<void>;
}
