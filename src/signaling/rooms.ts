import type { Connection } from './connection.js';
import { actionLabel } from './metrics.js';
import type { ClientMessage, NewAnswer, NewOffer } from './protocol.js';

/**
 * The room rules: whom a member's message goes to. The engine (src/signaling/engine/) carries it out
 * against the room's shared state, so one instance and many keep the same rules:
 * - `join`: a `new-join` goes to the members whose own `new-join` came earlier, and to the sender (its
 *   echo). Only those hear of the newcomer, so of two newcomers exactly one offers: glare-free.
 * - `direct`: `new-offer` and `new-answer` go to their `receiver_channel_name` only, and only when that is
 *   a member of the sender's room (room isolation); anything else is `unknown-target`.
 * - `broadcast`: `close` and every custom action go to the whole room, the sender included.
 */
export type Route = { kind: 'join' } | { kind: 'direct'; to: string } | { kind: 'broadcast' };

export function routeOf(msg: ClientMessage): Route {
  switch (msg.action) {
    case 'new-join':
      return { kind: 'join' };
    case 'new-offer':
    case 'new-answer':
      return { kind: 'direct', to: (msg as NewOffer | NewAnswer).keyword.receiver_channel_name };
    default:
      return { kind: 'broadcast' };
  }
}

/**
 * The frame as the room receives it: serialised once, by the sender's server, with
 * `receiver_channel_name` overwritten by the sender's channel (docs/protocol.md, Envelope).
 */
export function relayedFrame(msg: ClientMessage, fromChannel: string): { action: string; frame: string } {
  const { custom: _custom, ...wire } = msg as ClientMessage & { custom?: true };
  wire.keyword = { ...wire.keyword, receiver_channel_name: fromChannel };
  return { action: actionLabel(msg.action), frame: JSON.stringify(wire) };
}

/** The members this server hosts, by room: what /healthz and /metrics count as this server's rooms. */
export class LocalRooms {
  private readonly rooms = new Map<string, Set<Connection>>();

  add(conn: Connection): void {
    let members = this.rooms.get(conn.roomName);
    if (!members) {
      members = new Set();
      this.rooms.set(conn.roomName, members);
    }
    members.add(conn);
  }

  remove(conn: Connection): void {
    const members = this.rooms.get(conn.roomName);
    if (!members?.delete(conn)) return;
    if (members.size === 0) this.rooms.delete(conn.roomName);
  }

  get roomCount(): number {
    return this.rooms.size;
  }
}
