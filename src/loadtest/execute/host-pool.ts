import type { BrowserHost, BrowserHostOptions } from '../browsers/browser-host.js';
import type { BrowserUsage } from '../browsers/chromium.js';
import { type FailOnPurpose, type HostHandle, startLocalHost, startWorkerHost } from './hosts.js';
import type { BotSpec, HostEvent, PoolEvent } from './messages.js';

export interface HostPoolOptions {
  /** Worker threads to start; 0 runs the bots on this thread instead. */
  workers: number;
  /** Every host's events, and `host_failed`, in the order they happen. */
  onEvent: (event: PoolEvent) => void;
  /** Test hook: this worker breaks once one of its bots has joined. */
  failOnPurpose?: { host: number; how: FailOnPurpose };
  /** Browser participants (--browsers): one more host, after the bots' ones, running Chromium. */
  browsers?: BrowserHostOptions;
}

/**
 * The test hook, read from ENGAGE_TEST_FAIL_WORKER: `<host>` makes that worker throw once one of its
 * bots has joined, `<host>:exit` makes it exit instead. Tests use it to see a crashed worker reported.
 */
export function failOnPurposeFromEnv(
  value = process.env.ENGAGE_TEST_FAIL_WORKER,
): HostPoolOptions['failOnPurpose'] {
  const m = value === undefined ? null : /^(\d+)(?::(throw|exit))?$/.exec(value.trim());
  return m ? { host: Number(m[1]), how: (m[2] as FailOnPurpose | undefined) ?? 'throw' } : undefined;
}

interface Host {
  handle: HostHandle | undefined;
  ready: boolean;
  state: 'running' | 'stopped' | 'failed';
  /** Bots started here that have neither left nor failed: what a failure of this host takes down. */
  bots: Set<string>;
}

/**
 * The hosts bots run on, one per worker thread. It hands bots to hosts round robin, turns a host's
 * death into a `host_failed` event naming the bots it took down, and closes every worker on close().
 */
export class HostPool {
  private readonly hosts: Host[] = [];
  private readonly onEvent: (event: PoolEvent) => void;
  readonly kind: HostHandle['kind'];
  /** Hosts of bots; a browser host, when there is one, comes after them. */
  private botHosts = 0;
  private browserHost: BrowserHost | undefined;
  private closing: Promise<void> | undefined;
  private settled: (() => void) | undefined;
  private allReady: (() => void) | undefined;

  /** Starts the hosts; they load in the background (see ready()). */
  static async start(options: HostPoolOptions): Promise<HostPool> {
    const pool = new HostPool(options);
    try {
      await pool.startHosts(options);
    } catch (err) {
      // A pool half made is still closed: workers already started must not outlive the failed start.
      await pool.close();
      throw err;
    }
    return pool;
  }

  private constructor(options: HostPoolOptions) {
    this.onEvent = options.onEvent;
    this.kind = options.workers === 0 ? 'main thread' : 'worker thread';
  }

  private async startHosts(options: HostPoolOptions): Promise<void> {
    const count = Math.max(1, options.workers);
    for (let index = 0; index < count; index++) {
      const listener = {
        message: (m: { events: HostEvent[] }) => {
          for (const event of m.events) this.hostEvent(index, event);
        },
        failed: (reason: string) => this.hostFailed(index, reason),
      };
      const fail = options.failOnPurpose?.host === index ? options.failOnPurpose.how : undefined;
      // The record exists before the host does: a host on this thread reports ready as it is made.
      const host: Host = { handle: undefined, ready: false, state: 'running', bots: new Set() };
      this.hosts.push(host);
      host.handle =
        options.workers === 0
          ? await startLocalHost(listener)
          : startWorkerHost({ index, ...(fail ? { failOnPurpose: fail } : {}) }, listener);
    }
    this.botHosts = count;
    if (options.browsers) await this.startBrowserHost(options.browsers);
  }

  private async startBrowserHost(options: BrowserHostOptions): Promise<void> {
    const index = this.hosts.length;
    const host: Host = { handle: undefined, ready: false, state: 'running', bots: new Set() };
    this.hosts.push(host);
    // Loaded only for a run with browsers: playwright-core is not needed otherwise.
    const { BrowserHost } = await import('../browsers/browser-host.js');
    this.browserHost = await BrowserHost.start(options, {
      message: (m) => {
        for (const event of m.events) this.hostEvent(index, event);
      },
      failed: (reason) => this.hostFailed(index, reason),
    });
    host.handle = this.browserHost;
  }

  /** The host number of the browser participants, if any (its events are theirs). */
  get browserHostIndex(): number | undefined {
    return this.browserHost ? this.botHosts : undefined;
  }

  /** The browser participants' Chromium: CPU and memory now, or undefined without browsers. */
  browserUsage(): BrowserUsage | undefined {
    return this.browserHost?.usage();
  }

  get size(): number {
    return this.hosts.length;
  }

  get closed(): boolean {
    return this.closing !== undefined;
  }

  /**
   * Resolves when every host has loaded and takes bots (a worker's start-up is seconds on a busy
   * machine, and must not eat into the plan), or has failed trying.
   */
  ready(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.allReady = resolve;
      this.checkReady();
    });
  }

  /** Which host bot number `index` of the plan runs on (a browser participant: the browser host). */
  hostOf(index: number, browser = false): number {
    return browser && this.browserHost ? this.botHosts : index % this.botHosts;
  }

  /**
   * Starts a bot on its host; false when that host has failed or stopped (the bot is then never
   * started, and the run says so).
   */
  start(index: number, spec: BotSpec): boolean {
    if (this.closing) throw new Error(`cannot start ${spec.name}: the host pool is closed`);
    const host = this.hosts[this.hostOf(index, spec.browser === true)]!;
    if (host.state !== 'running') return false;
    host.bots.add(spec.name);
    host.handle!.send({ type: 'start', spec });
    return true;
  }

  /** Asks every host to let its bots leave cleanly; resolves when each has stopped or failed. */
  stop(): Promise<void> {
    const done = new Promise<void>((resolve) => {
      this.settled = resolve;
    });
    for (const host of this.hosts) if (host.state === 'running') host.handle!.send({ type: 'stop' });
    this.checkSettled();
    return done;
  }

  /** Ends every host at once, stragglers included. Idempotent. */
  close(): Promise<void> {
    this.closing ??= Promise.allSettled(this.hosts.map((h) => h.handle?.close())).then(() => {
      this.settled?.();
      this.allReady?.();
    });
    return this.closing;
  }

  private hostEvent(index: number, event: HostEvent): void {
    const host = this.hosts[index]!;
    if (host.state === 'failed') return;
    if (event.type === 'ready') {
      host.ready = true;
      this.checkReady();
      return;
    }
    if (event.type === 'bot' && event.state !== 'joined') host.bots.delete(event.bot);
    this.onEvent({ type: 'host_event', host: index, event });
    if (event.type === 'stopped') {
      host.state = 'stopped';
      this.checkSettled();
    }
  }

  private hostFailed(index: number, reason: string): void {
    const host = this.hosts[index]!;
    if (host.state === 'failed') return;
    host.state = 'failed';
    const bots = [...host.bots];
    host.bots.clear();
    this.onEvent({ type: 'host_failed', host: index, reason, bots });
    this.checkSettled();
    this.checkReady();
  }

  private checkReady(): void {
    if (this.allReady && this.hosts.every((h) => h.ready || h.state !== 'running')) this.allReady();
  }

  private checkSettled(): void {
    if (this.settled && this.hosts.every((h) => h.state !== 'running')) this.settled();
  }
}
