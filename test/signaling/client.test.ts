import { createServer, type Server, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { signRoomToken } from '../../src/signaling/auth.js';
import {
  backoffPolicy,
  type ClientEvents,
  type ConnectionState,
  noReconnect,
  type ReconnectPolicy,
  roomUrl,
  SignalingClient,
} from '../../src/signaling/client.js';
import { SignalingServer } from '../../src/signaling/server.js';
import { TestClient } from '../helpers/client.js';
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

describe('backoffPolicy', () => {
  it('is a pure function: immediate first, doubling with jitter, capped, then giving up', () => {
    const policy = backoffPolicy({ seed: 'a', firstDelayMs: 100, maxDelayMs: 1000, giveUpAfterMs: 60_000 });
    expect(policy(0, 0)).toBe(0);
    const delays = [1, 2, 3, 4, 5, 6, 7].map((n) => policy(n, 1000)!);
    // Each between half and all of 100, 200, 400, 800, 1000, 1000, 1000.
    const nominal = [100, 200, 400, 800, 1000, 1000, 1000];
    delays.forEach((d, i) => {
      expect(d).toBeGreaterThanOrEqual(nominal[i]! / 2);
      expect(d).toBeLessThanOrEqual(nominal[i]!);
    });
    // Same inputs, same answer; another seed spreads another client elsewhere.
    expect([1, 2, 3, 4, 5, 6, 7].map((n) => policy(n, 1000))).toEqual(delays);
    const other = backoffPolicy({ seed: 'b', firstDelayMs: 100, maxDelayMs: 1000 });
    expect([1, 2, 3, 4, 5, 6, 7].map((n) => other(n, 1000))).not.toEqual(delays);
    expect(policy(3, 60_000)).toBeNull();
    expect(noReconnect(0, 0)).toBeNull();
  });

  it('defaults to 250 ms doubling to 5 s, for 10 minutes', () => {
    const policy = backoffPolicy({ seed: 'x' });
    expect(policy(1, 0)).toBeGreaterThanOrEqual(125);
    expect(policy(1, 0)).toBeLessThanOrEqual(250);
    expect(policy(20, 0)).toBeGreaterThanOrEqual(2500);
    expect(policy(20, 0)).toBeLessThanOrEqual(5000);
    expect(policy(20, 10 * 60_000 - 1)).not.toBeNull();
    expect(policy(20, 10 * 60_000)).toBeNull();
  });
});

/** A loopback TCP proxy that can freeze the connections it carries: both ends then hear nothing. */
async function startProxy(port: number) {
  const pairs: Array<{ down: Socket; up: Socket; frozen: boolean }> = [];
  const server: Server = createServer((down) => {
    const up = new Socket();
    const pair = { down, up, frozen: false };
    pairs.push(pair);
    up.connect(port, '127.0.0.1');
    down.on('data', (d) => pair.frozen || up.write(d));
    up.on('data', (d) => pair.frozen || down.write(d));
    const end = () => {
      down.destroy();
      up.destroy();
    };
    // A frozen pair stays open on both sides, as a dead network path does.
    down.on('close', () => pair.frozen || end());
    up.on('close', () => pair.frozen || end());
    down.on('error', () => {});
    up.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `ws://127.0.0.1:${(server.address() as { port: number }).port}`,
    freezeAll: () => {
      for (const p of pairs) p.frozen = true;
    },
    close: async () => {
      for (const p of pairs) {
        p.down.destroy();
        p.up.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('SignalingClient reconnects', () => {
  const fast: ReconnectPolicy = backoffPolicy({ firstDelayMs: 50, maxDelayMs: 200, giveUpAfterMs: 20_000 });
  const open: Array<{ close(): unknown }> = [];
  afterEach(async () => {
    for (const c of open.splice(0).reverse()) await c.close();
  });

  function track(client: SignalingClient) {
    const log = { states: [] as ConnectionState[], reasons: [] as string[], reconnected: [] as number[] };
    client.on('state', (s) => log.states.push(s));
    client.on('reconnecting', (_attempt, _delay, reason) => log.reasons.push(reason));
    client.on('reconnected', (_attempts, outageMs) => log.reconnected.push(outageMs));
    return log;
  }

  const waitFor = async (cond: () => boolean, what: string, ms = 10_000) => {
    const deadline = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  it('rides out a server restart on the same port and announces itself again, same session', async () => {
    let server = await SignalingServer.start({ port: 0 });
    const port = server.address.port;
    open.push({ close: () => server.close() });
    const alice = (
      await SignalingClient.connect({ url: server.url, room: 'r', name: 'alice', reconnect: fast })
    ).start();
    open.push(alice);
    const log = track(alice);
    alice.join();
    await waitFor(() => alice.channel !== undefined, 'alice to learn her channel');
    const firstChannel = alice.channel;

    await server.close();
    await waitFor(() => alice.state === 'reconnecting', 'alice to notice');
    await new Promise((r) => setTimeout(r, 300));
    server = await SignalingServer.start({ port });
    // A member that joins the new server first hears alice's new-join when she is back.
    const watcher = await TestClient.connect(server.url, 'r');
    open.push(watcher);
    watcher.say('watcher', 'new-join');
    const rejoin = await watcher.next((m) => m.action === 'new-join' && m.peer === 'alice', 10_000);

    expect(rejoin.keyword.session).toBe(alice.session);
    expect(log.reconnected).toHaveLength(1);
    expect(log.reconnected[0]).toBeGreaterThanOrEqual(300);
    expect(alice.reconnects).toBe(1);
    expect(log.states).toEqual(['reconnecting', 'open']);
    expect(log.reasons[0]).toMatch(/socket closed \(1001/);
    await waitFor(() => alice.channel !== undefined, 'alice to learn her new channel');
    expect(alice.channel).not.toBe(firstChannel);
    expect(alice.state).toBe('open');
  });

  it('notices a dead path by its heartbeat, and retries a 409 until the server lets go of the old socket', async () => {
    // The server drops a socket silent for 1.5 s; the client pings every 150 ms and gives up on 300 ms.
    const server = await SignalingServer.start({
      port: 0,
      heartbeatIntervalMs: 200,
      heartbeatTimeoutMs: 1500,
    });
    open.push({ close: () => server.close() });
    const proxy = await startProxy(server.address.port);
    open.push(proxy);
    const alice = (
      await SignalingClient.connect({
        url: proxy.url,
        room: 'r',
        name: 'alice',
        reconnect: fast,
        heartbeatMs: 150,
      })
    ).start();
    open.push(alice);
    const log = track(alice);
    alice.join();
    const bob = await TestClient.connect(server.url, 'r');
    open.push(bob);
    bob.say('bob', 'new-join');
    await waitFor(() => alice.channel !== undefined, 'alice to join');

    proxy.freezeAll();
    await waitFor(() => log.reconnected.length === 1, 'alice to reconnect', 15_000);
    // Until the server timed the frozen socket out, the name was still held: HTTP 409, retried.
    expect(log.reasons[0]).toMatch(/socket closed \(1006/);
    expect(log.reasons.some((r) => /HTTP 409/.test(r))).toBe(true);
    // bob saw the old socket leave before the new one joined.
    const left = await bob.next((m) => m.action === 'peer-left' && m.peer === 'alice');
    const back = await bob.next((m) => m.action === 'new-join' && m.peer === 'alice');
    expect(bob.messages.indexOf(left)).toBeLessThan(bob.messages.indexOf(back));
    expect(back.keyword.session).toBe(alice.session);
    expect(alice.state).toBe('open');
  }, 30_000);

  it('backs off from a server that lets it in and drops it at once (a full room)', async () => {
    const server = await SignalingServer.start({ port: 0, maxRoomSize: 1 });
    open.push({ close: () => server.close() });
    const occupant = await TestClient.connect(server.url, 'r', { username: 'occupant' });
    const client = (
      await SignalingClient.connect({ url: server.url, room: 'r', name: 'x', reconnect: fast })
    ).start();
    open.push(client);
    const delays: number[] = [];
    client.on('reconnecting', (_attempt, delay) => delays.push(delay));
    client.join();
    await new Promise((r) => setTimeout(r, 1500));
    // Each drop continues the same outage: the delays grow instead of starting again from 0.
    expect(delays.length).toBeGreaterThan(2);
    expect(delays.length).toBeLessThan(20);
    expect(delays.slice(1).every((d) => d > 0)).toBe(true);
    occupant.close();
    await waitFor(() => client.state === 'open' && client.channel !== undefined, 'x to get in', 5000);
  });

  it('without a policy, the first drop ends the client', async () => {
    const server = await SignalingServer.start({ port: 0 });
    const client = (await SignalingClient.connect({ url: server.url, room: 'r', name: 'x' })).start();
    open.push(client);
    const closed = new Promise<ClientEvents['closed']>((resolve) =>
      client.once('closed', (...a) => resolve(a)),
    );
    await server.close();
    expect((await closed)[0]).toBe(1001);
    expect(client.state).toBe('closed');
  });

  it('gives up when the policy says so, saying how long it tried', async () => {
    const server = await SignalingServer.start({ port: 0 });
    const twice: ReconnectPolicy = (attempt) => (attempt < 2 ? 20 : null);
    const client = (
      await SignalingClient.connect({ url: server.url, room: 'r', name: 'x', reconnect: twice })
    ).start();
    open.push(client);
    const log = track(client);
    const closed = new Promise<ClientEvents['closed']>((resolve) =>
      client.once('closed', (...a) => resolve(a)),
    );
    await server.close();
    const [, reason] = await closed;
    expect(reason).toMatch(/gave up reconnecting after 2 attempts/);
    expect(log.reasons).toHaveLength(2);
    expect(log.states).toEqual(['reconnecting', 'closed']);
  });

  it('does not retry what a new socket cannot fix: a token the server no longer accepts', async () => {
    const secret = 'a test secret of at least 32 bytes!';
    const server = await SignalingServer.start({ port: 0, authSecret: secret });
    open.push({ close: () => server.close() });
    const token = signRoomToken({ room: 'r', username: 'x', exp: Math.floor(Date.now() / 1000) + 2 }, secret);
    const client = (
      await SignalingClient.connect({ url: server.url, room: 'r', name: 'x', token, reconnect: fast })
    ).start();
    open.push(client);
    const log = track(client);
    const closed = new Promise<ClientEvents['closed']>((resolve) =>
      client.once('closed', (...a) => resolve(a)),
    );
    await new Promise((r) => setTimeout(r, 2100));
    client.broadcast('hello');
    expect((await closed)[0]).toBe(4401);
    expect(log.reasons).toEqual([]);
  });
});
