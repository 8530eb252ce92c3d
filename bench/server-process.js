/**
 * The servers under test of bench/signaling.js, each in a child process of its own (bench/server-child.js),
 * spoken to over IPC. Every child is killed when the bench exits, however it exits.
 */
import { fork } from 'node:child_process';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

const SERVER_CHILD = fileURLToPath(new URL('./server-child.js', import.meta.url));

const children = new Set();

export class ServerProcess {
  static async start(kind, options = {}, profileDir) {
    const execArgv = [
      '--expose-gc',
      ...(process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean),
    ];
    if (profileDir) execArgv.push('--cpu-prof', `--cpu-prof-dir=${path.join(profileDir, kind)}`);
    const child = fork(SERVER_CHILD, [JSON.stringify({ kind, ...options })], {
      execArgv,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    children.add(child);
    const proc = new ServerProcess(kind, child);
    const ready = await proc.waitFor(0, 15_000);
    proc.url = ready.url;
    return proc;
  }

  constructor(kind, child) {
    this.kind = kind;
    this.child = child;
    this.nextId = 1;
    this.pending = new Map();
    this.exited = new Promise((resolve) => child.once('exit', resolve));
    child.on('message', (m) => {
      const waiter = this.pending.get(m.id);
      if (waiter) {
        this.pending.delete(m.id);
        waiter.resolve(m);
      }
    });
    child.once('exit', (code, signal) => {
      children.delete(child);
      for (const w of this.pending.values()) w.reject(new Error(`${kind} server exited (${code ?? signal})`));
      this.pending.clear();
    });
  }

  waitFor(id, timeoutMs) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${this.kind} server did not answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, {
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
    });
  }

  async request(cmd, timeoutMs = 15_000) {
    const id = this.nextId++;
    const answer = this.waitFor(id, timeoutMs);
    this.child.send({ id, cmd });
    const m = await answer;
    if (m.error) throw new Error(m.error);
    return m;
  }

  async close() {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      if (this.child.connected) this.child.send({ id: -1, cmd: 'close' });
      const exited = await Promise.race([this.exited.then(() => true), sleep(5000).then(() => false)]);
      if (!exited) {
        this.child.kill('SIGKILL');
        await this.exited;
      }
    }
  }

  /** Waits (bounded) until the server counts `n` open sockets. */
  async waitSockets(n, timeoutMs = 10_000) {
    const until = performance.now() + timeoutMs;
    let seen;
    do {
      seen = (await this.request('sockets')).sockets;
      if (seen === n) return;
      await sleep(20);
    } while (performance.now() < until);
    throw new Error(`${this.kind} server has ${seen} sockets, expected ${n}`);
  }
}

export function killChildren() {
  for (const child of children) child.kill('SIGKILL');
}
process.on('exit', killChildren);
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    killChildren();
    process.exit(130);
  });
}

/** Starts a server, runs `fn` with it, and always closes it. */
export async function withServer(kind, options, profileDir, fn) {
  const server = await ServerProcess.start(kind, options, profileDir);
  try {
    return await fn(server);
  } finally {
    await server.close();
  }
}
