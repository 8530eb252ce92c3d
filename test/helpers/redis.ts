import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

/** Debian's redis-server, as CI installs it (.ci/run). */
export const REDIS_SERVER = process.env.REDIS_SERVER ?? 'redis-server';

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * A real redis-server on 127.0.0.1 with persistence off, owned by one test file. It can be paused
 * (SIGSTOP), resumed, killed and restarted empty on the same port, which is what the engine must survive.
 */
export class RedisProcess {
  private child: ChildProcess | undefined;
  private readonly dir = mkdtempSync(join(tmpdir(), 'engage-redis-'));
  private admins: Redis[] = [];

  private constructor(readonly port: number) {}

  /** Starts one on a free port (a port lost to a race is retried on another). */
  static async start(): Promise<RedisProcess> {
    let lastError: unknown;
    for (let attempt = 0; attempt < 5; attempt++) {
      const redis = new RedisProcess(await freePort());
      try {
        await redis.spawn();
        return redis;
      } catch (err) {
        lastError = err;
        await redis.stop();
      }
    }
    throw lastError;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get pid(): number {
    if (!this.child?.pid) throw new Error('redis-server is not running');
    return this.child.pid;
  }

  private async spawn(): Promise<void> {
    const child = spawn(
      REDIS_SERVER,
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        this.dir,
        '--daemonize',
        'no',
        '--loglevel',
        'notice',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.child = child;
    let output = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => fail(new Error(`redis-server did not start within 10 s:\n${output}`)),
        10_000,
      );
      const fail = (err: Error) => {
        clearTimeout(timer);
        reject(err);
      };
      child.once('error', (err) =>
        fail(new Error(`cannot run ${REDIS_SERVER} (apt-get install redis-server): ${err.message}`)),
      );
      child.once('exit', (code) => fail(new Error(`redis-server exited with ${code}:\n${output}`)));
      child.stdout?.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('Ready to accept connections')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.stderr?.on('data', (chunk: Buffer) => {
        output += chunk.toString();
      });
    });
    child.removeAllListeners('exit');
    child.stdout?.resume();
  }

  /** A plain client for the test's own reads and pokes; closed by stop(). */
  admin(): Redis {
    const client = new Redis(this.url, { lazyConnect: false, maxRetriesPerRequest: 1 });
    client.on('error', () => {});
    this.admins.push(client);
    return client;
  }

  pause(): void {
    this.child?.kill('SIGSTOP');
  }

  resume(): void {
    this.child?.kill('SIGCONT');
  }

  /** kill -9: whatever it held is gone (persistence is off). */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGCONT');
    child.kill('SIGKILL');
    await exited;
    this.child = undefined;
  }

  /** Kills it and starts a new, empty one on the same port. */
  async restartEmpty(): Promise<void> {
    await this.kill();
    for (let attempt = 0; ; attempt++) {
      try {
        await this.spawn();
        return;
      } catch (err) {
        if (attempt >= 20) throw err;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }

  async stop(): Promise<void> {
    for (const client of this.admins.splice(0)) client.disconnect();
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
