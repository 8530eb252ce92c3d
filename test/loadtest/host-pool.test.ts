import { describe, expect, it } from 'vitest';
import { execute, type Phase } from '../../src/loadtest/execute/executor.js';
import { failOnPurposeFromEnv, HostPool } from '../../src/loadtest/execute/host-pool.js';
import type { BotSpec, PoolEvent } from '../../src/loadtest/execute/messages.js';
import { makePlan, type PlannedBot } from '../../src/loadtest/plan/plan.js';
import { useServer } from '../helpers/server.js';

// Real worker threads (from dist/: run `npm run build` first) and a real server on 127.0.0.1.
const server = useServer();

const specFor =
  (url: string, plan: ReturnType<typeof makePlan>) =>
  (bot: PlannedBot): BotSpec => ({
    name: bot.name,
    room: bot.room,
    url,
    mode: 'signaling-only',
    video: 'none',
    audio: 'none',
    expectedPeers: plan.rooms.get(bot.room)!.length - 1,
    chatIntervalMs: 5000,
    sampleIntervalMs: 5000,
  });

function recorder() {
  const events: PoolEvent[] = [];
  const failed = new AbortController();
  return {
    events,
    failed,
    onEvent: (e: PoolEvent) => {
      events.push(e);
      if (e.type === 'host_failed') failed.abort();
    },
    joined: () =>
      events.flatMap((e) =>
        e.type === 'host_event' && e.event.type === 'bot' && e.event.state === 'joined' ? [e.event.bot] : [],
      ),
  };
}

describe('host pool and executor', () => {
  it('run the plan: ramp, hold, leave; every bot joins and leaves on its host', async () => {
    const plan = makePlan({ bots: 4, rooms: 1, rampPerS: 20 });
    const r = recorder();
    const pool = await HostPool.start({ workers: 2, onEvent: r.onEvent });
    const phases: Phase[] = [];
    try {
      const outcome = await execute({
        plan,
        pool,
        spec: specFor(server.url, plan),
        durationMs: 500,
        graceMs: 10_000,
        interrupt: new AbortController().signal,
        abort: r.failed.signal,
        onPhase: (p) => phases.push(p),
      });
      expect(outcome).toEqual({ end: 'completed', graceOver: false });
    } finally {
      await pool.close();
    }
    expect(phases).toEqual(['ramp', 'steady', 'leaving']);
    expect(r.joined().sort()).toEqual(['bot-0', 'bot-1', 'bot-2', 'bot-3']);
    // Round robin: bot i on host i mod 2; each host stopped once its bots had left.
    const hostOf = new Map(
      r.events.flatMap((e) =>
        e.type === 'host_event' && e.event.type === 'bot' ? [[e.event.bot, e.host]] : [],
      ),
    );
    expect([...hostOf].sort()).toEqual([
      ['bot-0', 0],
      ['bot-1', 1],
      ['bot-2', 0],
      ['bot-3', 1],
    ]);
    const stopped = r.events.filter((e) => e.type === 'host_event' && e.event.type === 'stopped');
    expect(stopped.map((e) => e.host).sort()).toEqual([0, 1]);
    expect(r.events.some((e) => e.type === 'host_failed')).toBe(false);
  }, 30_000);

  for (const how of ['throw', 'exit'] as const) {
    it(`turn a worker that fails (${how}) into host_failed naming its bots, and end the run at once`, async () => {
      const plan = makePlan({ bots: 4, rooms: 1, rampPerS: 20 });
      const r = recorder();
      const pool = await HostPool.start({ workers: 2, onEvent: r.onEvent, failOnPurpose: { host: 1, how } });
      const t0 = performance.now();
      try {
        const outcome = await execute({
          plan,
          pool,
          spec: specFor(server.url, plan),
          durationMs: 60_000,
          graceMs: 10_000,
          interrupt: new AbortController().signal,
          abort: r.failed.signal,
        });
        expect(outcome.end).toBe('aborted');
      } finally {
        await pool.close();
        await pool.close(); // idempotent
      }
      // Planned for a minute; over within seconds of the failure.
      expect(performance.now() - t0).toBeLessThan(15_000);
      const failures = r.events.filter((e) => e.type === 'host_failed');
      expect(failures).toHaveLength(1);
      const failure = failures[0] as Extract<PoolEvent, { type: 'host_failed' }>;
      expect(failure.host).toBe(1);
      expect(failure.reason).toBe(
        how === 'throw' ? 'Error: test hook: worker 1 failed on purpose' : 'exited unexpectedly with code 3',
      );
      // The failed host's bots (1 and 3, those sent to it by then), never the other host's.
      expect(failure.bots.length).toBeGreaterThan(0);
      for (const bot of failure.bots) expect(['bot-1', 'bot-3']).toContain(bot);
      // After the failure nothing more comes from that host.
      const after = r.events.slice(r.events.indexOf(failure) + 1);
      expect(after.some((e) => e.type === 'host_event' && e.host === 1)).toBe(false);
      expect(() => pool.start(0, specFor(server.url, plan)(plan.bots[0]!))).toThrow(/host pool is closed/);
    }, 30_000);
  }

  it('an interrupt ends the hold at once (bots on the main thread); the test hook is read from ENGAGE_TEST_FAIL_WORKER', async () => {
    expect(failOnPurposeFromEnv('0')).toEqual({ host: 0, how: 'throw' });
    expect(failOnPurposeFromEnv(' 2:exit ')).toEqual({ host: 2, how: 'exit' });
    expect(failOnPurposeFromEnv('soon')).toBeUndefined();
    expect(failOnPurposeFromEnv(undefined)).toBeUndefined();

    const plan = makePlan({ bots: 2, rooms: 1, rampPerS: 20 });
    const r = recorder();
    const pool = await HostPool.start({ workers: 0, onEvent: r.onEvent });
    const interrupt = new AbortController();
    setTimeout(() => interrupt.abort(), 500);
    try {
      const outcome = await execute({
        plan,
        pool,
        spec: specFor(server.url, plan),
        durationMs: 60_000,
        graceMs: 60_000,
        interrupt: interrupt.signal,
        abort: r.failed.signal,
      });
      expect(outcome).toEqual({ end: 'interrupted', graceOver: false });
    } finally {
      await pool.close();
    }
    expect(pool.kind).toBe('main thread');
  }, 30_000);
});
