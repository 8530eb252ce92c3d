import { availableParallelism } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { BrowserUsage } from '../browsers/chromium.js';
import type { RunAggregate } from '../metrics/aggregate.js';
import { machineBusyPct, readMachineCpu } from '../metrics/machine-cpu.js';
import type { ServerUsage } from './embedded-server.js';

export interface SamplerOptions {
  agg: RunAggregate;
  /** The embedded server's latest reading of itself; absent with --url. */
  serverUsage?: () => ServerUsage | undefined;
  /** The browser participants' Chromium, read now; absent without --browsers. */
  browserUsage?: () => BrowserUsage | undefined;
  /** Several --url instances: each one's connected sockets as last read. */
  instanceSockets?: () => number[];
  /** After each point, with the seconds since the run started (progress lines). */
  onTick?: (elapsedS: number) => void;
  /** A tick threw: the run must end (the error is the caller's to report). */
  onError: (err: unknown) => void;
}

/**
 * The run's clock: once a second it reads the generator's own health (this process's CPU, so the main
 * thread and every worker but never the embedded server's process; its RSS; the main thread's
 * event-loop lag) and takes the aggregate's time-series point. close() stops it; idempotent.
 */
export class RunSampler {
  private readonly t0 = performance.now();
  private readonly lag = monitorEventLoopDelay({ resolution: 10 });
  private readonly machineAtStart = readMachineCpu();
  private readonly timer: NodeJS.Timeout;
  private cpuBase = process.cpuUsage();
  private cpuAt = performance.now();
  private closed = false;

  constructor(private readonly options: SamplerOptions) {
    this.lag.enable();
    this.timer = setInterval(() => {
      try {
        this.tick();
      } catch (err) {
        this.close();
        options.onError(err);
      }
    }, 1000);
  }

  elapsedS(): number {
    return (performance.now() - this.t0) / 1000;
  }

  /** Takes a point now (the last one, after the bots left). */
  tick(): void {
    if (this.closed) return;
    const now = performance.now();
    // The kernel accounts CPU time in scheduler ticks, so a short last interval (the final tick after the
    // bots left) reads far off, even above 100% per core: such a reading is left out of the CPU figures.
    let cpuPct: number | undefined;
    if (now - this.cpuAt >= 500) {
      const cpu = process.cpuUsage(this.cpuBase);
      cpuPct = ((cpu.user + cpu.system) / 1000 / (now - this.cpuAt)) * 100;
      this.cpuBase = process.cpuUsage();
      this.cpuAt = now;
    }
    const generator = {
      cpuPct,
      rssMb: process.memoryUsage.rss() / 1024 / 1024,
      mainLoopLagMs: this.lag.percentile(99) / 1e6,
    };
    this.lag.reset();
    const server = this.options.serverUsage?.();
    this.options.agg.tick(
      Math.round(this.elapsedS()),
      generator,
      this.options.serverUsage ? { cpuPct: server?.cpuPct } : undefined,
      this.options.browserUsage?.(),
      this.options.instanceSockets?.(),
    );
    this.options.onTick?.(this.elapsedS());
  }

  /** The whole machine's busy CPU since the run started, % of one core; undefined off Linux. */
  machineCpuPct(): number | undefined {
    const now = readMachineCpu();
    return this.machineAtStart && now
      ? machineBusyPct(this.machineAtStart, now, availableParallelism())
      : undefined;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    this.lag.disable();
  }
}
