import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { TestClient } from '../helpers/client.js';
import { nestedArrayFrame } from '../signaling/frames.js';

const BIN = fileURLToPath(new URL('../../bin/engage.js', import.meta.url));

function run(args: string[]): ChildProcess {
  return spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
}

async function firstLine(child: ChildProcess): Promise<string> {
  let out = '';
  for await (const chunk of child.stdout!) {
    out += chunk;
    if (out.includes('\n')) return out.split('\n')[0]!;
  }
  throw new Error(`exited before printing: ${out}`);
}

async function exitOf(child: ChildProcess): Promise<{ code: number | null; stderr: string }> {
  let stderr = '';
  child.stderr!.on('data', (d) => {
    stderr += d;
  });
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stderr };
}

describe('engage serve (CLI)', () => {
  const children: ChildProcess[] = [];
  afterEach(() => {
    for (const c of children.splice(0)) c.kill('SIGKILL');
  });

  it('prints its real ws:// URL, serves, and on SIGINT closes sockets with 1001 and exits 0 within 2 s', async () => {
    const child = run(['serve', '--port', '0', '--log-level', 'warn']);
    children.push(child);
    const exited = exitOf(child);
    const line = await firstLine(child);
    const url = /ws:\/\/127\.0\.0\.1:(\d+)/.exec(line)?.[0];
    expect(url, line).toBeDefined();
    expect(url).not.toMatch(/:0$/);

    const a = await TestClient.connect(url!, 'r');
    a.say('a', 'new-join');
    await a.nextAction('new-join');
    const health = await fetch(`${url!.replace('ws', 'http')}/healthz`);
    expect(await health.json()).toMatchObject({ status: 'ok', rooms: 1, sockets: 1 });

    const t0 = Date.now();
    child.kill('SIGINT');
    expect((await a.closed).code).toBe(1001);
    const { code } = await exited;
    expect(code).toBe(0);
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  it('keeps serving after the frame that used to kill it (5,000 nested arrays in a keyword)', async () => {
    const child = run(['serve', '--port', '0', '--log-level', 'warn']);
    children.push(child);
    let exitCode: number | null | undefined;
    child.once('exit', (code) => {
      exitCode = code;
    });
    const url = /ws:\/\/127\.0\.0\.1:\d+/.exec(await firstLine(child))![0];
    const a = await TestClient.connect(url, 'r');
    a.say('a', 'new-join');
    await a.nextAction('new-join');
    a.send(nestedArrayFrame('a', 5000));
    expect((await a.nextAction('error', 5000)).keyword.code).toBe('too-complex');
    const b = await TestClient.connect(url, 'r');
    b.say('b', 'new-join');
    expect((await a.next((m) => m.action === 'new-join' && m.peer === 'b')).peer).toBe('b');
    expect(exitCode).toBeUndefined();
    expect((await fetch(`${url.replace('ws', 'http')}/healthz`)).status).toBe(200);
    a.close();
    b.close();
  });

  it('exits 2 with a clear message on bad flags and on a port in use', async () => {
    const bad = run(['serve', '--port', 'nope']);
    children.push(bad);
    const r1 = await exitOf(bad);
    expect(r1.code).toBe(2);
    expect(r1.stderr).toMatch(/--port/);

    const first = run(['serve', '--port', '0', '--log-level', 'silent']);
    children.push(first);
    const port = /:(\d+)/.exec(await firstLine(first))![1]!;
    const second = run(['serve', '--port', port, '--log-level', 'silent']);
    children.push(second);
    const r2 = await exitOf(second);
    expect(r2.code).toBe(2);
    expect(r2.stderr).toMatch(/already in use/);
  });

  it('refuses an empty or short --auth-secret (or ENGAGE_AUTH_SECRET) with exit 2, naming the minimum', async () => {
    for (const [args, env] of [
      [['--auth-secret', ''], {}],
      [['--auth-secret', 'x'.repeat(31)], {}],
      [[], { ENGAGE_AUTH_SECRET: '' }],
    ] as const) {
      const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', ...args], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, ...env },
      });
      children.push(child);
      const r = await exitOf(child);
      expect(r.code, JSON.stringify([args, env])).toBe(2);
      expect(r.stderr).toMatch(/auth secret .* at least 32 bytes/);
    }
  });

  it('lists every limit in serve --help, with its default', async () => {
    const child = run(['serve', '--help']);
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
    });
    expect((await exitOf(child)).code).toBe(0);
    for (const [flag, def] of [
      ['--max-room-size', '50'],
      ['--max-sockets', '10000'],
      ['--join-timeout', '10'],
      ['--max-message-bytes', '65536'],
      ['--max-broadcast-bytes', '4096'],
      ['--rate', '50'],
      ['--broadcast-rate', '5'],
      ['--max-buffered-bytes', '1048576'],
      ['--heartbeat-interval', '15'],
      ['--heartbeat-timeout', '30'],
    ]) {
      expect(out).toMatch(new RegExp(`${flag} <[^>]+>[\\s\\S]*?\\(default:\\s+${def}\\)`));
    }
    expect(out).toMatch(/--auth-secret <secret>[\s\S]*?at least 32 bytes/);
  });

  it('documents every command in --help', async () => {
    for (const args of [['--help'], ['serve', '--help'], ['join', '--help'], ['loadtest', '--help']]) {
      const child = run(args);
      let out = '';
      child.stdout!.on('data', (d) => {
        out += d;
      });
      const { code } = await exitOf(child);
      expect(code, args.join(' ')).toBe(0);
      expect(out).toMatch(/Usage: engage/);
    }
  });
});
