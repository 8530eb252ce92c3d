import { describe, expect, it } from 'vitest';
import type { Delivery, Resync } from '../../../src/signaling/engine/engine.js';
import { parseEntry, type RoomEntry } from '../../../src/signaling/engine/redis-entry.js';
import { type FeedIo, RoomFeed, type Tail } from '../../../src/signaling/engine/room-feed.js';

/**
 * The feed's logic on its own, over a stream kept in an array: the cases a real Redis produces only by
 * luck of timing (events arriving during a catch-up, a late event of an old epoch) are made on purpose.
 */
class Stream implements FeedIo {
  epoch: string | null = 'e1';
  entries: RoomEntry[] = [];
  first = 1;
  readonly delivered: Delivery[] = [];
  readonly resyncs: Resync[] = [];
  readonly gaps: string[] = [];
  tails = 0;
  /** Runs inside the next tail read, as if a live event arrived while it was in flight. */
  duringTail: (() => void) | undefined;

  push(to: RoomEntry['to'], frame: string): RoomEntry {
    const entry: RoomEntry = {
      epoch: this.epoch!,
      seq: this.first + this.entries.length,
      to,
      event: { kind: 'frame', from: 'x', action: 'other', frame },
    };
    this.entries.push(entry);
    return entry;
  }

  get top(): number {
    return this.first + this.entries.length - 1;
  }

  async tail(_room: string, epoch: string | null, seq: number): Promise<Tail> {
    this.tails++;
    const during = this.duringTail;
    this.duringTail = undefined;
    during?.();
    if (this.epoch === null) return { kind: 'none' };
    const after = epoch === this.epoch ? seq : 0;
    return {
      kind: 'ok',
      epoch: this.epoch,
      seq: this.top,
      entries: this.entries.filter((e) => e.seq > after),
    };
  }

  deliver(delivery: Delivery): void {
    this.delivered.push(delivery);
  }

  resync(resync: Resync): void {
    this.resyncs.push(resync);
  }

  gap(outcome: string): void {
    this.gaps.push(outcome);
  }

  failed(_room: string, err: unknown): void {
    throw err;
  }

  frames(channel: string): string[] {
    return this.delivered
      .filter((d) => d.to.includes(channel))
      .map((d) => (d.event.kind === 'frame' ? d.event.frame : `left:${d.event.member.name}`));
  }
}

function feedOn(stream: Stream, channels: string[] = ['me']): RoomFeed {
  const feed = new RoomFeed('room', stream);
  feed.start(stream.epoch, stream.top);
  for (const c of channels) feed.addChannel(c);
  return feed;
}

describe('RoomFeed', () => {
  it('delivers live events in order, drops repeats, and reads a gap back from the stream', async () => {
    const stream = new Stream();
    const feed = feedOn(stream);
    feed.live(stream.push('*', 'a'));
    feed.live(stream.entries[0]!);
    stream.push(['me'], 'b'); // lost on its way
    const c = stream.push('*', 'c');
    feed.live(c);
    await feed.catchUp();
    feed.live(c);
    expect(stream.frames('me')).toEqual(['a', 'b', 'c']);
    expect(stream.delivered.map((d) => d.replayed)).toEqual([false, true, true]);
    expect(stream.gaps).toEqual(['detected', 'filled']);
  });

  it('reads again when events arrive during a catch-up, and loses none of them', async () => {
    const stream = new Stream();
    const feed = feedOn(stream);
    stream.push('*', 'lost');
    const trigger = stream.push('*', 'trigger');
    stream.duringTail = () => {
      // Published while the read was in flight: the read does not show it, the live copy is dropped.
      feed.live(stream.push('*', 'during'));
    };
    feed.live(trigger);
    await feed.catchUp();
    await new Promise((resolve) => setImmediate(resolve));
    expect(stream.frames('me')).toEqual(['lost', 'trigger', 'during']);
    expect(stream.tails).toBe(2);
  });

  it('makes every local socket rejoin when the stream no longer holds what it missed', async () => {
    const stream = new Stream();
    const feed = feedOn(stream, ['me', 'other']);
    stream.first = 10; // entries 1..9 trimmed away
    stream.push('*', 'x');
    feed.live(stream.entries[0]!);
    await feed.catchUp();
    expect(stream.resyncs).toEqual([{ room: 'room', channels: ['me', 'other'], reason: 'gap' }]);
    expect(stream.gaps).toEqual(['detected', 'lost']);
    // Told to rejoin: they hear nothing more.
    feed.live(stream.push('*', 'y'));
    expect(stream.delivered).toEqual([]);
  });

  it('on a new epoch, rejoins the sockets of the old one and keeps those already in the new one', async () => {
    const stream = new Stream();
    const feed = feedOn(stream, ['old']);
    stream.epoch = 'e2';
    stream.entries = [];
    feed.addChannel('new');
    feed.claimed('new', 'e2', 0);
    await feed.catchUp();
    stream.push('*', 'hello e2');
    feed.live(stream.entries[0]!);
    await feed.catchUp();
    expect(stream.resyncs).toEqual([{ room: 'room', channels: ['old'], reason: 'reset' }]);
    expect(stream.frames('new')).toEqual(['hello e2']);
    expect(stream.frames('old')).toEqual([]);
  });

  it('a late event of an old epoch costs one read and nothing else', async () => {
    const stream = new Stream();
    const feed = feedOn(stream);
    const old = stream.push('*', 'old epoch');
    stream.epoch = 'e2';
    stream.entries = [];
    feed.claimed('me', 'e2', 0);
    await feed.catchUp();
    const before = stream.tails;
    feed.live(old);
    await feed.catchUp();
    expect(stream.tails - before).toBe(1);
    expect(stream.delivered).toEqual([]);
  });

  it('a room with no state at all rejoins the sockets that belonged to it', async () => {
    const stream = new Stream();
    const feed = feedOn(stream, ['me']);
    stream.epoch = null;
    await feed.catchUp();
    expect(stream.resyncs).toEqual([{ room: 'room', channels: ['me'], reason: 'reset' }]);
    expect(feed.epoch).toBeNull();
  });

  it('hands a socket only events after it entered, and a departure to everyone but the one who left', () => {
    const stream = new Stream();
    const feed = feedOn(stream, ['early']);
    feed.live(stream.push('*', 'one'));
    feed.addChannel('late');
    feed.live(stream.push('*', 'two'));
    const left: RoomEntry = {
      epoch: 'e1',
      seq: stream.top + 1,
      to: '*',
      event: { kind: 'left', member: { channel: 'late', name: 'late' } },
    };
    stream.entries.push(left);
    feed.live(left);
    expect(stream.frames('early')).toEqual(['one', 'two', 'left:late']);
    expect(stream.frames('late')).toEqual(['two']);
  });
});

describe('parseEntry', () => {
  it('reads what the scripts write, body whole even with newlines in it', () => {
    expect(parseEntry('v1\ne1\n7\nmsg\nnew-offer\nfrom\na b\n{"x":"1\n2"}')).toEqual({
      epoch: 'e1',
      seq: 7,
      to: ['a', 'b'],
      event: { kind: 'frame', from: 'from', action: 'new-offer', frame: '{"x":"1\n2"}' },
    });
    expect(parseEntry('v1\ne1\n8\nleft\npeer-left\nch\n*\nalice')).toEqual({
      epoch: 'e1',
      seq: 8,
      to: '*',
      event: { kind: 'left', member: { channel: 'ch', name: 'alice' } },
    });
  });

  it('refuses anything malformed without throwing', () => {
    for (const text of [
      '',
      'v1',
      'v2\ne1\n7\nmsg\nother\nfrom\n*\nbody',
      'v1\n\n7\nmsg\nother\nfrom\n*\nbody',
      'v1\ne1\nseven\nmsg\nother\nfrom\n*\nbody',
      'v1\ne1\n0\nmsg\nother\nfrom\n*\nbody',
      'v1\ne1\n1.5\nmsg\nother\nfrom\n*\nbody',
      'v1\ne1\n99999999999999999999\nmsg\nother\nfrom\n*\nbody',
      'v1\ne1\n7\nboom\nother\nfrom\n*\nbody',
      'v1\ne1\n7\nleft\npeer-left\nch\n*\n',
      'v1\ne1\n7\nmsg\n\nfrom\n*\nbody',
      'v1\ne1\n7\nmsg\nother\n\n*\nbody',
      'v1\ne1\n7\nmsg\nother\nfrom\n\nbody',
      'v1\ne1\n7\nmsg\nfrom\n*\nbody',
    ]) {
      expect(parseEntry(text), JSON.stringify(text)).toBeUndefined();
    }
  });
});
