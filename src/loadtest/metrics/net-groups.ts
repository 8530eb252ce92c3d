import type { HostEvent } from '../execute/messages.js';
import type { NetGroupPlan } from '../plan/net-plan.js';
import { Trend } from './trend.js';

type LinkSample = Extract<HostEvent, { type: 'link-sample' }>;

/** What a profile group's flows of one direction measured (its bots as senders, or as receivers). */
export interface FlowGroupStats {
  /** Directed flows (receiver ← sender) with at least one sample. */
  flows: number;
  /** Packets sent on them (audio and video, by sequence numbers), as of each flow's last sample. */
  packets: number;
  /** Of those, missing when due (before NACK repair): what the network lost. Pooled over the flows. */
  netLossPct: number;
  /** Of those, never received (after repair): what the application lost. */
  lossPct: number;
  /** Per-link samples, as the receiver measured them. */
  rttP50Ms: number;
  jitterP50Ms: number;
  jitterP95Ms: number;
  /** Per-packet one-way delay (the sampled stamps), ms. */
  latencyP50Ms: number;
  latencyP95Ms: number;
  /** Media each bot sent (for `sent`) or received (for `received`) over all its links, kbit/s, a reading a second. */
  kbpsPerBotP50: number;
  kbpsPerBotMax: number;
  framesReceived: number;
  framesIncomplete: number;
  framesCorrupt: number;
  freezeCount: number;
  freezeMs: number;
}

/** One profile group of the report: as configured (the plan) and as measured both ways. */
export interface NetGroupResult extends NetGroupPlan {
  /** Flows the group's bots sent, measured by their receivers: where an `out:` profile shows. */
  sent: FlowGroupStats;
  /** Flows the group's bots received: where an `in:` profile (and the senders' `out:`) shows. */
  received: FlowGroupStats;
}

interface FlowTotals {
  expected: number;
  lost: number;
  lostBefore: number;
  frames: LinkSample['frames'];
}

class FlowSide {
  readonly flows = new Map<string, FlowTotals>();
  readonly rtt = new Trend();
  readonly jitter = new Trend();
  readonly latency = new Trend();
  readonly kbpsPerBot = new Trend();

  add(key: string, e: LinkSample): void {
    this.flows.set(key, {
      expected: e.packetsExpected,
      lost: e.packetsLost,
      lostBefore: e.packetsLostBeforeRepair,
      frames: e.frames,
    });
    if (e.rttMs !== undefined) this.rtt.add(e.rttMs);
    this.jitter.add(e.jitterMs);
    for (const v of e.latencyMs) this.latency.add(v);
  }

  stats(): FlowGroupStats {
    const totals = [...this.flows.values()];
    const sum = (f: (t: FlowTotals) => number) => totals.reduce((n, t) => n + f(t), 0);
    const packets = sum((t) => t.expected);
    const pct = (n: number) => (packets === 0 ? 0 : round((100 * n) / packets));
    return {
      flows: totals.length,
      packets,
      netLossPct: pct(sum((t) => t.lostBefore)),
      lossPct: pct(sum((t) => t.lost)),
      rttP50Ms: round(this.rtt.percentile(50)),
      jitterP50Ms: round(this.jitter.percentile(50)),
      jitterP95Ms: round(this.jitter.percentile(95)),
      latencyP50Ms: round(this.latency.percentile(50)),
      latencyP95Ms: round(this.latency.percentile(95)),
      kbpsPerBotP50: round(this.kbpsPerBot.percentile(50)),
      kbpsPerBotMax: round(this.kbpsPerBot.percentile(100)),
      framesReceived: sum((t) => t.frames.received),
      framesIncomplete: sum((t) => t.frames.incomplete),
      framesCorrupt: sum((t) => t.frames.corrupt),
      freezeCount: sum((t) => t.frames.freezeCount),
      freezeMs: sum((t) => t.frames.freezeMs),
    };
  }
}

/**
 * The per-group half of a run's aggregate: each link sample counts for the group of its sender (`sent`)
 * and of its receiver (`received`), so a group's configured profile can be set against what was measured
 * on the direction it shapes.
 */
export class NetGroupAggregate {
  private readonly groupOf = new Map<string, number>();
  private readonly sides: Array<{ sent: FlowSide; received: FlowSide }>;

  constructor(private readonly groups: readonly NetGroupPlan[]) {
    groups.forEach((g, i) => {
      for (const bot of g.bots) this.groupOf.set(bot, i);
    });
    this.sides = groups.map(() => ({ sent: new FlowSide(), received: new FlowSide() }));
  }

  add(e: LinkSample): void {
    if (this.groups.length === 0) return;
    const key = `${e.bot}>${e.remote}`;
    const receiver = this.groupOf.get(e.bot);
    const sender = this.groupOf.get(e.remote);
    if (receiver !== undefined) this.sides[receiver]!.received.add(key, e);
    if (sender !== undefined) this.sides[sender]!.sent.add(key, e);
  }

  /** Each second: every joined bot's media rate over its live links, sent and received. */
  tick(live: readonly LinkSample[]): void {
    if (this.groups.length === 0) return;
    const sent = new Map<string, number>();
    const received = new Map<string, number>();
    for (const s of live) {
      const kbps = s.videoKbps + s.audioKbps;
      received.set(s.bot, (received.get(s.bot) ?? 0) + kbps);
      sent.set(s.remote, (sent.get(s.remote) ?? 0) + kbps);
    }
    for (const [bot, kbps] of sent) this.side(bot)?.sent.kbpsPerBot.add(kbps);
    for (const [bot, kbps] of received) this.side(bot)?.received.kbpsPerBot.add(kbps);
  }

  get empty(): boolean {
    return this.groups.length === 0;
  }

  /** The profile of a bot's group, as written; undefined without groups. */
  profileOf(bot: string): string | undefined {
    const g = this.groupOf.get(bot);
    return g === undefined ? undefined : this.groups[g]!.profile;
  }

  results(): NetGroupResult[] {
    return this.groups.map((g, i) => ({
      ...g,
      bots: [...g.bots],
      sent: this.sides[i]!.sent.stats(),
      received: this.sides[i]!.received.stats(),
    }));
  }

  private side(bot: string) {
    const g = this.groupOf.get(bot);
    return g === undefined ? undefined : this.sides[g];
  }
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}
