import { afterEach, describe, expect, it } from 'vitest';
import { type ClientEvents, roomUrl, SignalingClient } from '../../src/signaling/client.js';
import { useServer } from '../helpers/server.js';

function nextEvent<K extends keyof ClientEvents>(c: SignalingClient, event: K): Promise<ClientEvents[K]> {
  return new Promise((resolve) => c.once(event, ((...args: ClientEvents[K]) => resolve(args)) as never));
}

describe('SignalingClient', () => {
  const s = useServer();
  const open: SignalingClient[] = [];
  const connect = async (room: string, name: string) => {
    const c = (await SignalingClient.connect({ url: s.url, room, name })).start();
    open.push(c);
    return c;
  };
  afterEach(async () => {
    for (const c of open.splice(0)) await c.close();
  });

  it('builds room URLs from any form of server URL', () => {
    expect(roomUrl('ws://h:1', 'r')).toBe('ws://h:1/room/r/');
    expect(roomUrl('http://h:1/', 'r', 'a b')).toBe('ws://h:1/room/r/?username=a+b');
    expect(roomUrl('https://h/prefix', 'r')).toBe('wss://h/prefix/room/r/');
    expect(roomUrl('ws://h/ws/room/x/', 'r')).toBe('ws://h/ws/room/x/');
    expect(() => roomUrl('ftp://h', 'r')).toThrow(/ws:\/\//);
  });

  it('does the dance with events, learns its channel from its echo, and hears leaves', async () => {
    const a = await connect('r', 'alice');
    a.join();
    const b = await connect('r', 'bob');
    const joined = nextEvent(a, 'join');
    b.join();
    const [peer, bobChannel] = await joined;
    expect(peer).toBe('bob');
    await new Promise((r) => setTimeout(r, 50));
    expect(b.channel).toBe(bobChannel);

    const offered = nextEvent(b, 'offer');
    a.offer(bobChannel, { type: 'offer', sdp: 'v=0 offer' });
    const [from, aliceChannel, sdp] = await offered;
    expect(from).toBe('alice');
    expect(aliceChannel).toBe(a.channel);
    expect(sdp).toEqual({ type: 'offer', sdp: 'v=0 offer' });

    const answered = nextEvent(a, 'answer');
    b.answer(aliceChannel, { type: 'answer', sdp: 'v=0 answer' });
    expect((await answered)[2].sdp).toBe('v=0 answer');

    const left = nextEvent(a, 'leave');
    await b.close();
    expect(await left).toEqual(['bob', bobChannel]);
    await b.close();
    expect(b.state).toBe('closed');
  });

  it('reports a taken name as a clear connect error and refusals as events', async () => {
    await connect('r', 'alice');
    await expect(connect('r', 'alice')).rejects.toThrow(/HTTP 409.*taken/);
    const c = await connect('r', 'carol');
    const refused = nextEvent(c, 'refused');
    c.offer('specific.engage!nobody', { type: 'offer', sdp: 'v=0' });
    expect((await refused)[0]).toBe('unknown-target');
  });

  it('times out with a message that says what it waited for', async () => {
    await expect(
      SignalingClient.connect({ url: 'ws://127.0.0.1:9', room: 'r', name: 'x', connectTimeoutMs: 500 }),
    ).rejects.toThrow(/cannot connect|timed out/);
  });
});
