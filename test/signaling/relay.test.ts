import { describe, expect, it } from 'vitest';
import { ANSWER_SDP, OFFER_SDP } from '../helpers/client.js';
import { useServer } from '../helpers/server.js';

describe('relay', () => {
  const s = useServer();

  it('runs the join dance: new-join to earlier members, offer and answer directly, channels rewritten', async () => {
    const alice = await s.join('r', 'alice');
    const bob = await s.join('r', 'bob');
    expect(alice.channel).toMatch(/^specific\.[A-Za-z]+!.+$/);
    expect(bob.channel).not.toBe(alice.channel);

    const heard = await alice.client.next((m) => m.action === 'new-join' && m.peer === 'bob');
    expect(heard.keyword.receiver_channel_name).toBe(bob.channel);

    alice.client.say('alice', 'new-offer', {
      sdp: OFFER_SDP,
      receiver_channel_name: bob.channel,
      extra: { x: 1 },
    });
    const offer = await bob.client.nextAction('new-offer');
    expect(offer).toEqual({
      peer: 'alice',
      action: 'new-offer',
      keyword: { sdp: OFFER_SDP, receiver_channel_name: alice.channel, extra: { x: 1 } },
    });

    bob.client.say('bob', 'new-answer', {
      sdp: ANSWER_SDP,
      receiver_channel_name: offer.keyword.receiver_channel_name,
    });
    const answer = await alice.client.nextAction('new-answer');
    expect(answer.peer).toBe('bob');
    expect(answer.keyword.receiver_channel_name).toBe(bob.channel);
    expect(answer.keyword.sdp).toEqual(ANSWER_SDP);

    // Direct messages go to their target only.
    const all = await alice.client.settle();
    expect(all.filter((m) => m.action === 'new-offer')).toHaveLength(0);
    expect(bob.client.messages.filter((m) => m.action === 'new-answer')).toHaveLength(0);
  });

  it('broadcasts close and unknown actions to the whole room, sender included, fields untouched', async () => {
    const a = await s.join('r', 'a');
    const b = await s.join('r', 'b');
    const c = await s.join('r', 'c');
    a.client.say('a', 'chat-ext', { text: 'hi', nested: [1, { y: 2 }] });
    for (const x of [a, b, c]) {
      const m = await x.client.nextAction('chat-ext');
      expect(m).toEqual({
        peer: 'a',
        action: 'chat-ext',
        keyword: { text: 'hi', nested: [1, { y: 2 }], receiver_channel_name: a.channel },
      });
    }
    b.client.say('b', 'close');
    for (const x of [a, b, c]) {
      const m = await x.client.nextAction('close');
      expect(m.peer).toBe('b');
      expect(m.keyword.receiver_channel_name).toBe(b.channel);
    }
  });

  it('keeps rooms apart: a target in another room or unknown is unknown-target', async () => {
    const a = await s.join('room1', 'a');
    const b = await s.join('room2', 'b');
    a.client.say('a', 'new-offer', { sdp: OFFER_SDP, receiver_channel_name: b.channel });
    const err = await a.client.nextError('unknown-target');
    expect(err.peer).toBe('@server');
    expect(err.keyword.ref).toBe('new-offer');
    a.client.say('a', 'new-answer', { sdp: ANSWER_SDP, receiver_channel_name: 'specific.engage!nope' });
    await a.client.nextError('unknown-target');
    // Broadcasts stay in their room too.
    a.client.say('a', 'ping-ext');
    await a.client.nextAction('ping-ext');
    const inRoom2 = await b.client.settle();
    expect(inRoom2.some((m) => m.peer === 'a')).toBe(false);
  });

  it('sends peer-left to the rest of the room when a member closes, and frees its name', async () => {
    const a = await s.join('r', 'a');
    const b = await s.join('r', 'b');
    b.client.close();
    const left = await a.client.nextAction('peer-left');
    expect(left).toEqual({ peer: 'b', action: 'peer-left', keyword: { receiver_channel_name: b.channel } });
    await b.client.closed;
    const again = await s.join('r', 'b');
    expect(again.channel).not.toBe(b.channel);
  });

  it('sends peer-left when a socket dies without a close handshake', async () => {
    const a = await s.join('r', 'a');
    const b = await s.join('r', 'b');
    b.client.ws.terminate();
    const left = await a.client.nextAction('peer-left');
    expect(left.peer).toBe('b');
  });

  it('orders joins: two newcomers at the same instant, exactly one hears of the other', async () => {
    for (let round = 0; round < 20; round++) {
      const room = `glare-${round}`;
      const x = await s.connect(room);
      const y = await s.connect(room);
      x.say('x', 'new-join');
      y.say('y', 'new-join');
      await x.next((m) => m.action === 'new-join' && m.peer === 'x');
      await y.next((m) => m.action === 'new-join' && m.peer === 'y');
      await Promise.all([x.settle(50), y.settle(0)]);
      const xHeardY = x.messages.filter((m) => m.action === 'new-join' && m.peer === 'y').length;
      const yHeardX = y.messages.filter((m) => m.action === 'new-join' && m.peer === 'x').length;
      expect(xHeardY + yHeardX).toBe(1);
      x.close();
      y.close();
    }
  });

  it('does not tell a member that has not joined yet, and a repeated new-join never reaches later joiners', async () => {
    const early = await s.connect('r');
    const a = await s.join('r', 'a');
    expect(early.messages).toHaveLength(0);
    early.say('early', 'new-join');
    // a joined first, so a hears of early; early does not hear of a.
    await a.client.next((m) => m.action === 'new-join' && m.peer === 'early');
    a.client.say('a', 'new-join');
    await a.client.next((m) => m.action === 'new-join' && m.peer === 'a');
    const seen = await early.settle();
    expect(seen.filter((m) => m.action === 'new-join' && m.peer === 'a')).toHaveLength(0);
  });
});
