import { DelayLine } from './delay-line.js';
import { type PathCounters, PathModel } from './path.js';
import { CLEAR_PROFILE, type Direction, formatNetProfile, isClear, type NetProfile } from './profile.js';
import { type Random, seededRandom } from './random.js';
import { NetSchedule } from './schedule.js';

export interface NetShaperOptions {
  /** What the network does over time (a plain profile is a one-step schedule). */
  schedule: NetSchedule;
  /** In force before the schedule's first step (a load test's `--net` under its `--net-schedule`). */
  base?: NetProfile;
  /** Same seed, same loss pattern for the same packets; default random. */
  seed?: number;
  /** performance.now()-style clock; tests pass their own. */
  now?: () => number;
  /**
   * When the schedule's time 0 is, on the `now` clock (default: when the shaper is made). A load test
   * counts every bot's schedule from the run's start, so all bots change at the same moment.
   */
  origin?: number;
  /**
   * Told when a schedule step takes effect (the profile, in canonical text, and the step's index). Steps
   * take effect with the first packet or stats call at or after their time.
   */
  onChange?: (profile: string, step: number) => void;
}

/** What a shaper did, for a report: the profile in force and each direction's counters. */
export interface NetShaperStats {
  /** Canonical text of the profile in force now. */
  profile: string;
  /** Index of the schedule step in force (0 before or at the first). */
  step: number;
  out: PathCounters;
  in: PathCounters;
}

interface Side {
  model: PathModel;
  line: DelayLine;
  /** The direction currently does nothing: packets go straight through (counted). */
  clear: boolean;
}

/**
 * One bot's network: every packet it sends (`out`) or receives (`in`), on all its links, goes through the
 * same two paths, as through one access link. Pure decisions live in PathModel; this class adds time
 * (the schedule, the delay lines). A shaper is only created for a bot given a profile: without one no
 * packet ever reaches this code.
 */
export class NetShaper {
  readonly startedAt: number;
  private readonly now: () => number;
  private readonly schedule: NetSchedule;
  private readonly base: NetProfile;
  private readonly sides: Record<Direction, Side>;
  private readonly onChange: NetShaperOptions['onChange'];
  private stepIndex = -1;
  private nextChangeAt = Number.NEGATIVE_INFINITY;
  private profileValue: NetProfile = CLEAR_PROFILE;
  private isClosed = false;

  constructor(opts: NetShaperOptions) {
    this.now = opts.now ?? (() => performance.now());
    this.startedAt = opts.origin ?? this.now();
    this.schedule = opts.schedule;
    this.onChange = opts.onChange;
    this.base = opts.base ?? CLEAR_PROFILE;
    const random: Random = opts.seed === undefined ? Math.random : seededRandom(opts.seed);
    const side = (dir: Direction): Side => ({
      model: new PathModel(this.base[dir], random),
      line: new DelayLine(this.now),
      clear: isClear(this.base[dir]),
    });
    this.sides = { out: side('out'), in: side('in') };
    this.profileValue = this.base;
    this.advance(this.now());
  }

  /** A shaper for a plain profile text, e.g. `loss=5%,delay=40ms`, or a join schedule `loss=5%;20s:none`. */
  static fromText(text: string, opts: Omit<NetShaperOptions, 'schedule'> = {}): NetShaper {
    return new NetShaper({ ...opts, schedule: NetSchedule.parse(text, { untimedFirst: true }) });
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** The profile in force now. */
  get profile(): NetProfile {
    this.advance(this.now());
    return this.profileValue;
  }

  /**
   * Offers one packet of `size` bytes to a direction: `deliver` runs when it arrives (at once when the
   * direction is clear), or never when the network loses it. Returns false when the packet is lost.
   */
  offer(direction: Direction, size: number, deliver: () => void): boolean {
    if (this.isClosed) return false;
    const now = this.now();
    if (now >= this.nextChangeAt) this.advance(now);
    const side = this.sides[direction];
    if (side.clear && side.line.size === 0) {
      side.model.counters.packets++;
      side.model.counters.bytes += size;
      deliver();
      return true;
    }
    const at = side.model.admit(now, size);
    if (at < 0) return false;
    side.line.push(at, deliver);
    return true;
  }

  stats(): NetShaperStats {
    const profile = this.profile;
    return {
      profile: formatNetProfile(profile),
      step: Math.max(0, this.stepIndex),
      out: { ...this.sides.out.model.counters },
      in: { ...this.sides.in.model.counters },
    };
  }

  /** Drops packets still in flight; later offers are dropped. Idempotent. */
  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    for (const side of Object.values(this.sides)) side.line.close();
  }

  private advance(now: number): void {
    const steps = this.schedule.steps;
    const elapsed = now - this.startedAt;
    let index = this.stepIndex;
    while (index + 1 < steps.length && steps[index + 1]!.atMs <= elapsed) index++;
    this.nextChangeAt =
      index + 1 < steps.length ? this.startedAt + steps[index + 1]!.atMs : Number.POSITIVE_INFINITY;
    if (index === this.stepIndex) return;
    this.stepIndex = index;
    this.profileValue = this.schedule.profileAt(elapsed, this.base);
    for (const dir of ['out', 'in'] as const) {
      const side = this.sides[dir];
      side.model.setProfile(this.profileValue[dir]);
      side.clear = isClear(this.profileValue[dir]);
    }
    if (index > 0) this.onChange?.(formatNetProfile(this.profileValue), index);
  }
}
