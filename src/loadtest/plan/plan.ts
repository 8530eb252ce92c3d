import { randomBytes } from 'node:crypto';
import { UsageError } from '../../util/errors.js';

export interface PlanInput {
  bots: number;
  rooms: number;
  rampPerS: number;
  /** Signaling instances to spread the bots over (several --url); 1 when there is one server. */
  instances?: number;
  /** How many of the participants are browsers (--browsers); 0 when absent. */
  browsers?: number;
}

export interface PlannedBot {
  name: string;
  /** A headless Chromium page rather than a werift bot. */
  browser: boolean;
  room: string;
  /** Milliseconds after the run starts that this bot begins joining. */
  startAtMs: number;
  /** Index of the signaling instance (of the run's --url list) this bot connects to. */
  instance: number;
}

export interface Plan {
  runId: string;
  bots: PlannedBot[];
  /** Bot names by room, in join order. */
  rooms: Map<string, string[]>;
  /** When the last bot begins joining. */
  rampMs: number;
}

/**
 * Spreads `bots` over `rooms` (names `load-<run>-<i>`), round robin so rooms fill evenly, joining at
 * `rampPerS` bots per second overall, and over `instances` (see instanceOf).
 * The last `browsers` participants are browsers (`browser-<i>`):
 * consecutive participants go to consecutive rooms, so browsers spread over the rooms too, and they join
 * in the same ramp, once the bots before them are in.
 */
export function makePlan(input: PlanInput, runId = randomBytes(2).toString('hex')): Plan {
  if (!Number.isInteger(input.bots) || input.bots < 1)
    throw new UsageError('-n must be a whole number of bots, at least 1');
  if (!Number.isInteger(input.rooms) || input.rooms < 1) throw new UsageError('--rooms must be at least 1');
  if (input.rooms > input.bots)
    throw new UsageError(`--rooms ${input.rooms} is more than the ${input.bots} bots to put in them`);
  if (!(input.rampPerS > 0)) throw new UsageError('--ramp must be a positive number of bots per second');
  const instances = input.instances ?? 1;
  if (!Number.isInteger(instances) || instances < 1)
    throw new UsageError('there must be at least one signaling instance');
  const browsers = input.browsers ?? 0;
  if (!Number.isInteger(browsers) || browsers < 0 || browsers > input.bots)
    throw new UsageError(
      `--browsers must be a whole number from 0 to -n (${input.bots}): browsers are some of the participants`,
    );
  const rooms = new Map<string, string[]>();
  const bots: PlannedBot[] = [];
  for (let i = 0; i < input.bots; i++) {
    const room = `load-${runId}-${i % input.rooms}`;
    const browser = i >= input.bots - browsers;
    const name = `${browser ? 'browser' : 'bot'}-${i}`;
    const startAtMs = Math.round((i * 1000) / input.rampPerS);
    const members = rooms.get(room) ?? [];
    const instance = instanceOf(i % input.rooms, members.length, instances);
    bots.push({ name, room, browser, startAtMs, instance });
    rooms.set(room, [...members, name]);
  }
  return { runId, bots, rooms, rampMs: bots.at(-1)!.startAtMs };
}

/**
 * Round robin over the instances within each room, so that a room's members sit on different instances
 * (as many as the room has members), each room starting one instance further on so the instances fill
 * evenly. Plain round robin over all bots would put every member of a room on one instance whenever the
 * instance count divides the room count.
 */
export function instanceOf(roomIndex: number, memberIndex: number, instances: number): number {
  return (roomIndex + memberIndex) % instances;
}
