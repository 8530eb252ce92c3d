import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { EngineUnavailableError, type RoomEngine } from '../../../src/signaling/engine/engine.js';
import { barrier, channelId, Inbox, relay } from './inbox.js';

/** One engine instance as a test sees it: the engine and what it delivered. */
export interface Instance {
  engine: RoomEngine;
  inbox: Inbox;
}

/** A socket of one instance that has entered a room (and, once seated, claimed a name). */
export interface Seat {
  at: Instance;
  engine: RoomEngine;
  room: string;
  channel: string;
  name: string;
}

export function roomName(): string {
  return `room-${randomBytes(6).toString('hex')}`;
}

export async function seat(at: Instance, room: string, name: string, maxMembers = 50): Promise<Seat> {
  const channel = channelId();
  await at.engine.open(room, channel);
  const claimed = await at.engine.claim(room, channel, name, maxMembers);
  expect(claimed, `claim of ${name}`).toMatchObject({ ok: true });
  return { at, engine: at.engine, room, channel, name };
}

export function joinFrame(name: string): string {
  return JSON.stringify({ peer: name, action: 'new-join', keyword: {} });
}

/**
 * The contract every room engine keeps, run against the in-memory engine and against Redis with several
 * instances in one process (each with its own connections, as separate servers would have).
 */
export function describeEngineConformance(
  label: string,
  startInstances: (count: number) => Promise<RoomEngine[]>,
) {
  describe(`room engine conformance: ${label}`, () => {
    let open: RoomEngine[] = [];

    async function instances(count: number): Promise<Instance[]> {
      const engines = await startInstances(count);
      open.push(...engines);
      return engines.map((engine) => ({ engine, inbox: new Inbox(engine) }));
    }

    afterEach(async () => {
      await Promise.all(open.map((e) => e.close()));
      open = [];
    });

    it('claims a name once per room: taken by another channel, idempotent for its holder, one name per channel', async () => {
      const [a, b] = await instances(2);
      const room = roomName();
      const alice = await seat(a!, room, 'alice');
      const other = channelId();
      await b!.engine.open(room, other);
      expect(await b!.engine.claim(room, other, 'alice', 50)).toEqual({ ok: false, reason: 'taken' });
      expect(await a!.engine.claim(room, alice.channel, 'alice', 50)).toEqual({ ok: true, size: 1 });
      expect(await a!.engine.claim(room, alice.channel, 'alicia', 50)).toEqual({
        ok: false,
        reason: 'named',
      });
      expect(await b!.engine.holder(room, 'alice')).toBe(alice.channel);
      expect(await b!.engine.holder(room, 'nobody')).toBeUndefined();
      // The same name in another room is another name.
      const elsewhere = roomName();
      await b!.engine.open(elsewhere, other);
      expect(await b!.engine.claim(elsewhere, other, 'alice', 50)).toEqual({ ok: true, size: 1 });
      expect(await a!.engine.members(room)).toEqual([{ channel: alice.channel, name: 'alice' }]);
    });

    it('counts named members across instances toward the room size; unnamed sockets do not count', async () => {
      const [a, b, c] = await instances(3);
      const room = roomName();
      const unnamed = channelId();
      await c!.engine.open(room, unnamed);
      const first = await seat(a!, room, 'one', 2);
      await seat(b!, room, 'two', 2);
      const third = channelId();
      await c!.engine.open(room, third);
      expect(await c!.engine.claim(room, third, 'three', 2)).toEqual({ ok: false, reason: 'full' });
      await a!.engine.leave(room, first.channel);
      expect(await c!.engine.claim(room, third, 'three', 2)).toEqual({ ok: true, size: 2 });
    });

    it('concurrent claims of one name from three instances: exactly one wins, 50 rounds', async () => {
      const nodes = await instances(3);
      for (let round = 0; round < 50; round++) {
        const room = roomName();
        const channels = nodes.map(() => channelId());
        await Promise.all(nodes.map((n, i) => n.engine.open(room, channels[i]!)));
        const results = await Promise.all(
          nodes.map((n, i) => n.engine.claim(room, channels[i]!, 'same-name', 50)),
        );
        const winners = results.filter((r) => r.ok);
        expect(winners, `round ${round}: ${JSON.stringify(results)}`).toHaveLength(1);
        expect(results.filter((r) => !r.ok && r.reason === 'taken')).toHaveLength(2);
        const winner = channels[results.findIndex((r) => r.ok)];
        expect(await nodes[0]!.engine.holder(room, 'same-name')).toBe(winner);
      }
    });

    it('concurrent claims of different names against the size limit: exactly the limit win', async () => {
      const nodes = await instances(3);
      for (let round = 0; round < 10; round++) {
        const room = roomName();
        const claims = Array.from({ length: 6 }, (_, i) => ({
          at: nodes[i % 3]!,
          channel: channelId(),
          name: `m${i}`,
        }));
        await Promise.all(claims.map((c) => c.at.engine.open(room, c.channel)));
        const results = await Promise.all(claims.map((c) => c.at.engine.claim(room, c.channel, c.name, 4)));
        expect(results.filter((r) => r.ok)).toHaveLength(4);
        expect(results.filter((r) => !r.ok && r.reason === 'full')).toHaveLength(2);
        expect(await nodes[1]!.engine.members(room)).toHaveLength(4);
      }
    });

    it('orders joins: a newcomer learns of the members that joined before it, they hear its join, a repeat keeps its place', async () => {
      const [a, b, c] = await instances(3);
      const room = roomName();
      const alice = await seat(a!, room, 'alice');
      const bob = await seat(b!, room, 'bob');
      const carol = await seat(c!, room, 'carol');
      const joined = [];
      for (const s of [alice, bob, carol])
        joined.push(await s.engine.join(room, s.channel, joinFrame(s.name)));
      expect(joined[0]).toEqual({ ok: true, earlier: [] });
      expect(joined[1]).toEqual({ ok: true, earlier: [{ channel: alice.channel, name: 'alice' }] });
      expect(joined[2]).toEqual({
        ok: true,
        earlier: [
          { channel: alice.channel, name: 'alice' },
          { channel: bob.channel, name: 'bob' },
        ],
      });
      // bob joins again: still after alice and before carol, so carol does not hear it.
      expect(await bob.engine.join(room, bob.channel, joinFrame('bob-again'))).toEqual({
        ok: true,
        earlier: [{ channel: alice.channel, name: 'alice' }],
      });
      await barrier(
        alice,
        [alice, bob, carol].map((s) => ({ inbox: s.at.inbox, channel: s.channel })),
      );
      const joins = (s: Seat) => s.at.inbox.texts(s.channel).filter((t) => t.includes('new-join'));
      expect(joins(alice)).toEqual([
        joinFrame('alice'),
        joinFrame('bob'),
        joinFrame('carol'),
        joinFrame('bob-again'),
      ]);
      expect(joins(bob)).toEqual([joinFrame('bob'), joinFrame('carol'), joinFrame('bob-again')]);
      expect(joins(carol)).toEqual([joinFrame('carol')]);
    });

    it('refuses a join from a channel that has not claimed a name', async () => {
      const [a] = await instances(1);
      const room = roomName();
      const channel = channelId();
      await a!.engine.open(room, channel);
      expect(await a!.engine.join(room, channel, joinFrame('x'))).toEqual({
        ok: false,
        reason: 'not-member',
      });
    });

    it('two newcomers on two instances at the same instant: exactly one learns of the other, 50 rounds', async () => {
      const [a, b, c] = await instances(3);
      for (let round = 0; round < 50; round++) {
        const room = roomName();
        const host = await seat(c!, room, 'host');
        await host.engine.join(room, host.channel, joinFrame('host'));
        const x = await seat(a!, room, 'x');
        const y = await seat(b!, room, 'y');
        const [jx, jy] = await Promise.all([
          x.engine.join(room, x.channel, joinFrame('x')),
          y.engine.join(room, y.channel, joinFrame('y')),
        ]);
        if (!jx.ok || !jy.ok) throw new Error('join refused');
        const xKnowsY = jx.earlier.some((m) => m.name === 'y');
        const yKnowsX = jy.earlier.some((m) => m.name === 'x');
        expect(xKnowsY !== yKnowsX, `round ${round}: x knows y ${xKnowsY}, y knows x ${yKnowsX}`).toBe(true);
        // Both learn of the host, and the host hears both.
        expect(jx.earlier.some((m) => m.name === 'host') && jy.earlier.some((m) => m.name === 'host')).toBe(
          true,
        );
        await barrier(
          host,
          [host, x, y].map((s) => ({ inbox: s.at.inbox, channel: s.channel })),
        );
        const [earlier, later] = xKnowsY ? [y, x] : [x, y];
        // The earlier one hears the later one's join (so it offers); the later one never hears the earlier's.
        expect(earlier.at.inbox.texts(earlier.channel)).toContain(joinFrame(later.name));
        expect(later.at.inbox.texts(later.channel)).not.toContain(joinFrame(earlier.name));
        expect(host.at.inbox.texts(host.channel)).toEqual(
          expect.arrayContaining([joinFrame('x'), joinFrame('y')]),
        );
        for (const s of [host, x, y]) await s.engine.leave(room, s.channel);
      }
    });

    it('delivers to a channel on another instance, and to nobody else', async () => {
      const [a, b, c] = await instances(3);
      const room = roomName();
      const alice = await seat(a!, room, 'alice');
      const bob = await seat(b!, room, 'bob');
      const carol = await seat(c!, room, 'carol');
      expect(await alice.engine.sendTo(room, alice.channel, bob.channel, relay('offer for bob'))).toEqual({
        ok: true,
      });
      expect(await bob.engine.sendTo(room, bob.channel, alice.channel, relay('answer for alice'))).toEqual({
        ok: true,
      });
      await barrier(
        carol,
        [alice, bob, carol].map((s) => ({ inbox: s.at.inbox, channel: s.channel })),
      );
      expect(bob.at.inbox.texts(bob.channel)).toContain('offer for bob');
      expect(alice.at.inbox.texts(alice.channel)).toContain('answer for alice');
      expect(alice.at.inbox.texts(alice.channel)).not.toContain('offer for bob');
      expect(carol.at.inbox.texts(carol.channel)).not.toContain('offer for bob');
      expect(carol.at.inbox.texts(carol.channel)).not.toContain('answer for alice');
      const delivery = bob.at.inbox.byChannel
        .get(bob.channel)!
        .find((r) => r.text === 'offer for bob')!.delivery;
      expect(delivery.event).toEqual({
        kind: 'frame',
        from: alice.channel,
        action: 'other',
        frame: 'offer for bob',
      });
    });

    it('keeps rooms apart: a target in another room or no room is unknown; a non-member cannot send', async () => {
      const [a, b] = await instances(2);
      const room = roomName();
      const other = roomName();
      const alice = await seat(a!, room, 'alice');
      const stranger = await seat(b!, other, 'stranger');
      expect(await alice.engine.sendTo(room, alice.channel, stranger.channel, relay('x'))).toEqual({
        ok: false,
        reason: 'unknown-target',
      });
      expect(await alice.engine.sendTo(room, alice.channel, channelId(), relay('x'))).toEqual({
        ok: false,
        reason: 'unknown-target',
      });
      const unnamed = channelId();
      await b!.engine.open(room, unnamed);
      expect(await alice.engine.sendTo(room, alice.channel, unnamed, relay('x'))).toEqual({
        ok: false,
        reason: 'unknown-target',
      });
      expect(await b!.engine.broadcast(room, unnamed, relay('x'))).toEqual({
        ok: false,
        reason: 'not-member',
      });
      expect(await b!.engine.sendTo(room, unnamed, alice.channel, relay('x'))).toEqual({
        ok: false,
        reason: 'not-member',
      });
    });

    it('broadcasts to every socket of the room on every instance, sender and unnamed sockets included, and in one order', async () => {
      const [a, b, c] = await instances(3);
      const room = roomName();
      const seats = [await seat(a!, room, 'a'), await seat(b!, room, 'b'), await seat(c!, room, 'c')];
      const unnamed = channelId();
      await b!.engine.open(room, unnamed);
      const outsider = await seat(c!, roomName(), 'outsider');
      const sends = [];
      for (let i = 0; i < 20; i++) {
        for (const s of seats) sends.push(s.engine.broadcast(room, s.channel, relay(`${s.name}:${i}`)));
      }
      expect((await Promise.all(sends)).every((r) => r.ok)).toBe(true);
      const listeners = [
        ...seats.map((s) => ({ inbox: s.at.inbox, channel: s.channel })),
        { inbox: b!.inbox, channel: unnamed },
      ];
      await barrier(seats[0]!, listeners);
      const sequences = listeners.map(({ inbox, channel }) =>
        inbox.texts(channel).filter((t) => !t.startsWith('barrier')),
      );
      expect(sequences[0]).toHaveLength(60);
      for (const seq of sequences) expect(seq).toEqual(sequences[0]);
      // Each sender's own messages keep the order it sent them in.
      for (const s of seats) {
        const mine = sequences[0]!.filter((t) => t.startsWith(`${s.name}:`));
        expect(mine).toEqual(Array.from({ length: 20 }, (_, i) => `${s.name}:${i}`));
      }
      expect(outsider.at.inbox.texts(outsider.channel)).toEqual([]);
    });

    it("keeps a sender's direct messages in the order sent, across instances", async () => {
      const [a, b] = await instances(2);
      const room = roomName();
      const alice = await seat(a!, room, 'alice');
      const bob = await seat(b!, room, 'bob');
      const sends = Array.from({ length: 200 }, (_, i) =>
        alice.engine.sendTo(room, alice.channel, bob.channel, relay(`m${i}`)),
      );
      expect((await Promise.all(sends)).every((r) => r.ok)).toBe(true);
      await bob.at.inbox.received(bob.channel, 'm199');
      expect(bob.at.inbox.texts(bob.channel)).toEqual(Array.from({ length: 200 }, (_, i) => `m${i}`));
    });

    it('a leave frees the name and tells the rest of the room, once, and not the one who left', async () => {
      const [a, b] = await instances(2);
      const room = roomName();
      const alice = await seat(a!, room, 'alice');
      const bob = await seat(b!, room, 'bob');
      const unnamed = channelId();
      await b!.engine.open(room, unnamed);
      await alice.engine.leave(room, alice.channel);
      await alice.engine.leave(room, alice.channel);
      await b!.engine.leave(room, unnamed);
      await barrier(bob, [{ inbox: bob.at.inbox, channel: bob.channel }]);
      expect(bob.at.inbox.texts(bob.channel).filter((t) => t.startsWith('left:'))).toEqual(['left:alice']);
      const left = bob.at.inbox.byChannel.get(bob.channel)!.find((r) => r.text === 'left:alice')!.delivery;
      expect(left.event).toEqual({ kind: 'left', member: { channel: alice.channel, name: 'alice' } });
      expect(alice.at.inbox.texts(alice.channel)).not.toContain('left:alice');
      expect(await b!.engine.holder(room, 'alice')).toBeUndefined();
      expect(await b!.engine.members(room)).toEqual([{ channel: bob.channel, name: 'bob' }]);
      const again = channelId();
      await b!.engine.open(room, again);
      expect(await b!.engine.claim(room, again, 'alice', 50)).toEqual({ ok: true, size: 2 });
    });

    it('a socket hears only what happens in its room after it entered', async () => {
      const [a, b] = await instances(2);
      const room = roomName();
      const alice = await seat(a!, room, 'alice');
      await alice.engine.broadcast(room, alice.channel, relay('before bob'));
      const bob = await seat(b!, room, 'bob');
      await barrier(alice, [{ inbox: bob.at.inbox, channel: bob.channel }]);
      expect(bob.at.inbox.texts(bob.channel)).not.toContain('before bob');
    });

    it('close releases what the instance held, and a call after close fails clearly', async () => {
      const [a, b] = await instances(2);
      const room = roomName();
      const alice = await seat(a!, room, 'alice');
      const bob = await seat(b!, room, 'bob');
      await a!.engine.close();
      await a!.engine.close();
      expect(a!.engine.closed).toBe(true);
      await bob.at.inbox.received(bob.channel, 'left:alice');
      expect(await b!.engine.holder(room, 'alice')).toBeUndefined();
      await expect(a!.engine.open(room, channelId())).rejects.toBeInstanceOf(EngineUnavailableError);
      await expect(a!.engine.holder(room, 'bob')).rejects.toThrow(/closed/);
      void alice;
    });
  });
}
