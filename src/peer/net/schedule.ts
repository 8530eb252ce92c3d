import { parseDuration } from '../../util/wait.js';
import {
  applyNetPatch,
  CLEAR_PROFILE,
  formatNetProfile,
  type NetPatch,
  type NetProfile,
  NetProfileError,
  parseNetPatch,
} from './profile.js';

/** One change of a schedule: from `atMs` on (time since the shaper started), `patch` applies. */
export interface NetStep {
  atMs: number;
  patch: NetPatch;
  /** The step as written, for reports: `20s:loss=15%`. */
  text: string;
}

export interface ParseScheduleOptions {
  /**
   * Whether the first step may omit its time (it then starts at 0): `loss=10%;20s:loss=0%`, the form
   * `engage join --net` takes. A load test's `--net-schedule` requires every time.
   */
  untimedFirst?: boolean;
}

const STEP_TIME = /^((?:\d+(?:\.\d+)?(?:ms|s|m|h))+):(.*)$/s;
const MAX_STEPS = 100;

/**
 * Network conditions over time: steps separated by `;`, each `TIME:PROFILE`, e.g.
 * `20s:loss=15%;40s:loss=0%`. A step changes only the keys it names (`40s:loss=0%` keeps the delay set
 * before it); `TIME:none` clears everything. Times count from the shaper's start and must increase.
 */
export class NetSchedule {
  private constructor(readonly steps: readonly NetStep[]) {}

  /** A schedule of one profile from time 0: what a plain `--net loss=5%` is. */
  static constant(text: string): NetSchedule {
    return new NetSchedule([{ atMs: 0, patch: parseNetPatch(text), text }]);
  }

  static parse(text: string, options: ParseScheduleOptions = {}): NetSchedule {
    const parts = text.split(';').map((s) => s.trim());
    if (parts.length > MAX_STEPS)
      throw new NetProfileError(`a network schedule has at most ${MAX_STEPS} steps`);
    const steps: NetStep[] = [];
    parts.forEach((part, i) => {
      if (part === '') throw new NetProfileError(`empty step ${i + 1} in network schedule "${text}"`);
      const m = STEP_TIME.exec(part);
      let atMs = 0;
      let profile = part;
      if (m) {
        atMs = parseDuration(m[1]!);
        profile = m[2]!;
      } else if (i > 0 || !options.untimedFirst) {
        throw new NetProfileError(
          `network schedule step "${part}" needs a time, like 20s:${part}` +
            (options.untimedFirst ? ' (only the first step may omit it)' : ''),
        );
      }
      const previous = steps.at(-1);
      if (previous && atMs <= previous.atMs) {
        throw new NetProfileError(
          `network schedule times must increase: "${part}" comes after ${previous.text}`,
        );
      }
      try {
        steps.push({ atMs, patch: parseNetPatch(profile), text: part });
      } catch (err) {
        throw new NetProfileError(`in step "${part}": ${(err as Error).message}`);
      }
    });
    // Applying every step from the start checks that each combination is valid (e.g. loss with burst).
    let profile: NetProfile = CLEAR_PROFILE;
    for (const step of steps) {
      try {
        profile = applyNetPatch(profile, step.patch);
      } catch (err) {
        throw new NetProfileError(`in step "${step.text}": ${(err as Error).message}`);
      }
    }
    return new NetSchedule(steps);
  }

  /**
   * One schedule doing what each of `schedules` does, in their order at equal times: a load test's share
   * profile (`--net '25%:loss=5%'`) followed by the run's `--net-schedule`.
   */
  static combine(...schedules: NetSchedule[]): NetSchedule {
    const steps = schedules.flatMap((s, order) => s.steps.map((step) => ({ step, order })));
    steps.sort((a, b) => a.step.atMs - b.step.atMs || a.order - b.order);
    return new NetSchedule(steps.map((s) => s.step));
  }

  /** The profile in force `ms` after the start, over `base` (what applies before the first step). */
  profileAt(ms: number, base: NetProfile = CLEAR_PROFILE): NetProfile {
    let profile = base;
    for (const step of this.steps) {
      if (step.atMs > ms) break;
      profile = applyNetPatch(profile, step.patch);
    }
    return profile;
  }

  /** The times at which the profile changes, after the start. */
  get changeTimesMs(): number[] {
    return [...new Set(this.steps.map((s) => s.atMs).filter((t) => t > 0))];
  }

  /** `loss=10%;20s:loss=0%` in canonical form: each step's whole profile, for reports. */
  describe(base: NetProfile = CLEAR_PROFILE): string {
    const times = [0, ...this.changeTimesMs];
    return times
      .map((t) => {
        const p = formatNetProfile(this.profileAt(t, base));
        return t === 0 ? p : `${t / 1000}s:${p}`;
      })
      .join(';');
  }

  toString(): string {
    return this.steps.map((s) => s.text).join(';');
  }
}
