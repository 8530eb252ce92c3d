import { describe, expect, it } from 'vitest';
import { upgradeStatus } from '../helpers/client.js';
import { useServer } from '../helpers/server.js';

describe('endpoint', () => {
  const s = useServer({ allowedOrigins: ['https://meet.example.com'] });

  it('accepts /room/<room>/ and the original proxy prefix /ws/room/<room>/', async () => {
    expect(await upgradeStatus(s.url, '/room/abc_DEF-123/')).toBe(101);
    expect(await upgradeStatus(s.url, '/ws/room/abc/')).toBe(101);
    expect(await upgradeStatus(s.url, '/room/abc')).toBe(101);
  });

  it('refuses bad room names with 400 and unknown paths with 404', async () => {
    expect(await upgradeStatus(s.url, '/room/bad%20name/')).toBe(400);
    expect(await upgradeStatus(s.url, '/room/caf%C3%A9/')).toBe(400);
    expect(await upgradeStatus(s.url, `/room/${'a'.repeat(65)}/`)).toBe(400);
    expect(await upgradeStatus(s.url, `/room/${'a'.repeat(64)}/`)).toBe(101);
    expect(await upgradeStatus(s.url, '/room//')).toBe(400);
    expect(await upgradeStatus(s.url, '/room/%zz/')).toBe(400);
    expect(await upgradeStatus(s.url, '/elsewhere/')).toBe(404);
    expect(await upgradeStatus(s.url, '/room/a/b/')).toBe(404);
  });

  it('refuses browser origins not on the allowed list with 403', async () => {
    expect(await upgradeStatus(s.url, '/room/r/', { Origin: 'https://evil.example.com' })).toBe(403);
    expect(await upgradeStatus(s.url, '/room/r/', { Origin: 'https://meet.example.com' })).toBe(101);
    // Non-browser clients send no Origin at all.
    expect(await upgradeStatus(s.url, '/room/r/')).toBe(101);
  });

  it('refuses an invalid ?username= with 400', async () => {
    expect(await upgradeStatus(s.url, '/room/r/?username=%40server')).toBe(400);
    expect(await upgradeStatus(s.url, '/room/r/?username=')).toBe(400);
    expect(await upgradeStatus(s.url, `/room/r/?username=${'x'.repeat(65)}`)).toBe(400);
    expect(await upgradeStatus(s.url, '/room/r/?username=a%0Ab')).toBe(400);
  });

  it('serves /healthz and /metrics, and 404 elsewhere', async () => {
    const base = s.url.replace('ws', 'http');
    const health = await fetch(`${base}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok', rooms: 0, sockets: 0 });
    const metrics = await fetch(`${base}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get('content-type')).toMatch(/text\/plain/);
    const text = await metrics.text();
    for (const name of [
      'engage_connected_sockets',
      'engage_rooms',
      'engage_messages_in_total',
      'engage_messages_out_total',
      'engage_errors_total',
      'engage_relay_latency_seconds_bucket',
    ]) {
      expect(text).toContain(name);
    }
    expect((await fetch(`${base}/nope`)).status).toBe(404);
  });
});
