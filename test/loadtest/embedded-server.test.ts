import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { EmbeddedServer } from '../../src/loadtest/execute/embedded-server.js';
import { fetchServerMetrics } from '../../src/loadtest/metrics/server-metrics.js';
import { SignalingClient } from '../../src/signaling/client.js';

// The child process runs dist/loadtest/execute/server-process.js: run `npm run build` first.
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function until(what: string, ok: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('the embedded server', () => {
  it('runs in a process of its own and reports that process’s CPU, memory and sockets', async () => {
    const failures: string[] = [];
    const server = await EmbeddedServer.start({
      maxRoomSize: 50,
      logLevel: 'silent',
      onFailed: (r) => failures.push(r),
    });
    const pid = server.pid!;
    const clients: SignalingClient[] = [];
    try {
      expect(pid).not.toBe(process.pid);
      expect(alive(pid)).toBe(true);
      expect(server.url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/);
      for (let i = 0; i < 5; i++)
        clients.push(await SignalingClient.connect({ url: server.url, room: 'r', name: `c${i}` }));
      // Readings come once a second; the first CPU reading needs two of them.
      await until('two usage reports', () => server.cpuPct.count >= 1 && server.peakSockets === 5);
      const usage = server.usage!;
      expect(usage.sockets).toBe(5);
      expect(usage.rssMb).toBeGreaterThan(10);
      expect(usage.cpuPct).toBeGreaterThanOrEqual(0);
      expect(server.cpuPct.stats().max).toBeLessThan(400);
      expect(server.rssMb.count).toBeGreaterThanOrEqual(2);
      const metrics = await fetchServerMetrics(server.url);
      expect(metrics?.samples.some((s) => s.name === 'engage_connected_sockets')).toBe(true);
    } finally {
      for (const c of clients) await c.close();
      await server.close();
    }
    expect(alive(pid)).toBe(false);
    await server.close(); // idempotent
    expect(failures).toEqual([]);
  }, 30_000);

  it('reports a process that dies during the run as failed, once, and close() still resolves', async () => {
    const failures: string[] = [];
    const server = await EmbeddedServer.start({
      maxRoomSize: 50,
      logLevel: 'silent',
      onFailed: (r) => failures.push(r),
    });
    const pid = server.pid!;
    process.kill(pid, 'SIGKILL');
    await until('the failure report', () => failures.length > 0);
    expect(failures).toEqual(['was killed by SIGKILL during the run']);
    await server.close();
    expect(alive(pid)).toBe(false);
  }, 30_000);

  it('a planned restart kills the process and listens again on the same port, and is not a failure', async () => {
    const failures: string[] = [];
    const server = await EmbeddedServer.start({
      maxRoomSize: 50,
      logLevel: 'silent',
      onFailed: (r) => failures.push(r),
    });
    const firstPid = server.pid!;
    const url = server.url;
    try {
      await server.restart();
      expect(alive(firstPid)).toBe(false);
      expect(server.pid).not.toBe(firstPid);
      expect(server.url).toBe(url);
      expect(server.restarts).toBe(1);
      const client = await SignalingClient.connect({ url, room: 'r', name: 'after' });
      await client.close();
      // The new process's death is still a failure.
      process.kill(server.pid!, 'SIGKILL');
      await until('the failure report', () => failures.length > 0);
      expect(failures).toEqual(['was killed by SIGKILL during the run']);
    } finally {
      await server.close();
    }
    await expect(server.restart()).rejects.toThrow(/closed/);
  }, 30_000);

  it('ends by itself when the run that forked it goes away', async () => {
    // A run process that starts the embedded server, prints its pid, then dies without closing it.
    const script = `
      const { EmbeddedServer } = await import(${JSON.stringify(new URL('../../dist/loadtest/execute/embedded-server.js', import.meta.url).href)});
      const s = await EmbeddedServer.start({ maxRoomSize: 5, logLevel: 'silent', onFailed: () => {} });
      process.send(s.pid);
      process.exit(0);
    `;
    const run = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    const [pid] = (await once(run, 'message')) as [number];
    await until('the orphaned server to end', () => !alive(pid));
  }, 30_000);
});
