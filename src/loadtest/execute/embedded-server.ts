import { type ChildProcess, fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { TimeoutError } from '../../util/wait.js';
import { Gauge } from '../metrics/gauge.js';
import {
  parseServerMessage,
  type ServerProcessCommand,
  type ServerProcessConfig,
  type ServerProcessMessage,
} from './server-messages.js';

export interface EmbeddedServerOptions extends ServerProcessConfig {
  /** Called at most once, when the process ends or breaks before close(). */
  onFailed: (reason: string) => void;
  startTimeoutMs?: number;
  closeTimeoutMs?: number;
}

/** The latest reading of the server process's own accounting. */
export interface ServerUsage {
  /** Over the interval since the reading before; undefined for the first one. */
  cpuPct: number | undefined;
  rssMb: number;
  sockets: number;
}

/** The compiled child entry: next to this file in dist/, or dist/ itself under the test runner. */
function serverEntry(): string {
  const sibling = new URL('./server-process.js', import.meta.url);
  if (existsSync(fileURLToPath(sibling))) return fileURLToPath(sibling);
  const built = new URL('../../../dist/loadtest/execute/server-process.js', import.meta.url);
  if (existsSync(fileURLToPath(built))) return fileURLToPath(built);
  throw new Error('the embedded server entry is not built; run `npm run build`');
}

/**
 * `engage serve` for a run without --url: the same SignalingServer in a child process on a free loopback
 * port. Its CPU is measured by the child itself (process.cpuUsage, which a worker thread would share
 * with the generator) and reported once a second, so the summary shows the server's CPU and the
 * generator's apart, and the saturation check blames the generator only for its own.
 */
export class EmbeddedServer {
  /** CPU % of one core, one reading per report (like the generator's). */
  readonly cpuPct = new Gauge();
  readonly rssMb = new Gauge();
  peakSockets = 0;
  private latest: ServerUsage | undefined;
  private lastCpu: { cpuUs: number; atMs: number } | undefined;
  private closing: Promise<void> | undefined;
  private exited = false;

  private _url = '';

  private constructor(
    private readonly child: ChildProcess,
    private readonly closeTimeoutMs: number,
  ) {}

  static async start(options: EmbeddedServerOptions): Promise<EmbeddedServer> {
    const config: ServerProcessConfig = { maxRoomSize: options.maxRoomSize, logLevel: options.logLevel };
    // No execArgv: the parent's flags (a test runner's loaders, --inspect) are not the server's.
    const child = fork(serverEntry(), [JSON.stringify(config)], {
      execArgv: [],
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    const server = new EmbeddedServer(child, options.closeTimeoutMs ?? 5000);
    const startTimeoutMs = options.startTimeoutMs ?? 15_000;
    let failed = false;
    const fail = (reason: string) => {
      if (failed || server.closing) return;
      failed = true;
      options.onFailed(reason);
    };
    const listening = new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new TimeoutError('the embedded server to listen', startTimeoutMs)),
        startTimeoutMs,
      );
      const settle = (fn: () => void) => {
        clearTimeout(timer);
        fn();
      };
      child.on('message', (m: unknown) => {
        const message = parseServerMessage(m);
        if (!message) return fail('sent a message that is not a server report');
        switch (message.type) {
          case 'listening':
            return settle(() => resolve(message.url));
          case 'usage':
            return server.record(message);
          case 'failed':
            settle(() => reject(new Error(`the embedded server could not start: ${message.reason}`)));
            return fail(message.reason);
        }
      });
      child.on('error', (err) => {
        settle(() => reject(err));
        fail(`could not run: ${err.message}`);
      });
      child.on('exit', (code, signal) => {
        server.exited = true;
        const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
        settle(() => reject(new Error(`the embedded server ${how} before it listened`)));
        fail(`${how} during the run`);
      });
    });
    try {
      server._url = await listening;
      return server;
    } catch (err) {
      // Failing to start is the caller's error to handle, not a failure during the run.
      failed = true;
      child.kill('SIGKILL');
      throw err;
    }
  }

  get url(): string {
    return this._url;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get usage(): ServerUsage | undefined {
    return this.latest;
  }

  get closed(): boolean {
    return this.closing !== undefined;
  }

  /** Asks the server to close every socket and end; kills it when it has not ended in time. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.exited || this.child.exitCode !== null || this.child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
      const command: ServerProcessCommand = { type: 'close' };
      if (this.child.connected) this.child.send(command, (err) => err && this.child.kill('SIGKILL'));
      else this.child.kill('SIGKILL');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), this.closeTimeoutMs);
      try {
        await exited;
      } finally {
        clearTimeout(timer);
      }
    })();
    return this.closing;
  }

  private record(m: Extract<ServerProcessMessage, { type: 'usage' }>): void {
    let cpuPct: number | undefined;
    const last = this.lastCpu;
    // As for the generator: CPU time is accounted in scheduler ticks, so a short interval reads far off.
    if (!last || m.atMs - last.atMs >= 500) {
      if (last) cpuPct = ((m.cpuUs - last.cpuUs) / 1000 / (m.atMs - last.atMs)) * 100;
      this.lastCpu = { cpuUs: m.cpuUs, atMs: m.atMs };
    }
    if (cpuPct !== undefined) this.cpuPct.add(cpuPct);
    this.rssMb.add(m.rssMb);
    this.peakSockets = Math.max(this.peakSockets, m.peakSockets);
    this.latest = { cpuPct: cpuPct ?? this.latest?.cpuPct, rssMb: m.rssMb, sockets: m.sockets };
  }
}
