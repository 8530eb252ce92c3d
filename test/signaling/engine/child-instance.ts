import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { RedisEngineOptions } from '../../../src/signaling/engine/redis.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/instance.mjs', import.meta.url));
const BUILT = fileURLToPath(new URL('../../../dist/signaling/engine/index.js', import.meta.url));

// biome-ignore lint/suspicious/noExplicitAny: the child's JSON lines, inspected by the test
export type ChildMessage = { type: string; [field: string]: any };

/** A room-engine instance in its own process (fixtures/instance.mjs): the thing a test kills with -9. */
export class ChildInstance {
  readonly messages: ChildMessage[] = [];
  private waiters = new Set<() => void>();
  private stderr = '';

  private constructor(private readonly child: ChildProcess) {
    let buffered = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
        this.messages.push(JSON.parse(buffered.slice(0, nl)) as ChildMessage);
        buffered = buffered.slice(nl + 1);
      }
      for (const w of [...this.waiters]) w();
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      this.stderr += chunk.toString();
    });
  }

  static async start(config: {
    url: string;
    instanceId: string;
    members: Array<{ room: string; name: string }>;
    engine?: Partial<RedisEngineOptions>;
  }): Promise<{ child: ChildInstance; ready: ChildMessage }> {
    if (!existsSync(BUILT)) throw new Error('dist/ is missing: run `npm run build` (npm test does) first');
    const proc = spawn(process.execPath, [FIXTURE, JSON.stringify(config)], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const child = new ChildInstance(proc);
    const ready = await child.next((m) => m.type === 'ready', 'the child instance to be ready');
    return { child, ready };
  }

  next(match: (m: ChildMessage) => boolean, what: string, ms = 15_000): Promise<ChildMessage> {
    const found = () => this.messages.find(match);
    const now = found();
    if (now) return Promise.resolve(now);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`timed out after ${ms} ms waiting for ${what}; child stderr:\n${this.stderr}`));
      }, ms);
      const waiter = () => {
        const m = found();
        if (!m) return;
        clearTimeout(timer);
        this.waiters.delete(waiter);
        resolve(m);
      };
      this.waiters.add(waiter);
      this.child.once('exit', (code) => {
        if (!this.waiters.has(waiter)) return;
        clearTimeout(timer);
        this.waiters.delete(waiter);
        reject(new Error(`child exited (${code}) while waiting for ${what}:\n${this.stderr}`));
      });
    });
  }

  command(line: string): void {
    this.child.stdin?.write(`${line}\n`);
  }

  pause(): void {
    this.child.kill('SIGSTOP');
  }

  resume(): void {
    this.child.kill('SIGCONT');
  }

  /** kill -9: no cleanup of any kind. */
  async kill(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGCONT');
    this.child.kill('SIGKILL');
    await exited;
  }

  async exited(): Promise<number | null> {
    if (this.child.exitCode !== null) return this.child.exitCode;
    return new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }
}
