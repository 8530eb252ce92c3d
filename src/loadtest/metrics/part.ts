import type { ClockOffset } from '../execute/clock-offset.js';
import type { Shard } from '../plan/shard.js';
import type { GaugeState } from './gauge.js';
import type { BotRecord } from './links.js';
import type { NetGroupState } from './net-groups.js';
import type {
  BrowserResult,
  GeneratorSummary,
  PlanSummary,
  RunFailure,
  ServerSummary,
  TimePoint,
} from './summary.js';

/**
 * One generator's run in mergeable form: everything `engage report merge` needs to compute the report a
 * single run of the whole plan would have printed. Every trend keeps its exact samples (sorted), so a
 * merged percentile is the percentile of the union of every generator's samples, never a blend of
 * percentiles; counters add up; gauges keep count, sum, min, max and last; each bot carries its own
 * view of its links so a pair is judged from both ends. A summary of one generator is computed from its
 * part exactly as a merge is, so `report merge` of one part prints that part's own summary.
 */
export interface ShardPart {
  shard: Shard;
  runId: string;
  /** Hash of the plan flags (plan/shard.ts planHash): parts of different plans do not merge. */
  planHash: string;
  /** The generator machine's host name. */
  host: string;
  startedAt: string;
  endedAt: string;
  durationS: number;
  /** --start-at, when given. */
  startAt?: string;
  /** How long after --start-at this generator's ramp actually began (0 when on time or without it). */
  lateMs: number;
  /** The signaling server's clock minus this machine's (HTTP Date), when measured: sharded runs. */
  clockOffset?: ClockOffset;
  interrupted: boolean;
  failures: RunFailure[];
  url: string;
  /** Every signaling instance its bots were spread over (several --url), in --url order. */
  urls: string[];
  embeddedServer: boolean;
  /** The plan as this generator ran it (the whole plan's bots, rooms, ramp; its own workers). */
  plan: PlanSummary;
  /** Thresholds as given to this generator (METRIC:EXPR, one expression each). */
  thresholds: string[];
  /** Every sample of every trend, ascending, by trend name (catalogue names and any a newer engage adds). */
  trends: Record<string, number[]>;
  counters: Record<string, number>;
  signalErrors: Record<string, number>;
  gauges: Record<string, GaugeState>;
  bots: BotRecord[];
  timeSeries: TimePoint[];
  /** Live flows behind each point of timeSeries (same length): weights when pooling loss. */
  liveFlows: number[];
  generator: GeneratorSummary;
  server: ServerSummary;
  /** Its browser participants (--browsers), each with what it saw. */
  browsers: BrowserResult[];
  /** Its side of every --net profile group (absent without --net or --net-schedule). */
  netGroups?: NetGroupState[];
}
