import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { signRoomToken, verifyRoomToken } from '../../src/signaling/auth.js';
import { SignalingClient } from '../../src/signaling/client.js';
import { SignalingServer } from '../../src/signaling/server.js';
import { TestClient, upgradeStatus } from '../helpers/client.js';
import { useServer } from '../helpers/server.js';

const SECRET = 'a test secret of at least 32 bytes';
const inAMinute = () => Math.floor(Date.now() / 1000) + 60;

describe('room tokens', () => {
  it('accepts only an HS256 token signed with the secret, for this room, unexpired', () => {
    const good = signRoomToken({ room: 'r', username: 'alice', exp: inAMinute() }, SECRET);
    expect(verifyRoomToken(good, SECRET, 'r')).toMatchObject({ ok: true, grant: { username: 'alice' } });
    expect(verifyRoomToken(good, 'other', 'r')).toMatchObject({ ok: false, reason: /signature/ });
    expect(verifyRoomToken(good, SECRET, 'q')).toMatchObject({ ok: false, reason: /room q/ });
    const old = signRoomToken({ room: 'r', username: 'alice', exp: 1 }, SECRET);
    expect(verifyRoomToken(old, SECRET, 'r')).toMatchObject({ ok: false, reason: /expired/ });
    const [, payload] = good.split('.');
    const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${payload}.`;
    expect(verifyRoomToken(none, SECRET, 'r')).toMatchObject({ ok: false, reason: /HS256/ });
    expect(verifyRoomToken('garbage', SECRET, 'r').ok).toBe(false);
  });
});

describe('--auth-secret', () => {
  const s = useServer({ authSecret: SECRET });

  it('refuses upgrades without a valid token (401) and binds the token username', async () => {
    expect(await upgradeStatus(s.url, '/room/r/')).toBe(401);
    expect(await upgradeStatus(s.url, '/room/r/?token=abc')).toBe(401);
    const forQ = signRoomToken({ room: 'q', username: 'alice', exp: inAMinute() }, SECRET);
    expect(await upgradeStatus(s.url, `/room/r/?token=${forQ}`)).toBe(401);
    const token = signRoomToken({ room: 'r', username: 'alice', exp: inAMinute() }, SECRET);
    expect(await upgradeStatus(s.url, `/room/r/?token=${token}&username=bob`)).toBe(401);

    const alice = (await SignalingClient.connect({ url: s.url, room: 'r', name: 'alice', token })).start();
    alice.join();
    await expect(TestClient.connect(s.url, 'r')).rejects.toThrow(/401/);

    // The token's name is the only one that socket may use.
    const ws = new WebSocket(
      `${s.url}/room/r/?token=${signRoomToken({ room: 'r', username: 'dave', exp: inAMinute() }, SECRET)}`,
    );
    await new Promise((r) => ws.once('open', r));
    const answer = new Promise<{ keyword: { code: string } }>((resolve) =>
      ws.once('message', (d) => resolve(JSON.parse(d.toString()))),
    );
    ws.send(JSON.stringify({ peer: 'mallory', action: 'new-join', keyword: {} }));
    expect((await answer).keyword.code).toBe('identity-changed');
    ws.close();
    await alice.close();
  });

  it('closes a socket with 4401 once its token has expired', async () => {
    const token = signRoomToken(
      { room: 'r', username: 'carol', exp: Math.floor(Date.now() / 1000) + 1 },
      SECRET,
    );
    const ws = new WebSocket(`${s.url}/room/r/?token=${token}`);
    await new Promise((r) => ws.once('open', r));
    await new Promise((r) => setTimeout(r, 1200));
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    const errors: string[] = [];
    ws.on('message', (d) => errors.push(JSON.parse(d.toString()).keyword.code));
    ws.send(JSON.stringify({ peer: 'carol', action: 'new-join', keyword: {} }));
    expect(await closed).toBe(4401);
    expect(errors).toEqual(['unauthorized']);
  });
});

describe('TLS', () => {
  const dir = mkdtempSync(join(tmpdir(), 'engage-tls-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('serves wss:// and https:// with --tls-cert/--tls-key', async () => {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    const server = await SignalingServer.start({
      port: 0,
      tls: { cert: readFileSync(join(dir, 'cert.pem')), key: readFileSync(join(dir, 'key.pem')) },
    });
    try {
      expect(server.url).toMatch(/^wss:\/\/127\.0\.0\.1:\d+$/);
      const ws = new WebSocket(`${server.url}/room/r/`, { rejectUnauthorized: false });
      const echo = new Promise<string>((resolve) => ws.once('message', (d) => resolve(d.toString())));
      await new Promise((r) => ws.once('open', r));
      ws.send(JSON.stringify({ peer: 'a', action: 'new-join', keyword: {} }));
      expect(JSON.parse(await echo)).toMatchObject({ peer: 'a', action: 'new-join' });
      ws.close();
    } finally {
      await server.close();
    }
  });
});
