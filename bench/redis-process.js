/**
 * A redis-server for bench/signaling.js's cluster phase: Debian's binary on 127.0.0.1, a free port,
 * persistence off, killed when the bench ends. info() reads the counters the cluster phase turns into a
 * cost per relayed message.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';

async function freePort() {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export class RedisProcess {
  static async start(binary = process.env.REDIS_SERVER ?? 'redis-server') {
    const port = await freePort();
    const dir = mkdtempSync(path.join(tmpdir(), 'engage-bench-redis-'));
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
    const child = spawn(binary, [...args, '--dir', dir, '--daemonize', 'no'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const redis = new RedisProcess(port, dir, child);
    // However the bench ends (a watchdog's exit, Ctrl-C), the server goes with it.
    process.once('exit', () => child.kill('SIGKILL'));
    let output = '';
    await new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`redis-server did not start in 10 s:\n${output}`)),
        10_000,
      );
      child.once('error', (err) => {
        clearTimeout(timer);
        reject(new Error(`cannot run ${binary} (apt-get install redis-server): ${err.message}`));
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`redis-server exited with ${code}:\n${output}`));
      });
      child.stdout.on('data', (chunk) => {
        output += chunk;
        if (output.includes('Ready to accept connections')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.stderr.on('data', (chunk) => {
        output += chunk;
      });
    }).catch(async (err) => {
      await redis.stop();
      throw err;
    });
    child.removeAllListeners('exit');
    child.stdout.resume();
    child.stderr.resume();
    redis.admin = new Redis(redis.url, { maxRetriesPerRequest: 1 });
    redis.admin.on('error', () => {});
    const [, version] = /redis_version:(\S+)/.exec(await redis.admin.info('server')) ?? [];
    redis.version = version;
    return redis;
  }

  constructor(port, dir, child) {
    this.port = port;
    this.dir = dir;
    this.child = child;
    this.url = `redis://127.0.0.1:${port}`;
  }

  get pid() {
    return this.child.pid;
  }

  /**
   * CPU seconds (user + sys, INFO cpu), top-level commands (INFO stats), calls by command including those
   * run inside scripts (INFO commandstats), network bytes in and out.
   */
  async info() {
    const text = await this.admin.info('everything');
    const field = (name) => Number(new RegExp(`^${name}:(\\S+)`, 'm').exec(text)?.[1] ?? Number.NaN);
    const calls = {};
    for (const m of text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls[m[1]] = Number(m[2]);
    return {
      cpuS: field('used_cpu_user') + field('used_cpu_sys'),
      commands: field('total_commands_processed'),
      netInBytes: field('total_net_input_bytes'),
      netOutBytes: field('total_net_output_bytes'),
      usedMemory: field('used_memory'),
      calls,
    };
  }

  async stop() {
    this.admin?.disconnect();
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = once(this.child, 'exit');
      this.child.kill('SIGKILL');
      await exited;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** What Redis did between two info() readings. */
export function redisDelta(before, after) {
  const calls = {};
  for (const [name, n] of Object.entries(after.calls)) {
    const d = n - (before.calls[name] ?? 0);
    if (d > 0) calls[name] = d;
  }
  return {
    cpuS: after.cpuS - before.cpuS,
    commands: after.commands - before.commands,
    netInBytes: after.netInBytes - before.netInBytes,
    netOutBytes: after.netOutBytes - before.netOutBytes,
    calls,
  };
}
