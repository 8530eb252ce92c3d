import { availableParallelism } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { SignalingServer } from '../signaling/server.js';
import { silentLogger } from '../util/log.js';
import { type HostHandle, startLocalHost, startWorkerHost } from './execute/hosts.js';
import type { BotSpec, HostEvent } from './execute/messages.js';
import { RunAggregate } from './metrics/aggregate.js';
import type { GaugeName, TrendName } from './metrics/catalogue.js';
import { machineBusyPct, readMachineCpu } from './metrics/machine-cpu.js';
import { fetchServerMetrics, parsePrometheus, serverSummary } from './metrics/server-metrics.js';
import type { GaugeStats, RunSummary, ServerSummary } from './metrics/summary.js';
import { checkThresholds, parseThresholds } from './metrics/thresholds.js';
import { percentileOf, type TrendStats } from './metrics/trend.js';
import { describeMedia } from './plan/media-profile.js';
import { type LoadtestOptions, resolveSettings } from './plan/options.js';
import { makePlan } from './plan/plan.js';

export type { LoadtestOptions };

export interface LoadtestIo {
  signal: AbortSignal;
  /** Called once a second with a progress snapshot. */
  progress?: (p: Progress) => void;
}

export interface Progress {
  elapsedS: number;
  phase: 'ramp' | 'steady' | 'leaving';
  botsJoined: number;
  botsTarget: number;
  linksConnected: number;
  linksExpected: number;
  errors: number;
  botsFailed: number;
}

export interface LoadtestResult {
  summary: RunSummary;
  failedThresholds: number;
}

const SATURATION_CPU = 0.85;
const SATURATION_LAG_MS = 200;

/**
 * `engage loadtest`: plans bots over rooms, runs them in worker threads, folds their samples into
 * metrics, and returns the summary. Thresholds are parsed before anything starts.
 */
export async function runLoadtest(opts: LoadtestOptions, io: LoadtestIo): Promise<LoadtestResult> {
  const settings = resolveSettings(opts);
  const thresholds = parseThresholds(opts.thresholds);
  const plan = makePlan({ bots: opts.bots, rooms: opts.rooms, rampPerS: opts.rampPerS });
  const mode = opts.signalingOnly ? 'signaling-only' : 'media';
  const video = opts.signalingOnly ? 'none' : opts.video;
  const audio = opts.signalingOnly ? 'none' : opts.audio;
  const media = opts.signalingOnly ? 'none (signaling only)' : await describeMedia(video, audio);
  const largestRoom = Math.max(...[...plan.rooms.values()].map((r) => r.length));
  const cores = availableParallelism();
  const workers = Math.min(opts.workers ?? cores, plan.bots.length);
  const log = (opts.logger ?? silentLogger).child({ component: 'loadtest', run: plan.runId });

  const server = opts.url
    ? undefined
    : await SignalingServer.start({
        host: '127.0.0.1',
        port: 0,
        maxRoomSize: Math.max(50, largestRoom),
        logger: opts.logger,
      });
  const url = opts.url ?? server!.url;
  const remoteBefore = server ? undefined : await fetchServerMetrics(url);

  const agg = new RunAggregate();
  agg.plan(plan.rooms);
  const hosts: HostHandle[] = [];
  const stopped = new Set<HostHandle>();
  let onAllStopped: (() => void) | undefined;
  const onEvent = (e: HostEvent, source: HostHandle) => {
    agg.add(e, source);
    if (e.type === 'stopped') {
      stopped.add(source);
      if (stopped.size === hosts.length) onAllStopped?.();
    }
  };
  const onWorkerError = (err: Error) => log.error({ err }, 'worker failed');
  for (let i = 0; i < Math.max(1, workers); i++) {
    hosts.push(workers === 0 ? startLocalHost(onEvent) : startWorkerHost(onEvent, onWorkerError));
  }

  const startedAt = new Date();
  const t0 = performance.now();
  const elapsedS = () => (performance.now() - t0) / 1000;
  let phase: Progress['phase'] = 'ramp';
  let peakSockets = 0;

  // Generator health, once a second: the whole process (all threads), the main loop and each host's loop.
  const lag = monitorEventLoopDelay({ resolution: 10 });
  lag.enable();
  const machineAtStart = readMachineCpu();
  let cpuBase = process.cpuUsage();
  let cpuAt = performance.now();
  const tick = () => {
    const now = performance.now();
    // The kernel accounts CPU time in scheduler ticks, so a short last interval (the final tick after the
    // bots left) reads far off, even above 100% per core: such a reading is left out of the CPU figures.
    let cpuPct: number | undefined;
    if (now - cpuAt >= 500) {
      const cpu = process.cpuUsage(cpuBase);
      cpuPct = ((cpu.user + cpu.system) / 1000 / (now - cpuAt)) * 100;
      cpuBase = process.cpuUsage();
      cpuAt = now;
    }
    agg.tick(Math.round(elapsedS()), {
      cpuPct,
      rssMb: process.memoryUsage.rss() / 1024 / 1024,
      mainLoopLagMs: lag.percentile(99) / 1e6,
    });
    lag.reset();
    if (server) peakSockets = Math.max(peakSockets, server.stats.sockets);
    io.progress?.({
      elapsedS: elapsedS(),
      phase,
      botsJoined: agg.counters.bots_joined,
      botsTarget: plan.bots.length,
      linksConnected: agg.counters.links_connected,
      linksExpected: agg.counters.links_expected,
      errors: agg.counters.signal_errors,
      botsFailed: agg.counters.bots_failed,
    });
  };
  const ticker = setInterval(tick, 1000);

  // Ramp: bot i starts at i/ramp seconds, on host i mod hosts.
  const rampTimers = plan.bots.map((b, i) =>
    setTimeout(() => {
      const spec: BotSpec = {
        name: b.name,
        room: b.room,
        url,
        mode,
        video,
        audio,
        expectedPeers: plan.rooms.get(b.room)!.length - 1,
        chatIntervalMs: settings.chatIntervalMs,
        sampleIntervalMs: settings.sampleIntervalMs,
        ...(opts.recordDir === undefined ? {} : { recordDir: opts.recordDir }),
      };
      hosts[i % hosts.length]!.send({ type: 'start', spec });
    }, b.startAtMs),
  );

  const interrupted = await new Promise<boolean>((resolve) => {
    const end = setTimeout(() => resolve(false), plan.rampMs + opts.durationMs);
    const steady = setTimeout(() => {
      phase = 'steady';
    }, plan.rampMs);
    const onAbort = () => {
      clearTimeout(end);
      clearTimeout(steady);
      resolve(true);
    };
    if (io.signal.aborted) onAbort();
    io.signal.addEventListener('abort', onAbort, { once: true });
  });
  for (const t of rampTimers) clearTimeout(t);

  // Planned end (or interrupt): every bot leaves cleanly; after the grace period stragglers are cancelled.
  phase = 'leaving';
  const allStopped = new Promise<void>((resolve) => {
    onAllStopped = resolve;
    if (stopped.size === hosts.length) resolve();
  });
  for (const h of hosts) h.send({ type: 'stop' });
  const graceOver = await Promise.race([
    allStopped.then(() => false),
    new Promise<boolean>((r) =>
      setTimeout(() => r(true), interrupted ? Math.min(opts.graceMs, 3000) : opts.graceMs).unref(),
    ),
  ]);
  if (graceOver) log.warn('grace period over: cancelling bots that did not leave');
  tick();
  clearInterval(ticker);
  lag.disable();
  await Promise.all(hosts.map((h) => h.terminate()));
  agg.finish();

  let serverResult: ServerSummary;
  if (server) {
    serverResult = serverSummary(
      'embedded',
      parsePrometheus(await server.metrics.text()),
      undefined,
      peakSockets,
    );
    await server.close();
  } else {
    const after = await fetchServerMetrics(url);
    serverResult =
      after && remoteBefore
        ? serverSummary('remote', after, remoteBefore)
        : { source: 'unavailable', note: `no engage_ metrics at ${url.replace(/^ws/, 'http')}/metrics` };
  }

  const durationS = Math.round(elapsedS() * 10) / 10;
  agg.durationS = durationS;
  const results = checkThresholds(thresholds, agg);
  const cpu = agg.gauge('generator_cpu_pct');
  const lagStats = agg.gauge('generator_loop_lag_ms');
  const warnings: string[] = [];
  if (cpu.avg > SATURATION_CPU * cores * 100) {
    warnings.push(
      `generator CPU averaged ${Math.round(cpu.avg)}% of ${cores * 100}%: the generator itself was saturated, so its measurements understate what the server and peers can do`,
    );
  }
  // One slow second (workers starting, a burst of DTLS handshakes) is not saturation; a tenth of the run is.
  const lagP90 = percentileOf(
    agg.timeSeries.map((p) => p.loopLagMs),
    90,
  );
  if (lagP90 > SATURATION_LAG_MS) {
    warnings.push(
      `event-loop lag exceeded ${SATURATION_LAG_MS} ms in over a tenth of the run's seconds (worst ${Math.round(lagStats.max)} ms): timings include the generator's own delays`,
    );
    // Lagging without using its cores means the cores were not there to use: say whose fault that was.
    const machineNow = readMachineCpu();
    const machine = machineAtStart && machineNow && machineBusyPct(machineAtStart, machineNow, cores);
    if (machine !== undefined && cpu.avg <= SATURATION_CPU * cores * 100) {
      const others = Math.max(0, machine - cpu.avg);
      warnings.push(
        others > 0.15 * cores * 100
          ? `other processes used ${Math.round(others)}% CPU during the run, leaving the generator short of its ${cores} cores`
          : `the generator used ${Math.round(cpu.avg)}% of ${cores * 100}% CPU yet lagged, and the machine was not busy either: its cores were not available (a virtual machine's host or a CPU quota)`,
      );
    }
  }
  for (const r of results)
    if (!r.ok) log.debug({ threshold: r.threshold, actual: r.actual }, 'threshold crossed');

  const trends = Object.fromEntries([...agg.trends].map(([k, t]) => [k, t.stats()])) as Record<
    TrendName,
    TrendStats
  >;
  const summary: RunSummary = {
    schema: 'engage-loadtest/1',
    run: {
      id: plan.runId,
      startedAt: startedAt.toISOString(),
      endedAt: new Date().toISOString(),
      durationS,
      interrupted,
      url,
      embeddedServer: server !== undefined,
    },
    plan: {
      mode,
      bots: plan.bots.length,
      rooms: plan.rooms.size,
      roomSizes: [...plan.rooms.values()].map((r) => r.length).sort((a, b) => b - a),
      rampPerS: opts.rampPerS,
      durationS: opts.durationMs / 1000,
      graceS: opts.graceMs / 1000,
      workers,
      video,
      audio,
      media,
      recording: opts.recordDir !== undefined,
    },
    thresholds: results,
    metrics: {
      trends,
      counters: { ...agg.counters },
      gauges: Object.fromEntries([...agg.gauges.keys()].map((k) => [k, agg.gauge(k)])) as Record<
        GaugeName,
        GaugeStats
      >,
    },
    signalErrors: { ...agg.signalErrors },
    server: serverResult,
    generator: {
      cores,
      workers,
      cpuPct: cpu,
      rssMb: agg.gauge('generator_rss_mb'),
      loopLagP99Ms: Math.round(lagStats.max * 10) / 10,
      saturated: warnings.length > 0,
      warnings,
    },
    worstRooms: agg.worstRooms(),
    worstBots: agg.worstBots(),
    timeSeries: agg.timeSeries,
  };
  return { summary, failedThresholds: results.filter((r) => !r.ok).length };
}
