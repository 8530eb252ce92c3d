import type { Connection } from './connection.js';

export type Admission = 'ok' | 'taken' | 'full';

/** The named members of one room, by channel and by name. */
export class Room {
  readonly members = new Map<string, Connection>();
  private readonly byName = new Map<string, Connection>();
  private joinCounter = 0;

  constructor(readonly name: string) {}

  memberNamed(name: string): Connection | undefined {
    return this.byName.get(name);
  }

  /**
   * Makes `conn` a member named `name`. 'taken' when another live member holds the name; 'full' when the
   * room already has `maxSize` members. Only named sockets count, so silent ones cannot fill a room.
   */
  admit(conn: Connection, name: string, maxSize: number): Admission {
    const holder = this.byName.get(name);
    if (holder === conn) return 'ok';
    if (holder) return 'taken';
    if (this.members.size >= maxSize) return 'full';
    conn.name = name;
    conn.room = this;
    this.byName.set(name, conn);
    this.members.set(conn.channel, conn);
    return 'ok';
  }

  /** Marks `member` as joined now and returns the members that joined before it. */
  join(member: Connection): Connection[] {
    const earlier: Connection[] = [];
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

  remove(member: Connection): void {
    this.members.delete(member.channel);
    if (member.name !== undefined && this.byName.get(member.name) === member) this.byName.delete(member.name);
  }

  get size(): number {
    return this.members.size;
  }
}

/** Every room of one server that has at least one member. */
export class RoomRegistry {
  private readonly rooms = new Map<string, Room>();

  get(name: string): Room | undefined {
    return this.rooms.get(name);
  }

  /** Makes `conn` a member of its room under `name`, creating the room if need be. */
  admit(conn: Connection, name: string, maxSize: number): Admission {
    const room = this.rooms.get(conn.roomName) ?? new Room(conn.roomName);
    const result = room.admit(conn, name, maxSize);
    if (result === 'ok') this.rooms.set(room.name, room);
    return result;
  }

  /** Drops `conn` from its room, if it is a member; an emptied room goes with it. */
  remove(conn: Connection): void {
    const room = conn.room;
    if (!room) return;
    room.remove(conn);
    if (room.size === 0 && this.rooms.get(room.name) === room) this.rooms.delete(room.name);
  }

  get roomCount(): number {
    return this.rooms.size;
  }
}
