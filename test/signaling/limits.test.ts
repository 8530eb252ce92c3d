import { describe, expect, it } from 'vitest';
import { OFFER_SDP } from '../helpers/client.js';
import { useServer } from '../helpers/server.js';

describe('validation and limits', () => {
  // Room-wide messages have their own, smaller limits (caps.test.ts); here they get the general ones.
  const s = useServer({
    maxRoomSize: 3,
    maxMessageBytes: 1024,
    maxBroadcastBytes: 1024,
    rate: 20,
    broadcastRate: 1000,
  });

  it('answers malformed frames with bad-json / bad-envelope and keeps the socket', async () => {
    const c = await s.connect('r');
    const cases: Array<[unknown, string]> = [
      ['{not json', 'bad-json'],
      ['[1,2]', 'bad-envelope'],
      ['"text"', 'bad-envelope'],
      ['null', 'bad-envelope'],
      [{ peer: 'a', keyword: {} }, 'bad-envelope'],
      [{ peer: 'a', action: '', keyword: {} }, 'bad-envelope'],
      [{ peer: 'a', action: 'x'.repeat(65), keyword: {} }, 'bad-envelope'],
      [{ action: 'new-join', keyword: {} }, 'bad-envelope'],
      [{ peer: '', action: 'new-join', keyword: {} }, 'bad-envelope'],
      [{ peer: '@server', action: 'new-join', keyword: {} }, 'bad-envelope'],
      [{ peer: 'a\u0007', action: 'new-join', keyword: {} }, 'bad-envelope'],
      [{ peer: 42, action: 'new-join', keyword: {} }, 'bad-envelope'],
      [{ peer: 'a', action: 'new-join' }, 'bad-envelope'],
      [{ peer: 'a', action: 'new-join', keyword: [] }, 'bad-envelope'],
      [{ peer: 'a', action: 'new-offer', keyword: { receiver_channel_name: 'x' } }, 'bad-envelope'],
      [
        {
          peer: 'a',
          action: 'new-offer',
          keyword: { sdp: { type: 'answer', sdp: 'v=0' }, receiver_channel_name: 'x' },
        },
        'bad-envelope',
      ],
      [{ peer: 'a', action: 'new-answer', keyword: { sdp: { type: 'answer', sdp: 'v=0' } } }, 'bad-envelope'],
      [{ peer: 'a', action: 'peer-left', keyword: {} }, 'bad-envelope'],
      [{ peer: 'a', action: 'error', keyword: { code: 'x' } }, 'bad-envelope'],
    ];
    for (const [frame, code] of cases) {
      c.send(frame);
      const err = await c.next((m) => m.action === 'error');
      expect(err.keyword.code, JSON.stringify(frame)).toBe(code);
      expect(typeof err.keyword.message).toBe('string');
    }
    c.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    await c.nextError('bad-envelope');
    // None of that bound a name: the socket can still join under any name.
    c.say('late', 'new-join');
    expect((await c.nextAction('new-join')).peer).toBe('late');
  });

  it('answers frames over --max-message-bytes with too-large and keeps the socket', async () => {
    const a = await s.join('r', 'a');
    a.client.say('a', 'big', { pad: 'x'.repeat(2000) });
    const err = await a.client.nextError('too-large');
    expect(err.keyword.message).toMatch(/1024/);
    a.client.say('a', 'small');
    await a.client.nextAction('small');
  });

  it('closes with 1009 only a frame too big to buffer (over the limit plus 1 MiB), and carries on', async () => {
    const a = await s.join('r', 'a');
    const b = await s.join('r', 'b');
    b.client.send('x'.repeat(1024 + 1024 * 1024 + 1));
    expect((await b.client.closed).code).toBe(1009);
    expect((await a.client.nextAction('peer-left')).peer).toBe('b');
    a.client.say('a', 'still-here');
    await a.client.nextAction('still-here');
  });

  it('rate-limits each socket and lets the others through', async () => {
    const a = await s.join('r', 'a');
    const b = await s.join('r', 'b');
    for (let i = 0; i < 80; i++) a.client.say('a', 'spam', { i });
    await a.client.nextError('rate-limited');
    b.client.say('b', 'fine');
    await a.client.nextAction('fine');
    const seen = await a.client.settle(200);
    const delivered = seen.filter((m) => m.action === 'spam').length;
    const limited = seen.filter((m) => m.keyword.code === 'rate-limited').length;
    // Burst of 40 (twice the rate), a few more refilled while sending; every frame got an answer.
    expect(delivered).toBeGreaterThanOrEqual(39);
    expect(delivered).toBeLessThan(60);
    expect(delivered + limited).toBe(80);
  });

  it('refuses the member beyond --max-room-size with room-full and close 4429 when it takes a name', async () => {
    await s.join('r', 'a');
    await s.join('r', 'b');
    await s.join('r', 'c');
    // Without a name a socket is not a member yet: it is let in, and refused when it names itself.
    const d = await s.connect('r');
    d.say('d', 'new-join');
    const err = await d.nextError('room-full');
    expect(err.keyword.message).toMatch(/full \(3 members\)/);
    expect(err.keyword.ref).toBe('new-join');
    expect((await d.closed).code).toBe(4429);
    // With ?username= the name is taken at once, and so is the refusal.
    const e = await s.connect('r', { username: 'e' });
    await e.nextError('room-full');
    expect((await e.closed).code).toBe(4429);
    await s.join('other', 'd');
  });

  it('counts messages and errors in /metrics', async () => {
    const a = await s.join('r', 'a');
    const b = await s.join('r', 'b');
    a.client.say('a', 'new-offer', { sdp: OFFER_SDP, receiver_channel_name: b.channel });
    await b.client.nextAction('new-offer');
    a.client.send('garbage');
    await a.client.nextError('bad-json');
    // Summed over every instance when there are several.
    const value = (line: string) => s.metric(line);
    expect(await value('engage_messages_in_total{action="new-join"}')).toBe(2);
    expect(await value('engage_messages_in_total{action="new-offer"}')).toBe(1);
    expect(await value('engage_messages_in_total{action="invalid"}')).toBe(1);
    expect(await value('engage_messages_out_total{action="new-offer"}')).toBe(1);
    // a's echo; b's join to a and its echo.
    expect(await value('engage_messages_out_total{action="new-join"}')).toBe(3);
    expect(await value('engage_errors_total{code="bad-json"}')).toBe(1);
    expect(await value('engage_connected_sockets')).toBe(2);
    // Each instance counts the rooms it hosts members of: a and b are on two instances of a cluster.
    expect(await value('engage_rooms')).toBe(s.cluster ? 2 : 1);
    expect(await value('engage_relay_latency_seconds_count')).toBe(3);
  });
});
