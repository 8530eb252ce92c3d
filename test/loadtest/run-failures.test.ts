import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { RunSummary } from '../../src/loadtest/metrics/summary.js';
import type { LoadtestOptions } from '../../src/loadtest/plan/options.js';

const SCRIPT = fileURLToPath(new URL('./run-in-child.mjs', import.meta.url));

const options: LoadtestOptions = {
  bots: 4,
  rooms: 1,
  durationMs: 60_000,
  rampPerS: 8,
  graceMs: 10_000,
  signalingOnly: false,
  video: 'builtin-light',
  audio: 'builtin-light',
  thresholds: [],
  workers: 2,
};

/**
 * Runs runLoadtest in a child process (see run-in-child.mjs) and measures how long that process lives
 * after the run returned: one that does not end by itself had something left running.
 */
function runInChild(config: { options: LoadtestOptions; throwOnTick?: number }, env: NodeJS.ProcessEnv = {}) {
  const t0 = performance.now();
  const child = spawn(process.execPath, [SCRIPT, JSON.stringify(config)], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  let returnedAt = 0;
  let killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  child.stdout.on('data', (d) => {
    out += d;
    if (out.includes('\n') && returnedAt === 0) {
      returnedAt = performance.now();
      // A process still there well after its run returned is holding something: end it and say so.
      clearTimeout(killer);
      killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    }
  });
  return new Promise<{
    result: { summary?: RunSummary; error?: string };
    runMs: number;
    lingerMs: number;
    code: number | null;
  }>((resolve) => {
    child.on('exit', (code) => {
      clearTimeout(killer);
      const exitedAt = performance.now();
      resolve({
        result: JSON.parse(out.trim() || '{}'),
        runMs: returnedAt - t0,
        lingerMs: exitedAt - returnedAt,
        code,
      });
    });
  });
}

describe('a run in which something breaks', () => {
  it('a worker that fails ends the run promptly, with the reason in the summary and its bots failed; nothing is left running', async () => {
    const { result, runMs, lingerMs, code } = await runInChild({ options }, { ENGAGE_TEST_FAIL_WORKER: '0' });
    // The process ended by itself: no worker, server process, timer or socket outlived the run.
    expect(lingerMs, 'the process outlived its run').toBeLessThan(5000);
    expect(code).toBe(0);
    const summary = result.summary!;
    expect(summary, result.error).toBeDefined();
    expect(summary.run.failures).toEqual([
      {
        component: 'host',
        host: 0,
        reason: 'Error: test hook: worker 0 failed on purpose',
        bots: expect.any(Number),
      },
    ]);
    const failedBots = summary.run.failures[0]!.bots;
    expect(failedBots).toBeGreaterThanOrEqual(1);
    expect(summary.metrics.counters.bots_failed).toBe(failedBots);
    const failed = summary.worstBots.filter((b) => b.state === 'failed');
    expect(failed).toHaveLength(failedBots);
    for (const b of failed) {
      expect(b.error).toBe('host 0 (worker thread) failed: Error: test hook: worker 0 failed on purpose');
      // Host 0 had the even-numbered bots.
      expect(Number(b.bot.slice(4)) % 2).toBe(0);
    }
    expect(summary.run.interrupted).toBe(false);
    // Planned for over a minute: over within seconds of the failure, grace included.
    expect(summary.run.durationS).toBeLessThan(15);
    expect(runMs).toBeLessThan(30_000);
  }, 90_000);

  it('a throw inside the run leaves no worker, timer or embedded server running', async () => {
    const { result, lingerMs, code } = await runInChild({ options, throwOnTick: 2 });
    expect(lingerMs, 'the process outlived its run').toBeLessThan(5000);
    expect(code).toBe(0);
    expect(result).toEqual({ error: 'the progress renderer broke' });
  }, 90_000);
});
