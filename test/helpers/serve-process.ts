import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../bin/engage.js', import.meta.url));

/**
 * A real `engage serve` process (the built CLI, as a user runs it; build first), watched for any exit:
 * what the fuzz test hammers and what the cluster tests kill with -9.
 */
export class ServeProcess {
  stderr = '';
  /** Set when the process exits, for whatever reason. */
  exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private readonly exited: Promise<void>;

  private constructor(
    private readonly child: ChildProcess,
    readonly url: string,
  ) {
    child.stderr!.on('data', (d) => {
      this.stderr += d;
    });
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        this.exit = { code, signal };
        resolve();
      }),
    );
  }

  /** `engage serve --port 0 ...args`; resolves once it prints its URL. */
  static async start(args: string[], env: NodeJS.ProcessEnv = {}): Promise<ServeProcess> {
    const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    });
    let out = '';
    let early = '';
    const onErr = (d: Buffer) => {
      early += d;
    };
    child.stderr!.on('data', onErr);
    const url = await new Promise<string>((resolve, reject) => {
      const onData = (d: Buffer) => {
        out += d;
        const found = /ws:\/\/127\.0\.0\.1:\d+/.exec(out)?.[0];
        if (found) {
          child.stdout!.off('data', onData);
          child.off('exit', onExit);
          resolve(found);
        }
      };
      const onExit = () => reject(new Error(`engage serve exited before printing its URL: ${out}${early}`));
      child.stdout!.on('data', onData);
      child.once('exit', onExit);
    });
    child.stderr!.off('data', onErr);
    // Keep draining stdout so the child can never block on a full pipe.
    child.stdout!.resume();
    const p = new ServeProcess(child, url);
    p.stderr = early;
    return p;
  }

  get pid(): number {
    return this.child.pid!;
  }

  get http(): string {
    return this.url.replace(/^ws/, 'http');
  }

  async metric(line: string): Promise<number> {
    const text = await this.metrics();
    const escaped = line.replace(/[{}]/g, '\\$&');
    const m = new RegExp(`^${escaped} (\\S+)$`, 'm').exec(text);
    if (!m) throw new Error(`no metric ${line} in /metrics`);
    return Number(m[1]);
  }

  async metrics(): Promise<string> {
    return (await fetch(`${this.http}/metrics`)).text();
  }

  async health(): Promise<{
    status: string;
    rooms: number;
    sockets: number;
    uncaught_errors: number;
    instance?: string;
    engine?: string;
  }> {
    return (await fetch(`${this.http}/healthz`)).json() as never;
  }

  /** The HTTP status of /healthz (200 while it serves rooms, 503 otherwise). */
  async healthStatus(): Promise<number> {
    const res = await fetch(`${this.http}/healthz`);
    await res.arrayBuffer();
    return res.status;
  }

  /** Ctrl-C, as a user stops it; resolves with the exit code. */
  async stop(): Promise<number | null> {
    if (!this.exit) {
      this.child.kill('SIGINT');
      await this.exited;
    }
    return this.exit!.code;
  }

  /** kill -9: no cleanup of any kind; resolves once it is gone. */
  async kill(): Promise<void> {
    if (this.exit) return;
    this.child.kill('SIGCONT');
    this.child.kill('SIGKILL');
    await this.exited;
  }

  pause(): void {
    if (!this.exit) this.child.kill('SIGSTOP');
  }

  resume(): void {
    if (!this.exit) this.child.kill('SIGCONT');
  }
}
