import { describe, expect, it } from 'vitest';
import { SignalingServer } from '../../src/signaling/server.js';
import { TestClient, upgradeStatus } from '../helpers/client.js';
import { useServer } from '../helpers/server.js';

describe('heartbeat', () => {
  const s = useServer({ heartbeatIntervalMs: 40, heartbeatTimeoutMs: 200 });

  it('terminates a socket that stops answering pings and tells the room', async () => {
    const a = await s.join('r', 'a');
    const dead = await s.connect('r', { autoPong: false });
    dead.say('dead', 'new-join');
    await a.client.next((m) => m.action === 'new-join' && m.peer === 'dead');
    const left = await a.client.nextAction('peer-left', 3000);
    expect(left.peer).toBe('dead');
    expect((await dead.closed).code).toBe(1006);
    // A socket that answers pings stays.
    expect(a.client.ws.readyState).toBe(a.client.ws.OPEN);
  });
});

describe('close', () => {
  it('closes every socket with 1001, refuses new upgrades and is idempotent', async () => {
    const server = await SignalingServer.start({ port: 0 });
    const url = server.url;
    const a = await TestClient.connect(url, 'r');
    const b = await TestClient.connect(url, 'q');
    const closing = server.close();
    expect(server.closed).toBe(true);
    expect(server.close()).toBe(closing);
    expect((await a.closed).code).toBe(1001);
    expect((await b.closed).code).toBe(1001);
    await closing;
    await expect(upgradeStatus(url, '/room/r/')).rejects.toThrow();
  });

  it('reports a port in use as a usage error', async () => {
    const first = await SignalingServer.start({ port: 0 });
    try {
      await expect(SignalingServer.start({ port: first.address.port })).rejects.toMatchObject({
        exitCode: 2,
      });
    } finally {
      await first.close();
    }
  });

  it('rejects bad options up front', async () => {
    await expect(SignalingServer.start({ port: 70000 })).rejects.toMatchObject({ exitCode: 2 });
    await expect(SignalingServer.start({ port: 0, rate: 0 })).rejects.toMatchObject({ exitCode: 2 });
    await expect(SignalingServer.start({ port: 0, allowedOrigins: ['not a url'] })).rejects.toMatchObject({
      exitCode: 2,
    });
  });
});
