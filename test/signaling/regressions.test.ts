import { describe, expect, it } from 'vitest';
import { useServer } from '../helpers/server.js';
import { nestedArrayFrame } from './frames.js';

describe('regression: one frame stopped every room (issue 8)', () => {
  const s = useServer();

  it('refuses a keyword of 5,000 nested arrays (10 KB) with an error, keeps the socket and the room', async () => {
    const a = await s.join('r', 'a');
    const b = await s.join('r', 'b');
    const frame = nestedArrayFrame('a', 5000);
    expect(frame.length).toBeLessThan(16 * 1024);
    a.client.send(frame);
    const err = await a.client.next((m) => m.action === 'error');
    expect(err.keyword.code).toBe('too-complex');
    expect(err.keyword.message).toMatch(/32/);
    // Nothing reached the room, and the room carries on.
    a.client.say('a', 'after');
    expect((await b.client.nextAction('after')).peer).toBe('a');
    expect(b.client.messages.some((m) => m.action === 'x')).toBe(false);
    expect(a.client.ws.readyState).toBe(a.client.ws.OPEN);
  });
});

describe('regression: sixty silent sockets locked a room (issue 8)', () => {
  const s = useServer();

  it('lets a real member into a room that 60 unnamed, silent sockets are holding open', async () => {
    const silent = await Promise.all(Array.from({ length: 60 }, () => s.connect('r')));
    const alice = await s.connect('r', { username: 'alice' });
    alice.say('alice', 'new-join');
    const answer = await alice.next((m) => m.action === 'new-join' || m.action === 'error');
    expect(answer).toMatchObject({ peer: 'alice', action: 'new-join' });
    // The silent sockets hear nothing of the room: they are not members.
    await alice.settle(50);
    expect(silent.every((c) => c.messages.length === 0)).toBe(true);
  });
});
