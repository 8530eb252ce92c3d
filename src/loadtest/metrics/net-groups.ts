import { Trend } from '../../util/trend.js';
import type { HostEvent } from '../execute/messages.js';
import type { NetGroupPlan } from '../plan/net-plan.js';

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

/**
 * One direction of a group in mergeable form (what a report's part carries): each flow's totals (a flow
 * is measured by its receiver, so by one generator), every sample, and each bot's media rate per second
 * of its run (`t`), so the rates a bot's receivers measured on several generators add up before they
 * become samples.
 */
export interface FlowSideState {
  flows: Record<string, FlowTotals>;
  rttMs: number[];
  jitterMs: number[];
  latencyMs: number[];
  /** Per bot: [t, kbps] for each second it had live flows. */
  kbpsPerBot: Record<string, Array<[number, number]>>;
}

/** A profile group as a part carries it: the plan and both directions' state. */
export interface NetGroupState extends NetGroupPlan {
  sent: FlowSideState;
  received: FlowSideState;
}

class FlowSide {
  readonly flows = new Map<string, FlowTotals>();
  readonly rtt: number[] = [];
  readonly jitter: number[] = [];
  readonly latency: number[] = [];
  readonly kbpsPerBot = new Map<string, Array<[number, number]>>();

  add(key: string, e: LinkSample): void {
    this.flows.set(key, {
      expected: e.packetsExpected,
      lost: e.packetsLost,
      lostBefore: e.packetsLostBeforeRepair,
      frames: e.frames,
    });
    if (e.rttMs !== undefined) pushFinite(this.rtt, e.rttMs);
    pushFinite(this.jitter, e.jitterMs);
    for (const v of e.latencyMs) pushFinite(this.latency, v);
  }

  addRate(bot: string, t: number, kbps: number): void {
    const series = this.kbpsPerBot.get(bot) ?? [];
    series.push([t, kbps]);
    this.kbpsPerBot.set(bot, series);
  }

  state(): FlowSideState {
    return {
      flows: Object.fromEntries(this.flows),
      rttMs: [...this.rtt],
      jitterMs: [...this.jitter],
      latencyMs: [...this.latency],
      kbpsPerBot: Object.fromEntries([...this.kbpsPerBot].map(([bot, s]) => [bot, [...s]])),
    };
  }
}

/**
 * A direction's figures from the states of every generator (`offsetS`: when each one's run clock
 * started, in seconds after the earliest): flows and samples pool, and a bot's rate in one second is the
 * sum of what each generator measured of it in that second.
 */
function flowStats(states: Array<{ side: FlowSideState; offsetS: number }>): FlowGroupStats {
  const totals = states.flatMap(({ side }) => Object.values(side.flows));
  const sum = (f: (t: FlowTotals) => number) => totals.reduce((n, t) => n + f(t), 0);
  const packets = sum((t) => t.expected);
  const pct = (n: number) => (packets === 0 ? 0 : round((100 * n) / packets));
  const pooled = (f: (s: FlowSideState) => number[]) => trendOf(states.flatMap(({ side }) => f(side)));
  const rates = new Map<string, number>();
  for (const { side, offsetS } of states)
    for (const [bot, series] of Object.entries(side.kbpsPerBot))
      for (const [t, kbps] of series) {
        const key = `${bot}@${t + offsetS}`;
        rates.set(key, (rates.get(key) ?? 0) + kbps);
      }
  const rtt = pooled((s) => s.rttMs);
  const jitter = pooled((s) => s.jitterMs);
  const latency = pooled((s) => s.latencyMs);
  const kbps = trendOf([...rates.values()]);
  return {
    flows: totals.length,
    packets,
    netLossPct: pct(sum((t) => t.lostBefore)),
    lossPct: pct(sum((t) => t.lost)),
    rttP50Ms: round(rtt.percentile(50)),
    jitterP50Ms: round(jitter.percentile(50)),
    jitterP95Ms: round(jitter.percentile(95)),
    latencyP50Ms: round(latency.percentile(50)),
    latencyP95Ms: round(latency.percentile(95)),
    kbpsPerBotP50: round(kbps.percentile(50)),
    kbpsPerBotMax: round(kbps.percentile(100)),
    framesReceived: sum((t) => t.frames.received),
    framesIncomplete: sum((t) => t.frames.incomplete),
    framesCorrupt: sum((t) => t.frames.corrupt),
    freezeCount: sum((t) => t.frames.freezeCount),
    freezeMs: sum((t) => t.frames.freezeMs),
  };
}

/**
 * The report's groups from every generator's group states (the same groups on each: shares are assigned
 * over the whole plan). One generator's states give exactly what its own run measured.
 */
export function mergeNetGroups(parts: Array<{ groups: NetGroupState[]; offsetS: number }>): NetGroupResult[] {
  const first = parts[0]?.groups ?? [];
  return first.map((g, i) => {
    const at = parts.flatMap(({ groups, offsetS }) => (groups[i] ? [{ group: groups[i]!, offsetS }] : []));
    const { sent: _sent, received: _received, ...plan } = g;
    return {
      ...plan,
      bots: [...g.bots],
      sent: flowStats(at.map(({ group, offsetS }) => ({ side: group.sent, offsetS }))),
      received: flowStats(at.map(({ group, offsetS }) => ({ side: group.received, offsetS }))),
    };
  });
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

  /** Each second `t` of the run: every joined bot's media rate over its live links, sent and received. */
  tick(t: number, live: readonly LinkSample[]): void {
    if (this.groups.length === 0) return;
    const sent = new Map<string, number>();
    const received = new Map<string, number>();
    for (const s of live) {
      const kbps = s.videoKbps + s.audioKbps;
      received.set(s.bot, (received.get(s.bot) ?? 0) + kbps);
      sent.set(s.remote, (sent.get(s.remote) ?? 0) + kbps);
    }
    for (const [bot, kbps] of sent) this.side(bot)?.sent.addRate(bot, t, kbps);
    for (const [bot, kbps] of received) this.side(bot)?.received.addRate(bot, t, kbps);
  }

  get empty(): boolean {
    return this.groups.length === 0;
  }

  /** The profile of a bot's group, as written; undefined without groups. */
  profileOf(bot: string): string | undefined {
    const g = this.groupOf.get(bot);
    return g === undefined ? undefined : this.groups[g]!.profile;
  }

  /** What a report's part carries (mergeNetGroups turns it into the report's groups). */
  state(): NetGroupState[] {
    return this.groups.map((g, i) => ({
      ...g,
      bots: [...g.bots],
      sent: this.sides[i]!.sent.state(),
      received: this.sides[i]!.received.state(),
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

function pushFinite(values: number[], v: number): void {
  if (Number.isFinite(v)) values.push(v);
}

function trendOf(values: number[]): Trend {
  const t = new Trend();
  for (const v of values) t.add(v);
  return t;
}
