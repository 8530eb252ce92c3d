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

/** One forked server process. */
interface ServerChild {
  process: ChildProcess;
  exited: Promise<void>;
  /** Killed on purpose by restart(): its death is not a failure. */
  planned: boolean;
}

/** The test hook's variable: see EmbeddedServer.runStarted(). */
export const RESTART_HOOK_ENV = 'ENGAGE_TEST_RESTART_SERVER_AT_MS';

/**
 * ENGAGE_TEST_RESTART_SERVER_AT_MS=<ms>: the test hook that restarts the embedded server that long after
 * the run's clock started. Undefined when unset.
 */
export function plannedRestartFromEnv(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const value = env[RESTART_HOOK_ENV];
  if (value === undefined || value === '') return undefined;
  const ms = Number(value);
  if (!Number.isFinite(ms) || ms < 0)
    throw new Error(`${RESTART_HOOK_ENV} must be a number of milliseconds, got ${JSON.stringify(value)}`);
  return ms;
}

/**
 * `engage serve` for a run without --url: the same SignalingServer in a child process on a free loopback
 * port. Its CPU is measured by the child itself (process.cpuUsage, which a worker thread would share
 * with the generator) and reported once a second, so the summary shows the server's CPU and the
 * generator's apart, and the saturation check blames the generator only for its own.
 *
 * A death of its process during the run is a failure of the run, except a restart() asked for on
 * purpose (the test hook): that one is killed with SIGKILL, as a crash would be, and a new process
 * listens on the same port, so bots reconnect to the same URL.
 */
export class EmbeddedServer {
  /** CPU % of one core, one reading per report (like the generator's). */
  readonly cpuPct = new Gauge();
  readonly rssMb = new Gauge();
  peakSockets = 0;
  /** Completed restarts (restart()). */
  restarts = 0;
  private latest: ServerUsage | undefined;
  private lastCpu: { child: ChildProcess; cpuUs: number; atMs: number } | undefined;
  private closing: Promise<void> | undefined;
  private failed = false;
  private current: ServerChild | undefined;
  /** A process being started by restart(), not listening yet. */
  private pending: ServerChild | undefined;
  private restarting: Promise<void> | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private _url = '';

  private constructor(private readonly options: EmbeddedServerOptions) {}

  static async start(options: EmbeddedServerOptions): Promise<EmbeddedServer> {
    const server = new EmbeddedServer(options);
    // Failing to start is the caller's error to handle (it throws), not a failure during the run.
    const { child, url } = await server.spawn(0);
    server.current = child;
    server._url = url;
    return server;
  }

  get url(): string {
    return this._url;
  }

  get pid(): number | undefined {
    return this.current?.process.pid;
  }

  get usage(): ServerUsage | undefined {
    return this.latest;
  }

  get closed(): boolean {
    return this.closing !== undefined;
  }

  /**
   * The run's clock has started. With the test hook set (ENGAGE_TEST_RESTART_SERVER_AT_MS), the server
   * is restarted that long after; a restart that fails is a failure of the run.
   */
  runStarted(env: NodeJS.ProcessEnv = process.env): void {
    const atMs = plannedRestartFromEnv(env);
    if (atMs === undefined || this.closing) return;
    clearTimeout(this.restartTimer);
    this.restartTimer = setTimeout(() => {
      this.restart().catch((err: unknown) => {
        if (!this.closing)
          this.fail(`could not restart: ${err instanceof Error ? err.message : String(err)}`);
      });
    }, atMs);
  }

  /**
   * Kills the server process with SIGKILL (to its clients, a crash: sockets reset, no goodbye) and starts
   * a new one on the same port. Resolves once the new one listens; rejects when it could not start.
   */
  restart(): Promise<void> {
    if (this.closing) return Promise.reject(new Error('the embedded server is closed'));
    this.restarting ??= (async () => {
      const old = this.current!;
      old.planned = true;
      old.process.kill('SIGKILL');
      await old.exited;
      if (this.closing) return;
      const { child } = await this.spawn(Number(new URL(this._url).port));
      if (this.closing) {
        child.planned = true;
        child.process.kill('SIGKILL');
        return;
      }
      this.current = child;
      this.restarts++;
    })().finally(() => {
      this.restarting = undefined;
    });
    return this.restarting;
  }

  /** Asks the server to close every socket and end; kills it when it has not ended in time. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      clearTimeout(this.restartTimer);
      // A restart under way ends at once: the process it is starting is killed, then it settles.
      this.pending?.process.kill('SIGKILL');
      await this.restarting?.catch(() => {});
      if (this.current) await this.stop(this.current);
    })();
    return this.closing;
  }

  private async stop(child: ServerChild): Promise<void> {
    const p = child.process;
    if (p.exitCode !== null || p.signalCode !== null) return;
    const command: ServerProcessCommand = { type: 'close' };
    if (p.connected) p.send(command, (err) => err && p.kill('SIGKILL'));
    else p.kill('SIGKILL');
    const timer = setTimeout(() => p.kill('SIGKILL'), this.options.closeTimeoutMs ?? 5000);
    try {
      await child.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Called at most once: the run's server broke (not while closing, not a planned restart). */
  private fail(reason: string): void {
    if (this.failed || this.closing) return;
    this.failed = true;
    this.options.onFailed(reason);
  }

  /**
   * Forks one server process on `port` and resolves when it listens; rejects (its process killed) when
   * it does not. Once it listens, its death is a failure unless planned.
   */
  private async spawn(port: number): Promise<{ child: ServerChild; url: string }> {
    const config: ServerProcessConfig = {
      maxRoomSize: this.options.maxRoomSize,
      logLevel: this.options.logLevel,
      port,
    };
    // No execArgv: the parent's flags (a test runner's loaders, --inspect) are not the server's.
    const proc = fork(serverEntry(), [JSON.stringify(config)], {
      execArgv: [],
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    const child: ServerChild = { process: proc, exited, planned: false };
    this.pending = child;
    let listened = false;
    const failedAfterListening = (reason: string) => {
      if (listened && !child.planned) this.fail(reason);
    };
    const startTimeoutMs = this.options.startTimeoutMs ?? 15_000;
    const listening = new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new TimeoutError('the embedded server to listen', startTimeoutMs)),
        startTimeoutMs,
      );
      const settle = (fn: () => void) => {
        clearTimeout(timer);
        fn();
      };
      proc.on('message', (m: unknown) => {
        const message = parseServerMessage(m);
        if (!message) {
          const reason = 'sent a message that is not a server report';
          settle(() => reject(new Error(`the embedded server ${reason}`)));
          return failedAfterListening(reason);
        }
        switch (message.type) {
          case 'listening':
            listened = true;
            return settle(() => resolve(message.url));
          case 'usage':
            if (!child.planned) this.record(proc, message);
            return;
          case 'failed':
            settle(() => reject(new Error(`the embedded server could not start: ${message.reason}`)));
            return failedAfterListening(message.reason);
        }
      });
      proc.on('error', (err) => {
        settle(() => reject(err));
        failedAfterListening(`could not run: ${err.message}`);
      });
      proc.on('exit', (code, signal) => {
        const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
        settle(() => reject(new Error(`the embedded server ${how} before it listened`)));
        failedAfterListening(`${how} during the run`);
      });
    });
    try {
      return { child, url: await listening };
    } catch (err) {
      child.planned = true;
      proc.kill('SIGKILL');
      throw err;
    } finally {
      if (this.pending === child) this.pending = undefined;
    }
  }

  private record(child: ChildProcess, m: Extract<ServerProcessMessage, { type: 'usage' }>): void {
    let cpuPct: number | undefined;
    // A new process's CPU time starts from zero: its first reading starts a new interval.
    const last = this.lastCpu?.child === child ? this.lastCpu : undefined;
    // As for the generator: CPU time is accounted in scheduler ticks, so a short interval reads far off.
    if (!last || m.atMs - last.atMs >= 500) {
      if (last) cpuPct = ((m.cpuUs - last.cpuUs) / 1000 / (m.atMs - last.atMs)) * 100;
      this.lastCpu = { child, cpuUs: m.cpuUs, atMs: m.atMs };
    }
    if (cpuPct !== undefined) this.cpuPct.add(cpuPct);
    this.rssMb.add(m.rssMb);
    this.peakSockets = Math.max(this.peakSockets, m.peakSockets);
    this.latest = { cpuPct: cpuPct ?? this.latest?.cpuPct, rssMb: m.rssMb, sockets: m.sockets };
  }
}
