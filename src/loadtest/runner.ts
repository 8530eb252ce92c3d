import { availableParallelism } from 'node:os';
import { silentLogger } from '../util/log.js';
import { EmbeddedServer } from './execute/embedded-server.js';
import { execute, hostsReady, type Phase } from './execute/executor.js';
import { failOnPurposeFromEnv, HostPool } from './execute/host-pool.js';
import { InstanceWatch } from './execute/instance-watch.js';
import type { BotSpec, PoolEvent } from './execute/messages.js';
import { RunSampler } from './execute/sampler.js';
import { RunAggregate } from './metrics/aggregate.js';
import { clusterServerSummary } from './metrics/cluster-summary.js';
import {
  fetchInstanceId,
  fetchServerMetrics,
  type PromSnapshot,
  serverSummary,
} from './metrics/server-metrics.js';
import type { PlanSummary, RunFailure, RunSummary, ServerSummary } from './metrics/summary.js';
import { buildSummary } from './metrics/summary-builder.js';
import { parseThresholds } from './metrics/thresholds.js';
import { describeMedia } from './plan/media-profile.js';
import { type LoadtestOptions, type RunSettings, resolveSettings } from './plan/options.js';
import { makePlan, type Plan } from './plan/plan.js';

export type { LoadtestOptions };

export interface LoadtestIo {
  signal: AbortSignal;
  /** Called once a second with a progress snapshot. */
  progress?: (p: Progress) => void;
  /** Called once everything given was found valid, as workers (and the embedded server) start loading. */
  starting?: (s: { workers: number; embeddedServer: boolean }) => void;
}

export interface Progress {
  elapsedS: number;
  phase: Phase;
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

/**
 * `engage loadtest`: checks everything the user gave (options, thresholds, media files) before anything
 * starts, then starts the embedded server (without --url), the host pool and the run's clock, lets the
 * executor drive the plan, and builds the summary. Whatever happens, a throw included, the clock, the
 * workers and the server are closed before it returns.
 *
 * A host or the embedded server that breaks ends the run early; the summary's `run.failures` says what
 * broke, and its bots are counted failed with the reason.
 */
export async function runLoadtest(opts: LoadtestOptions, io: LoadtestIo): Promise<LoadtestResult> {
  const settings = resolveSettings(opts);
  const thresholds = parseThresholds(opts.thresholds);
  const plan = makePlan({
    bots: opts.bots,
    rooms: opts.rooms,
    rampPerS: opts.rampPerS,
    instances: settings.urls?.length ?? 1,
  });
  // Loading the clips validates them: a file the source cannot send is a usage error now, not in a bot.
  const media =
    settings.mode === 'signaling-only'
      ? 'none (signaling only)'
      : await describeMedia(settings.video, settings.audio);
  const cores = availableParallelism();
  const workers = Math.min(settings.workers ?? cores, plan.bots.length);
  const logger = opts.logger ?? silentLogger;
  const log = logger.child({ component: 'loadtest', run: plan.runId });

  const failures: RunFailure[] = [];
  /** Aborted when something breaks: the executor ends the run at once. */
  const broken = new AbortController();
  const fail = (failure: RunFailure) => {
    failures.push(failure);
    log.error({ failure }, `${failure.component} failed`);
    broken.abort();
  };
  let internalError: unknown;
  const agg = new RunAggregate();
  agg.plan(plan.rooms);
  const onPoolEvent = (e: PoolEvent) => {
    switch (e.type) {
      case 'host_event':
        agg.add(e.event, e.host);
        return;
      case 'host_failed':
        agg.hostFailed(e.bots, `host ${e.host} (${pool?.kind ?? 'worker thread'}) failed: ${e.reason}`);
        fail({ component: 'host', host: e.host, reason: e.reason, bots: e.bots.length });
        return;
    }
  };

  let server: EmbeddedServer | undefined;
  let pool: HostPool | undefined;
  let sampler: RunSampler | undefined;
  let instances: InstanceWatch | undefined;
  try {
    io.starting?.({ workers, embeddedServer: settings.urls === undefined });
    // Workers load while the server starts.
    pool = await HostPool.start({ workers, onEvent: onPoolEvent, failOnPurpose: failOnPurposeFromEnv() });
    server = settings.urls
      ? undefined
      : await EmbeddedServer.start({
          maxRoomSize: Math.max(50, ...[...plan.rooms.values()].map((r) => r.length)),
          logLevel: logger.level,
          onFailed: (reason) => fail({ component: 'embedded-server', reason, bots: 0 }),
        });
    const urls = settings.urls ?? [server!.url];
    const url = urls[0]!;
    // One --url reads its /metrics before and after, as ever; several are also sampled while the run goes.
    const single = !server && urls.length === 1;
    const remoteBefore = single ? await fetchServerMetrics(url) : undefined;
    // A few reads, so a load balancer's round robin shows itself.
    const instanceBefore = single ? await Promise.all([0, 1, 2].map(() => fetchInstanceId(url))) : undefined;
    instances = urls.length > 1 ? await InstanceWatch.start(urls) : undefined;

    await hostsReady(pool, io.signal, broken.signal);
    // The run starts now that bots can start: start-up is not part of its duration.
    const startedAt = new Date();
    // The test hook that restarts the embedded server mid-run counts from here (see runStarted()).
    server?.runStarted();
    let phase: Phase = 'ramp';
    const embedded = server;
    const watch = instances;
    sampler = new RunSampler({
      agg,
      ...(embedded ? { serverUsage: () => embedded.usage } : {}),
      ...(watch ? { instanceSockets: () => watch.sockets() } : {}),
      onTick: (elapsedS) =>
        io.progress?.({
          elapsedS,
          phase,
          botsJoined: agg.counters.bots_joined,
          botsTarget: plan.bots.length,
          linksConnected: agg.counters.links_connected,
          linksExpected: agg.counters.links_expected,
          errors: agg.counters.signal_errors,
          botsFailed: agg.counters.bots_failed,
        }),
      onError: (err) => {
        internalError ??= err;
        broken.abort();
      },
    });

    const outcome = await execute({
      plan,
      pool,
      spec: (bot) => botSpec(plan, bot, urls[bot.instance]!, settings),
      durationMs: settings.durationMs,
      graceMs: settings.graceMs,
      interrupt: io.signal,
      abort: broken.signal,
      onPhase: (p) => {
        phase = p;
      },
    });
    if (outcome.graceOver) log.warn('grace period over: cancelling bots that did not leave');
    if (internalError === undefined) sampler.tick();
    const durationS = Math.round(sampler.elapsedS() * 10) / 10;
    const machineCpuPct = sampler.machineCpuPct();
    sampler.close();
    instances?.close();
    await pool.close();
    if (internalError !== undefined) throw internalError;
    agg.finish();

    const summary = buildSummary({
      runId: plan.runId,
      startedAt,
      endedAt: new Date(),
      durationS,
      interrupted: outcome.end === 'interrupted',
      failures,
      url,
      urls,
      embeddedServer: server !== undefined,
      plan: planSummary(plan, opts, settings, workers, media),
      thresholds,
      agg,
      server: server
        ? await embeddedServerSummary(server)
        : instances
          ? await instancesSummary(instances, plan, agg)
          : await remoteServerSummary(url, remoteBefore, instanceBefore),
      cores,
      machineCpuPct,
    });
    for (const r of summary.thresholds)
      if (!r.ok) log.debug({ threshold: r.threshold, actual: r.actual }, 'threshold crossed');
    return { summary, failedThresholds: summary.thresholds.filter((r) => !r.ok).length };
  } finally {
    sampler?.close();
    instances?.close();
    await pool?.close();
    await server?.close();
  }
}

function botSpec(plan: Plan, bot: Plan['bots'][number], url: string, settings: RunSettings): BotSpec {
  return {
    name: bot.name,
    room: bot.room,
    url,
    mode: settings.mode,
    video: settings.video,
    audio: settings.audio,
    expectedPeers: plan.rooms.get(bot.room)!.length - 1,
    chatIntervalMs: settings.chatIntervalMs,
    sampleIntervalMs: settings.sampleIntervalMs,
    ...(settings.recordDir === undefined ? {} : { recordDir: settings.recordDir }),
  };
}

function planSummary(
  plan: Plan,
  opts: LoadtestOptions,
  settings: RunSettings,
  workers: number,
  media: string,
): PlanSummary {
  return {
    mode: settings.mode,
    bots: plan.bots.length,
    rooms: plan.rooms.size,
    roomSizes: [...plan.rooms.values()].map((r) => r.length).sort((a, b) => b - a),
    rampPerS: opts.rampPerS,
    durationS: settings.durationMs / 1000,
    graceS: settings.graceMs / 1000,
    workers,
    video: settings.video,
    audio: settings.audio,
    media,
    recording: settings.recordDir !== undefined,
  };
}

/** The embedded server's view: its metrics since it started, and its process's own CPU and memory. */
async function embeddedServerSummary(server: EmbeddedServer): Promise<ServerSummary> {
  const usage = {
    cpuPct: server.cpuPct.stats(),
    rssMb: server.rssMb.stats(),
    ...(server.restarts > 0 ? { restarts: server.restarts } : {}),
  };
  const metrics = await fetchServerMetrics(server.url);
  if (!metrics) {
    return {
      source: 'embedded',
      peakSockets: server.peakSockets,
      ...usage,
      note: 'its /metrics did not answer',
    };
  }
  return { ...serverSummary('embedded', metrics, undefined, server.peakSockets), ...usage };
}

/**
 * A --url server's view: what its /metrics counted during the run, when it has engage_ metrics, and when
 * both reads reached the same instance (a load balancer may send them to two).
 */
async function remoteServerSummary(
  url: string,
  before: PromSnapshot | undefined,
  instanceBefore: Array<string | undefined> = [],
): Promise<ServerSummary> {
  const after = await fetchServerMetrics(url);
  const named = new Set([...instanceBefore, await fetchInstanceId(url)].filter((id) => id !== undefined));
  if (named.size > 1) {
    return {
      source: 'unavailable',
      note: `${url} reaches several instances (its /healthz named ${[...named].join(', ')}), so its /metrics cannot be compared from start to end: give each instance with --url`,
    };
  }
  return after && before
    ? serverSummary('remote', after, before)
    : { source: 'unavailable', note: `no engage_ metrics at ${url.replace(/^ws/, 'http')}/metrics` };
}

/** Several --url instances: each one's bots and /metrics, and their sum. */
async function instancesSummary(watch: InstanceWatch, plan: Plan, agg: RunAggregate): Promise<ServerSummary> {
  const after = await Promise.all(watch.urls.map((url) => fetchServerMetrics(url)));
  const views = watch.readings().map((r, i) => ({
    ...r,
    after: after[i],
    bots: plan.bots.filter((b) => b.instance === i).map((b) => b.name),
  }));
  return clusterServerSummary(views, agg, watch.peakSockets);
}
