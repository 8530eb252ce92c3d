import { percentileOf, Trend } from '../../util/trend.js';
import type { HostEvent } from '../execute/messages.js';
import type { NetGroupPlan } from '../plan/net-plan.js';
import {
  COUNTER_METRICS,
  type CounterName,
  GAUGE_METRICS,
  type GaugeName,
  TREND_METRICS,
  type TrendName,
} from './catalogue.js';
import { Gauge } from './gauge.js';
import { type BotRecord, judgeLinks, worstBots, worstRooms } from './links.js';
import { NetGroupAggregate } from './net-groups.js';
import type { BotResult, BrowserResult, BrowserView, RoomResult, TimePoint } from './summary.js';
import type { MetricValues } from './thresholds.js';

interface BotState {
  room: string;
  state: BotResult['state'];
  error?: string;
  meshReadyMs?: number;
  joinMeshMs?: number;
  joined: boolean;
  connected: Set<string>;
  failed: Set<string>;
  signalErrors: number;
  lossSum: number;
  lossCount: number;
  minFps: number;
}

type LinkSample = Extract<HostEvent, { type: 'link-sample' }>;

const pairKey = (room: string, a: string, b: string) => (a < b ? `${room}|${a}|${b}` : `${room}|${b}|${a}`);

/**
 * The main thread's view of a run: folds the samples workers post into trends, counters and per-room /
 * per-bot state, and takes one time-series point per second.
 */
export class RunAggregate implements MetricValues {
  readonly trends = new Map<TrendName, Trend>(
    Object.keys(TREND_METRICS).map((k) => [k as TrendName, new Trend()]),
  );
  readonly counters = Object.fromEntries(Object.keys(COUNTER_METRICS).map((k) => [k, 0])) as Record<
    CounterName,
    number
  >;
  readonly gauges = new Map<GaugeName, Gauge>(
    Object.keys(GAUGE_METRICS).map((k) => [k as GaugeName, new Gauge()]),
  );
  readonly signalErrors: Record<string, number> = {};
  readonly bots = new Map<string, BotState>();
  /** The plan's rooms, every member of each, this generator's or not. */
  readonly rooms = new Map<string, string[]>();
  readonly timeSeries: TimePoint[] = [];
  /** Live flows behind each time-series point: what pools the points of several generators. */
  readonly liveFlowsPerPoint: number[] = [];
  /** Pairs connected so far by their offerer's account (or this shard's end's): the live progress count. */
  private readonly connectedPairs = new Set<string>();
  private readonly livePairs = new Set<string>();
  /** Directed flows `bot>remote` whose link is connected now, by the receiving bot's own account. */
  private readonly liveFlows = new Set<string>();
  /** The latest sample of each live flow: what the time series sums. A closed link's sample is dropped. */
  private readonly latest = new Map<string, LinkSample>();
  /** Per directed flow `bot>remote`: whether video ever arrived, and whether it then stopped for a window. */
  private readonly videoFlows = new Map<string, { started: boolean; stalled: boolean }>();
  /** Each browser participant's latest account of what it saw. */
  private readonly browserViews = new Map<string, BrowserView>();
  /** Each flow's cumulative frame counts at its last sample, so counters add only what is new. */
  private readonly flowFrames = new Map<string, LinkSample['frames']>();
  /** What carried each pair, by the latest sample of either end. */
  private readonly pairVia = new Map<string, NonNullable<LinkSample['via']>>();
  /** Per profile group (`--net` shares): configured against measured. */
  net = new NetGroupAggregate([]);
  /** Latest event-loop lag per host, folded into the generator gauge each second. */
  private readonly hostLag = new Map<unknown, number>();
  durationS = 0;

  /** Participants that are browsers (--browsers): the summary's `browsers` lists them. */
  private readonly browserNames = new Set<string>();

  /**
   * Declares the plan's rooms so expected links and never-started bots are known; `local` names the
   * bots this generator runs (a shard's), all of them when absent; `browsers` those that are browsers.
   */
  plan(rooms: Map<string, string[]>, local?: ReadonlySet<string>, browsers: Iterable<string> = []): void {
    for (const name of browsers) this.browserNames.add(name);
    for (const [room, names] of rooms) {
      this.rooms.set(room, names);
      for (const bot of names) {
        if (local && !local.has(bot)) continue;
        this.bots.set(bot, {
          room,
          state: 'never-started',
          joined: false,
          connected: new Set(),
          failed: new Set(),
          signalErrors: 0,
          lossSum: 0,
          lossCount: 0,
          minFps: Number.POSITIVE_INFINITY,
        });
      }
    }
    // Pairs with at least one end here: all of a room's pairs but those between other shards' bots.
    const pairs = (n: number) => (n * (n - 1)) / 2;
    for (const names of rooms.values()) {
      const here = names.filter((n) => this.bots.has(n)).length;
      this.counters.links_expected += pairs(names.length) - pairs(names.length - here);
    }
  }

  /** Declares the run's profile groups (none without --net or --net-schedule). */
  planNet(groups: readonly NetGroupPlan[]): void {
    this.net = new NetGroupAggregate(groups);
  }

  /** Folds one event from a host (`source` tells hosts apart for their health reports). */
  add(event: HostEvent, source: unknown): void {
    switch (event.type) {
      case 'trend':
        this.trends.get(event.metric)?.add(event.value);
        if (event.metric === 'mesh_ready_ms') {
          const bot = this.bots.get(event.bot);
          if (bot) bot.meshReadyMs = event.value;
        } else if (event.metric === 'join_mesh_ms') {
          const bot = this.bots.get(event.bot);
          if (bot) bot.joinMeshMs = event.value;
        }
        return;
      case 'count':
        this.counters[event.metric] += event.n;
        if (event.metric === 'signal_errors') {
          const bot = this.bots.get(event.bot);
          if (bot) bot.signalErrors += event.n;
        }
        if (event.code !== undefined)
          this.signalErrors[event.code] = (this.signalErrors[event.code] ?? 0) + event.n;
        return;
      case 'bot': {
        const bot = this.bots.get(event.bot);
        if (!bot) return;
        // A failure is final; a bot that failed and then left stays failed.
        if (bot.state !== 'failed') bot.state = event.state;
        if (event.error !== undefined) bot.error = event.error;
        if (event.state === 'joined') bot.joined = true;
        return;
      }
      case 'link': {
        const key = pairKey(event.room, event.bot, event.remote);
        const flowKey = `${event.bot}>${event.remote}`;
        const bot = this.bots.get(event.bot);
        if (event.state === 'connected') {
          bot?.connected.add(event.remote);
          this.liveFlows.add(flowKey);
        } else {
          this.liveFlows.delete(flowKey);
          this.latest.delete(flowKey);
          if (event.state === 'failed') bot?.failed.add(event.remote);
        }
        // A pair with its other end on another shard is counted here by this end, for the live count;
        // the time series counts each pair by its offerer only, so shards' series add up.
        const remoteIsHere = this.bots.has(event.remote);
        if (event.state === 'connected' && (event.pairOwner || !remoteIsHere)) {
          if (!this.connectedPairs.has(key)) this.counters.links_connected++;
          this.connectedPairs.add(key);
        }
        if (!event.pairOwner) return;
        if (event.state === 'connected') this.livePairs.add(key);
        else this.livePairs.delete(key);
        return;
      }
      case 'link-sample': {
        const flowKey = `${event.bot}>${event.remote}`;
        // A sample taken as its link closed still counts in the trends, never in the live sums.
        if (this.liveFlows.has(flowKey)) this.latest.set(flowKey, event);
        const flow = this.videoFlows.get(flowKey) ?? { started: false, stalled: false };
        this.videoFlows.set(flowKey, flow);
        if (event.videoFps > 0) flow.started = true;
        else if (flow.started) flow.stalled = true;
        this.trends.get('video_bitrate_kbps')!.add(event.videoKbps);
        this.trends.get('audio_bitrate_kbps')!.add(event.audioKbps);
        this.trends.get('video_fps')!.add(event.videoFps);
        this.trends.get('loss_pct')!.add(event.lossPct);
        this.trends.get('jitter_ms')!.add(event.jitterMs);
        if (event.rttMs !== undefined) this.trends.get('rtt_ms')!.add(event.rttMs);
        const latency = this.trends.get('media_latency_ms')!;
        for (const v of event.latencyMs) latency.add(v);
        this.addFrames(flowKey, event.frames);
        if (event.via !== undefined)
          this.pairVia.set(pairKey(event.room, event.bot, event.remote), event.via);
        this.net.add(event);
        const bot = this.bots.get(event.bot);
        if (bot) {
          bot.lossSum += event.lossPct;
          bot.lossCount++;
          bot.minFps = Math.min(bot.minFps, event.videoFps);
        }
        return;
      }
      case 'health':
        this.hostLag.set(source, event.loopLagP99Ms);
        return;
      case 'browser-view':
        this.browserViews.set(event.bot, event.view);
        // What a browser received is a video flow like any other: video_flows count both ways of every link.
        for (const r of event.view.remotes) {
          const flowKey = `${event.bot}>${r.remote}`;
          const flow = this.videoFlows.get(flowKey) ?? { started: false, stalled: false };
          this.videoFlows.set(flowKey, flow);
          flow.started ||= r.framesDecoded > 0;
          flow.stalled ||= r.stalled;
          // A pair of two browsers has no bot end to say what carried it: the browser says.
          if (r.via !== undefined) this.pairVia.set(pairKey(event.room, event.bot, r.remote), r.via);
        }
        return;
      case 'ready':
      case 'stopped':
        return;
    }
  }

  /** Adds to the frame counters what a flow's cumulative counts gained since its last sample. */
  private addFrames(flowKey: string, now: LinkSample['frames']): void {
    const before = this.flowFrames.get(flowKey);
    this.flowFrames.set(flowKey, now);
    // A link replaced under the same flow starts again from zero.
    const base = before && now.received >= before.received ? before : undefined;
    const delta = (k: keyof LinkSample['frames']) => Math.max(0, now[k] - (base?.[k] ?? 0));
    this.counters.frames_received += delta('received');
    this.counters.frames_incomplete += delta('incomplete');
    this.counters.frames_corrupt += delta('corrupt');
    this.counters.freeze_count += delta('freezeCount');
    this.counters.freeze_ms += delta('freezeMs');
  }

  /**
   * A host died with these bots on it (the pool names the ones that had neither left nor failed): each is
   * counted failed with `reason`, and its links leave the live time series at once.
   */
  hostFailed(bots: string[], reason: string): void {
    const gone = new Set(bots);
    for (const name of bots) {
      const bot = this.bots.get(name);
      if (!bot || bot.state === 'failed' || bot.state === 'left') continue;
      // Sent to the host, whose report that it began may have died with it.
      if (bot.state === 'never-started') this.counters.bots_started++;
      bot.state = 'failed';
      bot.error = reason;
      this.counters.bots_failed++;
    }
    for (const key of this.liveFlows) {
      const [bot] = key.split('>');
      if (gone.has(bot!)) {
        this.liveFlows.delete(key);
        this.latest.delete(key);
      }
    }
    for (const key of this.livePairs) {
      const [, a, b] = key.split('|');
      if (gone.has(a!) || gone.has(b!)) this.livePairs.delete(key);
    }
  }

  /**
   * Takes the time-series point for second `t`, with the generator's own readings and, for an embedded
   * server, the server's CPU, or for several instances, each one's sockets. A `cpuPct` is undefined when its interval was too short to measure; the
   * series then repeats the last reading.
   */
  tick(
    t: number,
    generator: { cpuPct: number | undefined; rssMb: number; mainLoopLagMs: number },
    server?: { cpuPct: number | undefined },
    browser?: { cpuPct: number | undefined; pssMb: number },
    instanceSockets?: number[],
  ): void {
    const loopLagMs = Math.max(generator.mainLoopLagMs, ...this.hostLag.values());
    if (generator.cpuPct !== undefined) this.gauges.get('generator_cpu_pct')!.add(generator.cpuPct);
    const cpuPct = generator.cpuPct ?? this.timeSeries.at(-1)?.cpuPct ?? 0;
    this.gauges.get('generator_rss_mb')!.add(generator.rssMb);
    this.gauges.get('generator_loop_lag_ms')!.add(loopLagMs);
    if (browser?.cpuPct !== undefined) this.gauges.get('browser_cpu_pct')!.add(browser.cpuPct);
    if (browser) this.gauges.get('browser_pss_mb')!.add(browser.pssMb);
    const browserCpuPct = browser?.cpuPct ?? this.timeSeries.at(-1)?.browserCpuPct;
    const live = [...this.latest.values()].filter((s) => this.bots.get(s.bot)?.state === 'joined');
    this.liveFlowsPerPoint.push(live.length);
    const rtts = live.flatMap((s) => (s.rttMs === undefined ? [] : [s.rttMs]));
    const latencies = live.flatMap((s) => s.latencyMs);
    const round = (n: number) => Math.round(n * 10) / 10;
    const mean = (f: (s: LinkSample) => number) =>
      live.length === 0 ? 0 : live.reduce((n, s) => n + f(s), 0) / live.length;
    this.net.tick(t, live);
    this.timeSeries.push({
      t,
      bots: [...this.bots.values()].filter((b) => b.state === 'joined').length,
      links: this.livePairs.size,
      videoKbps: round(live.reduce((n, s) => n + s.videoKbps, 0)),
      audioKbps: round(live.reduce((n, s) => n + s.audioKbps, 0)),
      lossPct: round(mean((s) => s.lossPct)),
      netLossPct: round(mean((s) => s.netLossPct)),
      latencyP50Ms: round(percentileOf(latencies, 50)),
      rttP50Ms: round(percentileOf(rtts, 50)),
      rttP95Ms: round(percentileOf(rtts, 95)),
      jitterP95Ms: round(
        percentileOf(
          live.map((s) => s.jitterMs),
          95,
        ),
      ),
      errors: this.counters.signal_errors,
      cpuPct: round(cpuPct),
      ...(server?.cpuPct === undefined ? {} : { serverCpuPct: round(server.cpuPct) }),
      ...(instanceSockets === undefined ? {} : { instanceSockets: [...instanceSockets] }),
      rssMb: round(generator.rssMb),
      loopLagMs: round(loopLagMs),
      ...(browser ? { browserCpuPct: round(browserCpuPct ?? 0), browserPssMb: round(browser.pssMb) } : {}),
    });
  }

  /** Pairs that failed, plus pairs of bots that both joined yet never connected. Call at the end. */
  finish(): void {
    const links = judgeLinks(this.rooms, this.botRecords());
    this.counters.links_expected = links.expected;
    this.counters.links_connected = links.connected;
    this.counters.links_failed = links.failed;
    const flows = [...this.videoFlows.values()];
    this.counters.video_flows = flows.filter((f) => f.started && !f.stalled).length;
    this.counters.video_flows_stalled = flows.filter((f) => f.stalled).length;
    for (const key of this.connectedPairs) {
      const via = this.pairVia.get(key);
      if (via !== undefined) this.counters[`links_${via}`]++;
    }
  }

  /** Each of this generator's bots as it saw it: what the report carries to judge links from both ends. */
  botRecords(): Map<string, BotRecord> {
    const records = new Map<string, BotRecord>();
    for (const [bot, b] of this.bots) {
      records.set(bot, {
        bot,
        room: b.room,
        state: b.state,
        ...(b.error === undefined ? {} : { error: b.error }),
        ...(b.meshReadyMs === undefined ? {} : { meshReadyMs: b.meshReadyMs }),
        ...(b.joinMeshMs === undefined ? {} : { joinMeshMs: b.joinMeshMs }),
        joined: b.joined,
        connected: [...b.connected].sort(),
        failed: [...b.failed].sort(),
        lossSum: b.lossSum,
        lossCount: b.lossCount,
        ...(Number.isFinite(b.minFps) ? { minFps: b.minFps } : {}),
        ...withNet(this.net.profileOf(bot)),
      });
    }
    return records;
  }

  // MetricValues, for thresholds.
  trend(name: string) {
    const t = this.trends.get(name as TrendName) ?? new Trend();
    return Object.assign(t.stats(), { percentile: (p: number) => t.percentile(p) });
  }
  counter(name: string): number {
    return this.counters[name as CounterName] ?? 0;
  }
  gauge(name: string) {
    return (this.gauges.get(name as GaugeName) ?? new Gauge()).stats();
  }

  /** Bots planned, joined (at some point) and failed, and the errors they were sent, for a set of bots. */
  botCounts(names: Iterable<string>): { bots: number; joined: number; failed: number; signalErrors: number } {
    const out = { bots: 0, joined: 0, failed: 0, signalErrors: 0 };
    for (const name of names) {
      const bot = this.bots.get(name);
      if (!bot) continue;
      out.bots++;
      if (bot.joined) out.joined++;
      if (bot.state === 'failed') out.failed++;
      out.signalErrors += bot.signalErrors;
    }
    return out;
  }

  worstRooms(limit = 5): RoomResult[] {
    return worstRooms(judgeLinks(this.rooms, this.botRecords()).rooms, limit);
  }

  /** Every browser participant of the plan, with what it saw (nothing yet for one that never sampled). */
  browserResults(): BrowserResult[] {
    return [...this.bots]
      .filter(([name]) => this.browserNames.has(name))
      .map(([browser, b]) => ({
        browser,
        room: b.room,
        state: b.state,
        ...(b.error === undefined ? {} : { error: b.error }),
        ...(this.browserViews.get(browser) ?? {
          qualityLimitationReason: 'none',
          limitedMs: {},
          remotes: [],
        }),
      }));
  }

  worstBots(limit = 5): BotResult[] {
    return worstBots(this.botRecords().values(), (room) => this.rooms.get(room)?.length ?? 1, limit);
  }
}

const withNet = (net: string | undefined) => (net === undefined ? {} : { net });
