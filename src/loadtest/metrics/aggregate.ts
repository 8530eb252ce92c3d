import type { HostEvent } from '../execute/messages.js';
import {
  COUNTER_METRICS,
  type CounterName,
  GAUGE_METRICS,
  type GaugeName,
  TREND_METRICS,
  type TrendName,
} from './catalogue.js';
import { Gauge } from './gauge.js';
import type { BotResult, RoomResult, TimePoint } from './summary.js';
import type { MetricValues } from './thresholds.js';
import { percentileOf, Trend } from './trend.js';

interface BotState {
  room: string;
  state: BotResult['state'];
  error?: string;
  meshReadyMs?: number;
  connected: Set<string>;
  lossSum: number;
  lossCount: number;
  /** Joined at some point (a bot that joined and later failed still counts). */
  everJoined: boolean;
  signalErrors: number;
}

interface RoomState {
  bots: Set<string>;
  expectedBots: number;
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
  readonly rooms = new Map<string, RoomState>();
  readonly timeSeries: TimePoint[] = [];
  private readonly connectedPairs = new Set<string>();
  private readonly failedPairs = new Set<string>();
  private readonly livePairs = new Set<string>();
  /** Directed flows `bot>remote` whose link is connected now, by the receiving bot's own account. */
  private readonly liveFlows = new Set<string>();
  /** The latest sample of each live flow: what the time series sums. A closed link's sample is dropped. */
  private readonly latest = new Map<string, LinkSample>();
  /** Per directed flow `bot>remote`: whether video ever arrived, and whether it then stopped for a window. */
  private readonly videoFlows = new Map<string, { started: boolean; stalled: boolean }>();
  /** Latest event-loop lag per host, folded into the generator gauge each second. */
  private readonly hostLag = new Map<unknown, number>();
  durationS = 0;

  /** Declares the plan's rooms so expected links and never-started bots are known. */
  plan(rooms: Map<string, string[]>): void {
    for (const [room, names] of rooms) {
      this.rooms.set(room, {
        bots: new Set(),
        expectedBots: names.length,
        lossSum: 0,
        lossCount: 0,
        minFps: Number.POSITIVE_INFINITY,
      });
      for (const bot of names)
        this.bots.set(bot, {
          room,
          state: 'never-started',
          connected: new Set(),
          lossSum: 0,
          lossCount: 0,
          everJoined: false,
          signalErrors: 0,
        });
      this.counters.links_expected += (names.length * (names.length - 1)) / 2;
    }
  }

  /** Folds one event from a host (`source` tells hosts apart for their health reports). */
  add(event: HostEvent, source: unknown): void {
    switch (event.type) {
      case 'trend':
        this.trends.get(event.metric)?.add(event.value);
        if (event.metric === 'mesh_ready_ms') {
          const bot = this.bots.get(event.bot);
          if (bot) bot.meshReadyMs = event.value;
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
        if (event.state === 'joined') {
          bot.everJoined = true;
          this.rooms.get(event.room)?.bots.add(event.bot);
        }
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
        }
        if (!event.pairOwner) return;
        if (event.state === 'connected') {
          if (!this.connectedPairs.has(key)) this.counters.links_connected++;
          this.connectedPairs.add(key);
          this.livePairs.add(key);
        } else {
          this.livePairs.delete(key);
          if (event.state === 'failed') this.failedPairs.add(key);
        }
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
        const bot = this.bots.get(event.bot);
        if (bot) {
          bot.lossSum += event.lossPct;
          bot.lossCount++;
        }
        const room = this.rooms.get(event.room);
        if (room) {
          room.lossSum += event.lossPct;
          room.lossCount++;
          room.minFps = Math.min(room.minFps, event.videoFps);
        }
        return;
      }
      case 'health':
        this.hostLag.set(source, event.loopLagP99Ms);
        return;
      case 'ready':
      case 'stopped':
        return;
    }
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
    instanceSockets?: number[],
  ): void {
    const loopLagMs = Math.max(generator.mainLoopLagMs, ...this.hostLag.values());
    if (generator.cpuPct !== undefined) this.gauges.get('generator_cpu_pct')!.add(generator.cpuPct);
    const cpuPct = generator.cpuPct ?? this.timeSeries.at(-1)?.cpuPct ?? 0;
    this.gauges.get('generator_rss_mb')!.add(generator.rssMb);
    this.gauges.get('generator_loop_lag_ms')!.add(loopLagMs);
    const live = [...this.latest.values()].filter((s) => this.bots.get(s.bot)?.state === 'joined');
    const rtts = live.flatMap((s) => (s.rttMs === undefined ? [] : [s.rttMs]));
    const round = (n: number) => Math.round(n * 10) / 10;
    this.timeSeries.push({
      t,
      bots: [...this.bots.values()].filter((b) => b.state === 'joined').length,
      links: this.livePairs.size,
      videoKbps: round(live.reduce((n, s) => n + s.videoKbps, 0)),
      audioKbps: round(live.reduce((n, s) => n + s.audioKbps, 0)),
      lossPct: round(live.length === 0 ? 0 : live.reduce((n, s) => n + s.lossPct, 0) / live.length),
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
    });
  }

  /** Pairs that failed, plus pairs of bots that both joined yet never connected. Call at the end. */
  finish(): void {
    let neverConnected = 0;
    for (const [name, room] of this.rooms) {
      const joined = [...room.bots];
      for (let i = 0; i < joined.length; i++) {
        for (let j = i + 1; j < joined.length; j++) {
          if (!this.connectedPairs.has(pairKey(name, joined[i]!, joined[j]!))) neverConnected++;
        }
      }
    }
    const failedAfterConnecting = [...this.failedPairs].filter((k) => this.connectedPairs.has(k)).length;
    this.counters.links_failed = neverConnected + failedAfterConnecting;
    const flows = [...this.videoFlows.values()];
    this.counters.video_flows = flows.filter((f) => f.started && !f.stalled).length;
    this.counters.video_flows_stalled = flows.filter((f) => f.stalled).length;
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
      if (bot.everJoined) out.joined++;
      if (bot.state === 'failed') out.failed++;
      out.signalErrors += bot.signalErrors;
    }
    return out;
  }

  worstRooms(limit = 5): RoomResult[] {
    const rows = [...this.rooms].map(([room, r]) => {
      const joined = [...r.bots];
      let connected = 0;
      let failed = 0;
      for (let i = 0; i < joined.length; i++) {
        for (let j = i + 1; j < joined.length; j++) {
          const key = pairKey(room, joined[i]!, joined[j]!);
          if (this.connectedPairs.has(key)) connected++;
          if (this.failedPairs.has(key) || !this.connectedPairs.has(key)) failed++;
        }
      }
      return {
        room,
        bots: r.bots.size,
        linksExpected: (r.expectedBots * (r.expectedBots - 1)) / 2,
        linksConnected: connected,
        linksFailed: failed,
        lossPct: r.lossCount === 0 ? 0 : Math.round((r.lossSum / r.lossCount) * 10) / 10,
        minVideoFps: Number.isFinite(r.minFps) ? r.minFps : 0,
      };
    });
    const score = (r: RoomResult) => (r.linksExpected === 0 ? 1 : r.linksConnected / r.linksExpected);
    return rows
      .sort((a, b) => score(a) - score(b) || b.lossPct - a.lossPct || a.minVideoFps - b.minVideoFps)
      .slice(0, limit);
  }

  worstBots(limit = 5): BotResult[] {
    const rows: BotResult[] = [...this.bots].map(([bot, b]) => ({
      bot,
      room: b.room,
      state: b.state,
      ...(b.error === undefined ? {} : { error: b.error }),
      ...(b.meshReadyMs === undefined ? {} : { meshReadyMs: Math.round(b.meshReadyMs) }),
      linksConnected: b.connected.size,
      linksExpected: (this.rooms.get(b.room)?.expectedBots ?? 1) - 1,
      lossPct: b.lossCount === 0 ? 0 : Math.round((b.lossSum / b.lossCount) * 10) / 10,
    }));
    const rank = (r: BotResult) => (r.state === 'failed' ? 0 : r.state === 'never-started' ? 1 : 2);
    return rows
      .sort(
        (a, b) =>
          rank(a) - rank(b) ||
          b.linksExpected - b.linksConnected - (a.linksExpected - a.linksConnected) ||
          (b.meshReadyMs ?? Number.POSITIVE_INFINITY) - (a.meshReadyMs ?? Number.POSITIVE_INFINITY) ||
          b.lossPct - a.lossPct,
      )
      .slice(0, limit);
  }
}
