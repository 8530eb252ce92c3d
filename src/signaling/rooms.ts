import { randomBytes } from 'node:crypto';
import type { WebSocket } from 'ws';
import { TokenBucket } from './rate.js';

/** A channel id shaped like the original Django Channels ones: `specific.<letters>!<random>`. */
export function newChannelId(): string {
  return `specific.engage!${randomBytes(9).toString('base64url')}`;
}

/** One socket in one room. Its name is bound by `?username=` or by its first message. */
export class Member {
  readonly channel = newChannelId();
  name: string | undefined;
  /** Order of this member's `new-join` within its room; undefined until it has sent one. */
  joinSeq: number | undefined;
  lastSeen = performance.now();
  /** With --auth-secret: when the socket's token expires (seconds since the epoch). */
  expiresAtS: number | undefined;
  readonly bucket: TokenBucket;

  constructor(
    readonly room: Room,
    readonly socket: WebSocket,
    rate: number,
  ) {
    this.bucket = new TokenBucket(rate, rate * 2);
  }
}

export class Room {
  readonly members = new Map<string, Member>();
  private readonly byName = new Map<string, Member>();
  private joinCounter = 0;

  constructor(readonly name: string) {}

  memberNamed(name: string): Member | undefined {
    return this.byName.get(name);
  }

  /** Binds `name` to `member`; false when another live member holds it. */
  bind(member: Member, name: string): boolean {
    const holder = this.byName.get(name);
    if (holder && holder !== member) return false;
    member.name = name;
    this.byName.set(name, member);
    return true;
  }

  /** Marks `member` as joined now and returns the members that joined before it. */
  join(member: Member): Member[] {
    const earlier: Member[] = [];
    for (const m of this.members.values()) {
      if (
        m !== member &&
        m.joinSeq !== undefined &&
        (member.joinSeq === undefined || m.joinSeq < member.joinSeq)
      ) {
        earlier.push(m);
      }
    }
    // A repeated new-join keeps its first place, so it never reaches members who joined after it.
    member.joinSeq ??= this.joinCounter++;
    return earlier;
  }

  add(member: Member): void {
    this.members.set(member.channel, member);
  }

  remove(member: Member): void {
    this.members.delete(member.channel);
    if (member.name !== undefined && this.byName.get(member.name) === member) this.byName.delete(member.name);
  }

  get size(): number {
    return this.members.size;
  }
}

/** Every room of one server, and every member by channel for direct delivery. */
export class RoomRegistry {
  private readonly rooms = new Map<string, Room>();

  get(name: string): Room | undefined {
    return this.rooms.get(name);
  }

  getOrCreate(name: string): Room {
    let room = this.rooms.get(name);
    if (!room) {
      room = new Room(name);
      this.rooms.set(name, room);
    }
    return room;
  }

  /** Drops `member`; an emptied room goes with it. */
  remove(member: Member): void {
    member.room.remove(member);
    if (member.room.size === 0 && this.rooms.get(member.room.name) === member.room)
      this.rooms.delete(member.room.name);
  }

  get roomCount(): number {
    return this.rooms.size;
  }

  *allMembers(): Iterable<Member> {
    for (const room of this.rooms.values()) yield* room.members.values();
  }
}
