import { availableParallelism } from 'node:os';
import { UsageError } from '../util/errors.js';
import { silentLogger } from '../util/log.js';
import { delay } from '../util/wait.js';
import type { BrowserHostOptions } from './browsers/browser-host.js';
import { findChromium } from './browsers/chromium.js';
import { prepareFakeMedia } from './browsers/fake-media.js';
import { type ClockOffset, measureClockOffset } from './execute/clock-offset.js';
import { EmbeddedServer } from './execute/embedded-server.js';
import { execute, hostsReady, type Phase } from './execute/executor.js';
import { failOnPurposeFromEnv, HostPool } from './execute/host-pool.js';
import { InstanceWatch } from './execute/instance-watch.js';
import type { BotSpec, PoolEvent } from './execute/messages.js';
import { RunSampler } from './execute/sampler.js';
import { RunAggregate } from './metrics/aggregate.js';
import { clusterServerSummary } from './metrics/cluster-summary.js';
import { LiveEndpoint } from './metrics/live-endpoint.js';
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
import { type NetGroupPlan, netGroups } from './plan/net-plan.js';
import { type LoadtestOptions, type RunSettings, resolveSettings } from './plan/options.js';
import { makePlan, type Plan } from './plan/plan.js';
import { resolveShard, type ShardSettings } from './plan/shard-settings.js';

export type { LoadtestOptions };

export interface LoadtestIo {
  signal: AbortSignal;
  /** Called once a second with a progress snapshot. */
  progress?: (p: Progress) => void;
  /** Called once everything given was found valid, as workers (and the embedded server) start loading. */
  starting?: (s: { workers: number; embeddedServer: boolean }) => void;
  /** --metrics-port is serving at `url`. */
  metricsServing?: (url: string) => void;
  /** The run is over and its final metrics are served for `ms` more before the summary (--metrics-hold). */
  metricsHolding?: (ms: number) => void;
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
  const sharding = resolveShard(opts, settings);
  const whole = makePlan(
    {
      bots: opts.bots,
      rooms: opts.rooms,
      rampPerS: opts.rampPerS,
      instances: settings.urls?.length ?? 1,
      browsers: settings.browsers,
    },
    sharding.runId,
  );
  const plan = sharding.plan(whole);
  // Loading the clips validates them: a file the source cannot send is a usage error now, not in a bot.
  const media =
    settings.mode === 'signaling-only'
      ? 'none (signaling only)'
      : await describeMedia(settings.video, settings.audio);
  // Chromium and its fake camera are checked (and the clip decoded, once) before anything starts.
  const browsers = settings.browsers > 0 ? await browserHostOptions(settings) : undefined;
  const cores = availableParallelism();
  const workers = Math.min(settings.workers ?? cores, plan.bots.filter((b) => !b.browser).length);
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
  // Room by room, so that shares spread over the rooms (bots are placed round robin: in plan order, every
  // fourth bot shares a room when there are four), over the whole plan so every shard of it gives each
  // bot the same profile. Only bots are shaped (in process): a browser participant's network is Chromium's own.
  const browserNames = new Set(whole.bots.filter((b) => b.browser).map((b) => b.name));
  const groups = settings.net
    ? netGroups(
        settings.net,
        [...whole.rooms.values()].flat().filter((name) => !browserNames.has(name)),
      )
    : [];
  const agg = new RunAggregate();
  agg.plan(plan.rooms, sharding.local(plan), browserNames);
  agg.planNet(groups);
  const onPoolEvent = (e: PoolEvent) => {
    switch (e.type) {
      case 'host_event':
        agg.add(e.event, e.host);
        // A browser participant that fails is the generator's failure (the run exits 1), but one page
        // does not end the bots' run: it is counted, with its reason, and the run carries on.
        if (e.host === pool?.browserHostIndex && e.event.type === 'bot' && e.event.state === 'failed') {
          const reason = `${e.event.bot}: ${e.event.error ?? 'failed'}`;
          failures.push({ component: 'browser', reason, bots: 1 });
          log.error({ reason }, 'browser participant failed');
        }
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
  let live: LiveEndpoint | undefined;
  try {
    if (opts.metricsPort !== undefined) {
      live = await LiveEndpoint.start({
        host: opts.metricsHost ?? '127.0.0.1',
        port: opts.metricsPort,
        labels: { run: plan.runId, shard: String(sharding.shard.index) },
        values: {
          trends: agg.trends,
          counters: agg.counters,
          signalErrors: agg.signalErrors,
          gauge: (n) => agg.gauge(n),
        },
      });
      io.metricsServing?.(live.url);
    }
    io.starting?.({ workers, embeddedServer: settings.urls === undefined });
    // Workers load while the server starts.
    pool = await HostPool.start({
      workers,
      onEvent: onPoolEvent,
      failOnPurpose: failOnPurposeFromEnv(),
      ...(browsers ? { browsers } : {}),
    });
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

    // A sharded run compares its generators' clocks through the server's, while the workers load.
    const clock: Promise<ClockOffset | undefined> =
      sharding.shard.count > 1 ? measureClockOffset(url, broken.signal) : Promise.resolve(undefined);
    await hostsReady(pool, io.signal, broken.signal);
    const clockOffset = await clock;
    const lateMs = await untilStartAt(sharding, AbortSignal.any([io.signal, broken.signal]));
    if (lateMs > 0)
      log.warn({ lateMs }, 'began the ramp after --start-at: bots due before now start at once');
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
      ...(browsers ? { browserUsage: () => pool?.browserUsage() } : {}),
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
      spec: (bot) =>
        botSpec(plan, bot, urls[bot.instance]!, settings, netOf(groups, bot.name), startedAt.getTime()),
      durationMs: settings.durationMs,
      graceMs: settings.graceMs,
      skipMs: lateMs,
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
      shard: sharding.shard,
      planHash: sharding.planHash,
      ...(sharding.startAtMs === undefined ? {} : { startAt: new Date(sharding.startAtMs) }),
      lateMs,
      ...(clockOffset ? { clockOffset } : {}),
      startedAt,
      endedAt: new Date(),
      durationS,
      interrupted: outcome.end === 'interrupted',
      failures,
      url,
      urls,
      embeddedServer: server !== undefined,
      plan: planSummary(whole, opts, settings, workers, media),
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
    if (live && opts.metricsHoldMs) {
      // Prometheus scrapes every few seconds: without this its last scrape would miss the end of the run.
      io.metricsHolding?.(opts.metricsHoldMs);
      await delay(opts.metricsHoldMs, io.signal).catch(() => {});
    }
    return { summary, failedThresholds: summary.thresholds.filter((r) => !r.ok).length };
  } finally {
    await live?.close();
    sampler?.close();
    instances?.close();
    await pool?.close();
    await server?.close();
  }
}

/**
 * Waits for --start-at, so every shard's ramp starts at one time; returns how late this shard is
 * (0 on time, or without --start-at).
 */
async function untilStartAt(sharding: ShardSettings, signal: AbortSignal): Promise<number> {
  if (sharding.startAtMs === undefined) return 0;
  const wait = sharding.startAtMs - Date.now();
  if (wait > 0) await delay(wait, signal).catch(() => {});
  // Timers fire a little late: lateness below a scheduler tick is not worth a warning.
  const late = Date.now() - sharding.startAtMs;
  return signal.aborted || late < 50 ? 0 : late;
}

/** A bot's group, for its spec: the share it got (undefined for none). */
function netOf(groups: NetGroupPlan[], bot: string): NetGroupPlan | undefined {
  return groups.find((g) => g.bots.includes(bot));
}

function botSpec(
  plan: Plan,
  bot: Plan['bots'][number],
  url: string,
  settings: RunSettings,
  group: NetGroupPlan | undefined,
  runStartEpochMs: number,
): BotSpec {
  const net = settings.net;
  const share = group && group.share >= 0 ? net?.shares[group.share] : undefined;
  const shaped = share !== undefined || net?.schedule !== undefined;
  return {
    name: bot.name,
    room: bot.room,
    url,
    mode: settings.mode,
    video: settings.video,
    audio: settings.audio,
    expectedPeers: plan.rooms.get(bot.room)!.length - 1,
    ...(bot.browser ? { browser: true } : {}),
    chatIntervalMs: settings.chatIntervalMs,
    sampleIntervalMs: settings.sampleIntervalMs,
    ...(settings.recordDir === undefined ? {} : { recordDir: settings.recordDir }),
    ...(shaped
      ? {
          net: {
            ...(share ? { share: share.text } : {}),
            ...(net?.schedule ? { schedule: net.schedule.toString() } : {}),
            originEpochMs: runStartEpochMs,
          },
        }
      : {}),
    ...(net && net.iceServers.length > 0 ? { iceServers: net.iceServers } : {}),
    ...(net?.relayOnly ? { relayOnly: true } : {}),
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
    browsers: plan.bots.filter((b) => b.browser).length,
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
    ...(settings.net
      ? {
          net: {
            profiles: opts.net ?? [],
            ...(opts.netSchedule === undefined ? {} : { schedule: opts.netSchedule }),
            iceServers: settings.net.iceServers.length,
            relayOnly: settings.net.relayOnly,
          },
        }
      : {}),
  };
}

/** Chromium and the decoded clip its fake camera and microphone play: usage errors when missing. */
async function browserHostOptions(settings: RunSettings): Promise<BrowserHostOptions> {
  if (settings.mode === 'signaling-only')
    throw new UsageError('--browsers needs media: it cannot be used with --signaling-only');
  const executable = findChromium();
  return { executable, media: await prepareFakeMedia(settings.video, settings.audio) };
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
