import { hasTurnServer, parseIceServer } from '../../peer/ice-servers.js';
import { CLEAR_PROFILE, type DirectionProfile } from '../../peer/net/profile.js';
import { NetSchedule } from '../../peer/net/schedule.js';
import { assignNetShares, type NetShare, parseNetShare } from '../../peer/net/shares.js';
import { UsageError } from '../../util/errors.js';

/**
 * A load test's network: which bots get which `--net` profile (shares assigned deterministically), the
 * `--net-schedule` every bot follows on top of it, and the ICE servers and policy every bot uses.
 */
export interface NetPlanInput {
  /** `--net` values: `PROFILE` (every bot) or `25%:PROFILE`, repeatable. */
  net?: string[];
  /** `--net-schedule`: `20s:loss=15%;40s:loss=0%`, every time given, counted from the run's start. */
  netSchedule?: string;
  iceServers?: string[];
  relayOnly?: boolean;
}

export interface NetPlan {
  shares: NetShare[];
  schedule: NetSchedule | undefined;
  iceServers: string[];
  relayOnly: boolean;
}

/** One profile group of a run, as the report shows it: what was configured, for which bots. */
export interface NetGroupPlan {
  /** Index into the shares, or -1 for the bots no share went to. */
  share: number;
  /** As written after the share (`loss=5%,delay=80ms`), or `none`. */
  profile: string;
  /** The share asked for, % of the bots (the rest for the `none` group). */
  sharePct: number;
  /** Canonical profile over time, the run's --net-schedule included: `loss=5%;20s:loss=15%`. */
  schedule: string;
  /** What the group's bots start with, per direction. */
  configured: { out: ConfiguredDirection; in: ConfiguredDirection };
  bots: string[];
}

export interface ConfiguredDirection {
  lossPct: number;
  delayMs: number;
  jitterMs: number;
  /** Rate limit, kbit/s; absent for none. */
  rateKbps?: number;
}

/** Checks every network flag (exit 2 on a wrong one) before anything starts. */
export function resolveNetPlan(input: NetPlanInput, signalingOnly: boolean): NetPlan | undefined {
  const shares = (input.net ?? []).map((text) => parseNetShare(text));
  const schedule =
    input.netSchedule === undefined
      ? undefined
      : NetSchedule.parse(input.netSchedule, { untimedFirst: false });
  const iceServers = input.iceServers ?? [];
  const parsed = iceServers.map((s) => {
    try {
      return parseIceServer(s);
    } catch (err) {
      throw new UsageError(`--ice-server: ${(err as Error).message}`);
    }
  });
  const relayOnly = input.relayOnly === true;
  if (relayOnly && !hasTurnServer(parsed))
    throw new UsageError('--relay-only needs a TURN server: --ice-server turn:user:pass@host:port');
  // Refuses shares over 100% now, with any bot count.
  assignNetShares(1, shares);
  const any = shares.length > 0 || schedule !== undefined || iceServers.length > 0 || relayOnly;
  if (!any) return undefined;
  if (signalingOnly) {
    throw new UsageError(
      '--net, --net-schedule, --ice-server and --relay-only shape media bots; signaling-only clients have no media path',
    );
  }
  return { shares, schedule, iceServers, relayOnly };
}

/**
 * Each bot's share, spread evenly over `botNames` (pass them room by room so that every room gets its
 * part), and the groups as the report
 * lists them: shares in the order given, then the bots that got none. No groups without --net or
 * --net-schedule.
 */
export function netGroups(plan: NetPlan, botNames: readonly string[]): NetGroupPlan[] {
  if (plan.shares.length === 0 && plan.schedule === undefined) return [];
  const assigned = assignNetShares(botNames.length, plan.shares);
  const groups: NetGroupPlan[] = plan.shares.map((share, i) =>
    group(i, share.text, share.sharePct, share.schedule),
  );
  const restPct = 100 - plan.shares.reduce((n, s) => n + s.sharePct, 0);
  const rest = group(-1, 'none', Math.round(restPct * 1000) / 1000, NetSchedule.constant('none'));
  assigned.forEach((share, i) => {
    (share < 0 ? rest : groups[share]!).bots.push(botNames[i]!);
  });
  return [...groups, ...(rest.bots.length > 0 ? [rest] : [])].filter((g) => g.bots.length > 0);

  function group(share: number, profile: string, sharePct: number, own: NetSchedule): NetGroupPlan {
    const whole = botSchedule(own, plan.schedule);
    const start = whole.profileAt(0, CLEAR_PROFILE);
    return {
      share,
      profile,
      sharePct,
      schedule: whole.describe(),
      configured: { out: configured(start.out), in: configured(start.in) },
      bots: [],
    };
  }
}

/** A bot's whole schedule: its share's profile (or schedule), then the run's --net-schedule. */
export function botSchedule(share: NetSchedule | undefined, run: NetSchedule | undefined): NetSchedule {
  return NetSchedule.combine(...[share, run].filter((s): s is NetSchedule => s !== undefined));
}

function configured(p: DirectionProfile): ConfiguredDirection {
  return {
    lossPct: p.lossPct,
    delayMs: p.delayMs,
    jitterMs: p.jitterMs,
    ...(p.rateBps === undefined ? {} : { rateKbps: p.rateBps / 1000 }),
  };
}
