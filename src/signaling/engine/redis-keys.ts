/**
 * Where the Redis engine keeps things (docs/cluster.md, "Key layout"). Every key of one room carries the
 * hash tag `{room:<name>}`, so one room lives in one Redis Cluster slot and each script touches one slot;
 * the instance registry has its own tag. Room names are `[A-Za-z0-9_-]`, so they never contain braces.
 */

/** The room's keys, in the order every room script takes them as KEYS[1..6]. */
export interface RoomKeys {
  /** Hash: `epoch` (changes when the room's state is recreated), `seq` (last event), `joins` (join counter). */
  meta: string;
  /** Hash: name -> channel. */
  names: string;
  /** Hash: channel -> name. Its length is the room's size. */
  members: string;
  /** Hash: channel -> the instance token hosting it (what a sweep looks for). */
  hosts: string;
  /** Sorted set: channel scored by its place in the join order. */
  order: string;
  /** Stream: the room's last events, ids `<seq>-0`, bounded in length and idle time. */
  log: string;
  /** Pub/sub channel (sharded on Redis 7): every event, live. Not a key, but in the same slot. */
  pub: string;
}

export function roomKeys(prefix: string, room: string): RoomKeys {
  const base = `${prefix}{room:${room}}`;
  return {
    meta: `${base}:meta`,
    names: `${base}:names`,
    members: `${base}:members`,
    hosts: `${base}:hosts`,
    order: `${base}:order`,
    log: `${base}:log`,
    pub: `${base}:pub`,
  };
}

export function roomKeyList(keys: RoomKeys): string[] {
  return [keys.meta, keys.names, keys.members, keys.hosts, keys.order, keys.log];
}

export interface RegistryKeys {
  /** Sorted set: live instance token scored by its deadline (Redis time, ms). */
  instances: string;
  /** Sorted set: dead instance token being swept, scored by when its sweeper's lease ends. */
  sweeping: string;
  /** String: a random id written once per Redis dataset; another value means Redis lost its data. */
  generation: string;
}

export function registryKeys(prefix: string): RegistryKeys {
  const base = `${prefix}{instances}`;
  return { instances: base, sweeping: `${base}:sweeping`, generation: `${base}:generation` };
}

/** Set: the rooms in which an instance token has (had) sockets; a sweep of that token walks it. */
export function instanceRoomsKey(prefix: string, token: string): string {
  return `${prefix}{instance:${token}}:rooms`;
}
