import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../../bin/engage.js', import.meta.url));

/** A real `engage serve` process (the built CLI, as a user runs it), watched for any exit. */
export class ServeProcess {
  stderr = '';
  /** Set when the process exits, for whatever reason. */
  exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;

  private constructor(
    private readonly child: ChildProcess,
    readonly url: string,
  ) {
    child.stderr!.on('data', (d) => {
      this.stderr += d;
    });
    child.once('exit', (code, signal) => {
      this.exit = { code, signal };
    });
  }

  static async start(args: string[]): Promise<ServeProcess> {
    const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
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

  get http(): string {
    return this.url.replace(/^ws/, 'http');
  }

  async metric(line: string): Promise<number> {
    const text = await (await fetch(`${this.http}/metrics`)).text();
    const escaped = line.replace(/[{}]/g, '\\$&');
    const m = new RegExp(`^${escaped} (\\S+)$`, 'm').exec(text);
    if (!m) throw new Error(`no metric ${line} in /metrics`);
    return Number(m[1]);
  }

  async metrics(): Promise<string> {
    return (await fetch(`${this.http}/metrics`)).text();
  }

  async health(): Promise<{ status: string; rooms: number; sockets: number; uncaught_errors: number }> {
    return (await fetch(`${this.http}/healthz`)).json() as never;
  }

  /** Ctrl-C, as a user stops it; resolves with the exit code. */
  async stop(): Promise<number | null> {
    if (!this.exit) {
      this.child.kill('SIGINT');
      await once(this.child, 'exit');
    }
    return this.exit!.code;
  }

  kill(): void {
    if (!this.exit) this.child.kill('SIGKILL');
  }
}
