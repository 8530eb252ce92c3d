import { describe, expect, it } from 'vitest';
import { upgradeStatus } from '../helpers/client.js';
import { useServer } from '../helpers/server.js';

describe('identity', () => {
  const s = useServer();

  it('refuses a taken ?username= at the upgrade with 409; other rooms are free', async () => {
    await s.connect('r', { username: 'alice' });
    // With several instances, asked of another one than alice's.
    expect(await upgradeStatus(s.urlFor('r'), '/room/r/?username=alice')).toBe(409);
    expect(await upgradeStatus(s.url, '/room/other/?username=alice')).toBe(101);
  });

  it('binds ?username= so a message claiming the name from another socket is username-taken + 4409', async () => {
    const first = await s.connect('r', { username: 'alice' });
    const second = await s.connect('r');
    second.say('alice', 'new-join');
    const err = await second.nextError('username-taken');
    expect(err.keyword.ref).toBe('new-join');
    expect((await second.closed).code).toBe(4409);
    // The holder is untouched and was not told of the impostor.
    expect(first.ws.readyState).toBe(first.ws.OPEN);
    expect(first.messages).toHaveLength(0);
  });

  it('closes with 4409 a second live socket that claims a name in a message, sending no peer-left', async () => {
    const a = await s.join('r', 'alice');
    const b = await s.join('r', 'bob');
    const impostor = await s.connect('r');
    impostor.say('alice', 'new-join');
    await impostor.nextError('username-taken');
    expect((await impostor.closed).code).toBe(4409);
    const seen = await b.client.settle();
    expect(seen.some((m) => m.action === 'peer-left')).toBe(false);
    expect(seen.filter((m) => m.peer === 'alice' && m.action === 'new-join')).toHaveLength(0);
    expect(a.client.ws.readyState).toBe(a.client.ws.OPEN);
  });

  it('refuses a message under another name with identity-changed and keeps the socket', async () => {
    const a = await s.join('r', 'alice');
    const b = await s.join('r', 'bob');
    a.client.say('mallory', 'close');
    const err = await a.client.nextError('identity-changed');
    expect(err.keyword.ref).toBe('close');
    const seen = await b.client.settle();
    expect(seen.some((m) => m.peer === 'mallory')).toBe(false);
    // Still usable under its own name.
    a.client.say('alice', 'hello-ext');
    expect((await b.client.nextAction('hello-ext')).peer).toBe('alice');
  });
});
