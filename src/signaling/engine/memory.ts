import { EventEmitter } from 'node:events';
import {
  type ClaimResult,
  type EngineEvents,
  type EngineState,
  EngineUnavailableError,
  type JoinResult,
  type Relay,
  type RoomEngine,
  type RoomEvent,
  type RoomMember,
  relayLabel,
  type SendResult,
} from './engine.js';

function frameEvent(from: string, relay: Relay): RoomEvent {
  return { kind: 'frame', from, action: relayLabel(relay.action), frame: relay.frame };
}

interface HubMember {
  name: string;
  host: MemoryEngine;
  /** Place in the room's join order; undefined until the member has joined. */
  joinSeq: number | undefined;
}

class HubRoom {
  readonly names = new Map<string, string>();
  readonly members = new Map<string, HubMember>();
  /** Engines with at least one local socket in the room. */
  readonly hosts = new Set<MemoryEngine>();
  joins = 0;
  seq = 0;

  get idle(): boolean {
    return this.members.size === 0 && this.hosts.size === 0;
  }
}

/**
 * The shared state of the in-memory engine: one process's rooms. Several engines on one hub behave as
 * several instances on one Redis (the conformance suite runs both), with none of the failure modes:
 * an in-memory engine is never unavailable, and when its process dies its rooms die with it.
 */
export class MemoryHub {
  readonly rooms = new Map<string, HubRoom>();

  room(name: string): HubRoom {
    let room = this.rooms.get(name);
    if (!room) {
      room = new HubRoom();
      this.rooms.set(name, room);
    }
    return room;
  }

  dropIfIdle(name: string): void {
    if (this.rooms.get(name)?.idle) this.rooms.delete(name);
  }

  /** Sequences `event` in `room` and hands it to every hosting engine, synchronously. */
  publish(name: string, room: HubRoom, event: RoomEvent, to: readonly string[] | '*'): void {
    const seq = ++room.seq;
    for (const host of room.hosts) host.receive(name, seq, event, to);
  }
}

/** The default engine of `engage serve`: one process, no Redis. */
export class MemoryEngine extends EventEmitter<EngineEvents> implements RoomEngine {
  readonly instanceId: string;
  private readonly hub: MemoryHub;
  /** room -> local channel -> the room's sequence number when it entered (it hears only later events). */
  private readonly local = new Map<string, Map<string, number>>();
  private isClosed = false;

  constructor(options: { hub?: MemoryHub; instanceId?: string } = {}) {
    super();
    this.hub = options.hub ?? new MemoryHub();
    this.instanceId = options.instanceId ?? 'memory';
  }

  get state(): EngineState {
    return this.isClosed ? 'closed' : 'ready';
  }

  get closed(): boolean {
    return this.isClosed;
  }

  private check(): void {
    if (this.isClosed) throw new EngineUnavailableError('closed', 'the room engine is closed');
  }

  async open(room: string, channel: string): Promise<void> {
    this.check();
    const shared = this.hub.room(room);
    shared.hosts.add(this);
    let channels = this.local.get(room);
    if (!channels) {
      channels = new Map();
      this.local.set(room, channels);
    }
    channels.set(channel, shared.seq);
  }

  async claim(room: string, channel: string, name: string, maxMembers: number): Promise<ClaimResult> {
    this.check();
    const shared = this.hub.room(room);
    const holder = shared.names.get(name);
    if (holder !== undefined) {
      return holder === channel ? { ok: true, size: shared.members.size } : { ok: false, reason: 'taken' };
    }
    if (shared.members.has(channel)) return { ok: false, reason: 'named' };
    if (shared.members.size >= maxMembers) return { ok: false, reason: 'full' };
    shared.names.set(name, channel);
    shared.members.set(channel, { name, host: this, joinSeq: undefined });
    return { ok: true, size: shared.members.size };
  }

  async holder(room: string, name: string): Promise<string | undefined> {
    this.check();
    return this.hub.rooms.get(room)?.names.get(name);
  }

  async members(room: string): Promise<RoomMember[]> {
    this.check();
    const shared = this.hub.rooms.get(room);
    if (!shared) return [];
    return [...shared.members].map(([channel, m]) => ({ channel, name: m.name }));
  }

  async join(room: string, channel: string, frame: string): Promise<JoinResult> {
    this.check();
    const shared = this.hub.rooms.get(room);
    const member = shared?.members.get(channel);
    if (!shared || !member) return { ok: false, reason: 'not-member' };
    member.joinSeq ??= ++shared.joins;
    const mine = member.joinSeq;
    const earlier: Array<RoomMember & { joinSeq: number }> = [];
    for (const [c, m] of shared.members) {
      if (m.joinSeq !== undefined && m.joinSeq < mine)
        earlier.push({ channel: c, name: m.name, joinSeq: m.joinSeq });
    }
    earlier.sort((a, b) => a.joinSeq - b.joinSeq);
    const to = earlier.map((m) => m.channel);
    to.push(channel);
    this.hub.publish(room, shared, { kind: 'frame', from: channel, action: 'new-join', frame }, to);
    return { ok: true, earlier: earlier.map(({ channel: c, name }) => ({ channel: c, name })) };
  }

  async sendTo(room: string, from: string, to: string, relay: Relay): Promise<SendResult> {
    this.check();
    const shared = this.hub.rooms.get(room);
    if (!shared?.members.has(from)) return { ok: false, reason: 'not-member' };
    if (!shared.members.has(to)) return { ok: false, reason: 'unknown-target' };
    this.hub.publish(room, shared, frameEvent(from, relay), [to]);
    return { ok: true };
  }

  async broadcast(room: string, from: string, relay: Relay): Promise<SendResult> {
    this.check();
    const shared = this.hub.rooms.get(room);
    if (!shared?.members.has(from)) return { ok: false, reason: 'not-member' };
    this.hub.publish(room, shared, frameEvent(from, relay), '*');
    return { ok: true };
  }

  async leave(room: string, channel: string): Promise<void> {
    this.release(room, channel);
  }

  private release(room: string, channel: string): void {
    const channels = this.local.get(room);
    channels?.delete(channel);
    const shared = this.hub.rooms.get(room);
    if (!shared) return;
    if (channels?.size === 0) {
      this.local.delete(room);
      shared.hosts.delete(this);
    }
    const member = shared.members.get(channel);
    if (member) {
      shared.members.delete(channel);
      if (shared.names.get(member.name) === channel) shared.names.delete(member.name);
      this.hub.publish(room, shared, { kind: 'left', member: { channel, name: member.name } }, '*');
    }
    this.hub.dropIfIdle(room);
  }

  /** Called by the hub for every event of a room this engine hosts. */
  receive(room: string, seq: number, event: RoomEvent, to: readonly string[] | '*'): void {
    const channels = this.local.get(room);
    if (!channels) return;
    const recipients: string[] = [];
    const except = event.kind === 'left' ? event.member.channel : undefined;
    if (to === '*') {
      for (const [c, since] of channels) if (since < seq && c !== except) recipients.push(c);
    } else {
      for (const c of to) {
        const since = channels.get(c);
        if (since !== undefined && since < seq) recipients.push(c);
      }
    }
    if (recipients.length > 0) this.emit('delivery', { room, seq, to: recipients, event, replayed: false });
  }

  async close(): Promise<void> {
    if (this.isClosed) return;
    for (const [room, channels] of [...this.local]) {
      for (const channel of [...channels.keys()]) this.release(room, channel);
    }
    this.isClosed = true;
    this.emit('state', 'closed');
  }
}
