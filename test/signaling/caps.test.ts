import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { signRoomToken } from '../../src/signaling/auth.js';
import { SignalingServer } from '../../src/signaling/server.js';
import { OFFER_SDP, type TestClient, upgradeStatus } from '../helpers/client.js';
import { useServer } from '../helpers/server.js';

async function until(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('--join-timeout', () => {
  const s = useServer({ joinTimeoutMs: 300 });

  it('closes a socket that takes no name in time with join-timeout and 4408; named ones stay', async () => {
    const silent = await s.connect('r');
    const joined = await s.connect('r');
    joined.say('a', 'new-join');
    const named = await s.connect('r', { username: 'b' });
    const err = await silent.nextError('join-timeout', 3000);
    expect(err.keyword.message).toMatch(/300 ms/);
    expect((await silent.closed).code).toBe(4408);
    await new Promise((r) => setTimeout(r, 400));
    expect(joined.ws.readyState).toBe(WebSocket.OPEN);
    expect(named.ws.readyState).toBe(WebSocket.OPEN);
    // The pending socket was never a member: nobody heard it leave.
    expect(joined.messages.some((m) => m.action === 'peer-left')).toBe(false);
    expect(await s.health()).toMatchObject({ rooms: 1, sockets: 2 });
  });
});

describe('--max-sockets', () => {
  const s = useServer({ maxSockets: 3 });

  it('answers upgrades beyond the cap with 503 and lets one in again once a socket goes', async () => {
    // The cap is per server: with several instances, all of it on the first.
    const open = [
      await s.connect('r', { instance: 0 }),
      await s.connect('q', { instance: 0 }),
      await s.connect('r', { username: 'x', instance: 0 }),
    ];
    expect(await upgradeStatus(s.url, '/room/r/')).toBe(503);
    expect(await upgradeStatus(s.url, '/room/other/?username=y')).toBe(503);
    open[0]!.close();
    await open[0]!.closed;
    await until(() => s.server.stats.sockets === 2, 'the server to see the close');
    expect(await upgradeStatus(s.url, '/room/r/')).toBe(101);
    const metrics = await (await fetch(`${s.url.replace(/^ws/, 'http')}/metrics`)).text();
    expect(metrics).toMatch(/^engage_upgrades_refused_total\{status="503"\} 2$/m);
  });
});

describe('room-wide messages (--max-broadcast-bytes, --broadcast-rate)', () => {
  const s = useServer({ maxBroadcastBytes: 1024, broadcastRate: 10, rate: 1000 });

  it('refuses a custom action over the broadcast size with too-large; a direct offer that size passes', async () => {
    const a = await s.join('r', 'a');
    const b = await s.join('r', 'b');
    a.client.say('a', 'big', { pad: 'x'.repeat(1100) });
    const err = await a.client.nextError('too-large');
    expect(err.keyword).toMatchObject({ ref: 'big', message: expect.stringMatching(/whole room.*1024/) });
    a.client.say('a', 'new-join', { pad: 'x'.repeat(1100) });
    expect((await a.client.nextError('too-large')).keyword.ref).toBe('new-join');
    a.client.say('a', 'new-offer', {
      sdp: OFFER_SDP,
      receiver_channel_name: b.channel,
      pad: 'x'.repeat(1100),
    });
    expect((await b.client.nextAction('new-offer')).keyword.pad).toHaveLength(1100);
    expect(b.client.messages.some((m) => m.action === 'big')).toBe(false);
  });

  it('rate-limits room-wide messages per socket at their own rate, burst twice that', async () => {
    const a = await s.join('r', 'a');
    const b = await s.join('r', 'b');
    for (let i = 0; i < 60; i++) a.client.say('a', 'spam', { i });
    await a.client.nextError('rate-limited');
    const seen = await a.client.settle(300);
    const echoed = seen.filter((m) => m.action === 'spam').length;
    const limited = seen.filter((m) => m.keyword.code === 'rate-limited' && m.keyword.ref === 'spam').length;
    // a's new-join took one token of the burst of 20; a few more refill while the frames arrive.
    expect(echoed).toBeGreaterThanOrEqual(18);
    expect(echoed).toBeLessThan(30);
    expect(echoed + limited).toBe(60);
    expect(b.client.messages.filter((m) => m.action === 'spam')).toHaveLength(echoed);
    // Direct messages are not room-wide: they still pass.
    a.client.say('a', 'new-offer', { sdp: OFFER_SDP, receiver_channel_name: b.channel });
    await b.client.nextAction('new-offer');
  });
});

describe('token expiry on the heartbeat', () => {
  const secret = 'x'.repeat(32);
  const s = useServer({ authSecret: secret, heartbeatIntervalMs: 100 });

  it('closes a silent socket with unauthorized and 4401 once its token expires, without a frame from it', async () => {
    const exp = Math.floor(Date.now() / 1000) + 1;
    const token = signRoomToken({ room: 'r', username: 'carol', exp }, secret);
    const ws = new WebSocket(`${s.url}/room/r/?token=${token}`);
    const codes: string[] = [];
    ws.on('message', (d) => codes.push(JSON.parse(d.toString()).keyword.code));
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    await new Promise((r) => ws.once('open', r));
    expect(await closed).toBe(4401);
    expect(Date.now() / 1000).toBeGreaterThanOrEqual(exp);
    expect(codes).toEqual(['unauthorized']);
  });
});

describe('--auth-secret', () => {
  it('refuses an empty or short secret as a usage error, naming the minimum', async () => {
    for (const authSecret of ['', 'short', 'x'.repeat(31)]) {
      await expect(SignalingServer.start({ port: 0, authSecret })).rejects.toMatchObject({
        exitCode: 2,
        message: expect.stringMatching(/at least 32 bytes/),
      });
    }
    const ok = await SignalingServer.start({ port: 0, authSecret: 'x'.repeat(32) });
    await ok.close();
  });
});

describe('unnamed sockets', () => {
  const s = useServer({ maxRoomSize: 2 });

  it('neither fill a room nor make one: the registry holds rooms of named members only', async () => {
    await Promise.all(Array.from({ length: 5 }, () => s.connect('r')));
    expect(await s.health()).toMatchObject({ rooms: 0, sockets: 5 });
    const a = await s.join('r', 'a');
    await s.join('r', 'b');
    expect(await s.health()).toMatchObject({ rooms: 1, sockets: 7 });
    // An offer to a pending socket's channel is unknown-target: only members are targets.
    a.client.say('a', 'new-offer', { sdp: OFFER_SDP, receiver_channel_name: 'specific.engage!pending' });
    await a.client.nextError('unknown-target');
  });

  it('leave no room behind when every socket has gone', async () => {
    const clients: TestClient[] = [];
    for (let i = 0; i < 4; i++) clients.push((await s.join(`r${i}`, 'a')).client);
    clients.push(await s.connect('pending'));
    expect(await s.health()).toMatchObject({ rooms: 4, sockets: 5 });
    for (const c of clients) c.close();
    await until(async () => (await s.health()).sockets === 0, 'every socket to close');
    expect(await s.health()).toMatchObject({ rooms: 0, sockets: 0 });
  });
});
