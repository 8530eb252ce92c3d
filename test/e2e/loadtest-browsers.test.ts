import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunSummary } from '../../src/loadtest/metrics/summary.js';
import {
  runEngage as engage,
  startEngage as start,
  validateReport as validate,
} from '../helpers/engage-cli.js';

// Browser participants (--browsers): real Chromium pages in a load test's rooms. Like every Chromium test,
// run in a network namespace with only lo (CI's whole suite is): unshare --net bash -c 'ip link set lo up; …'.

/** Chromium renderer processes below `root` (the pages' processes), from /proc. */
function renderersUnder(root: number): number[] {
  const parent = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      parent.set(Number(name), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {}
  }
  const under = (pid: number): boolean => {
    for (let p = parent.get(pid); p !== undefined && p > 1; p = parent.get(p)) if (p === root) return true;
    return false;
  };
  return [...parent.keys()].filter((pid) => {
    try {
      return under(pid) && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('--type=renderer');
    } catch {
      return false;
    }
  });
}

async function until(cond: () => boolean, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const report = (file: string) => {
  const r = JSON.parse(readFileSync(file, 'utf8')) as RunSummary;
  expect(validate(r), JSON.stringify(validate.errors)).toBe(true);
  return r;
};

describe('engage loadtest --browsers', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'engage-browsers-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("1 room of 4 (3 bots + 1 browser): every link connects, the browser decodes every bot's video at the clip's size and rate, no freeze", async () => {
    const json = join(dir, 'four.json');
    const run = await engage([
      'loadtest',
      '-n',
      '4',
      '--browsers',
      '1',
      '--ramp',
      '4',
      '--duration',
      '12s',
      '--sample-interval',
      '2s',
      '--workers',
      '1',
      '--threshold',
      'browser_freeze_count:count==0',
      '--threshold',
      'browser_fps:avg>12',
      '--json',
      json,
    ]);
    expect(run.code, `${run.stderr}\n${run.stdout}`).toBe(0);
    const r = report(json);
    expect(r.plan).toMatchObject({ bots: 4, browsers: 1, rooms: 1, video: 'builtin-light' });
    expect(r.run.failures).toEqual([]);
    const c = r.metrics.counters;
    expect(c).toMatchObject({ links_expected: 6, links_connected: 6, links_failed: 0, bots_failed: 0 });
    expect(c.browsers_failed).toBe(0);
    // What carried every pair is known, the browser's among them (host candidates on loopback).
    expect(c.links_host).toBe(6);
    expect(c.browser_freeze_count).toBe(0);
    // Both ways of all 6 links, the browser's 3 received flows among them.
    expect(c.video_flows).toBe(12);
    // Bots answer the pings they get, and so does the browser.
    expect(c.chat_received).toBe(c.chat_sent);
    expect(r.thresholds.every((t) => t.ok)).toBe(true);

    const [browser] = r.browsers;
    expect(r.browsers).toHaveLength(1);
    expect(browser).toMatchObject({ browser: 'browser-3', state: 'left' });
    expect(browser!.remotes.map((m) => m.remote).sort()).toEqual(['bot-0', 'bot-1', 'bot-2']);
    for (const m of browser!.remotes) {
      // builtin-light is VP8 320x180 at 15 fps: what the browser's own decoder says it got.
      expect(m).toMatchObject({ width: 320, height: 180, freezeCount: 0, stalled: false, via: 'host' });
      expect(m.fpsAvg).toBeGreaterThan(12);
      expect(m.fpsAvg).toBeLessThan(16.5);
      expect(m.framesDecoded).toBeGreaterThan(100);
      expect(m.decodeMs).toBeGreaterThan(0);
      expect(m.jitterBufferMs).toBeGreaterThan(0);
    }
    const t = r.metrics.trends;
    expect(t.browser_frame_width).toMatchObject({ min: 320, max: 320 });
    expect(t.browser_frame_height).toMatchObject({ min: 180, max: 180 });
    expect(t.browser_fps.count).toBeGreaterThanOrEqual(9);
    // The bots received the browser's camera (the same clip, its own encoder).
    expect(t.video_fps.p50).toBeGreaterThan(12);
    // Its Chromium is part of generator health.
    expect(r.generator.browserCpuPct!.max).toBeGreaterThan(0);
    expect(r.generator.browserPssMb!.max).toBeGreaterThan(50);
    expect(r.timeSeries.some((p) => (p.browserCpuPct ?? 0) > 0)).toBe(true);
    expect(run.stdout).toContain('WHAT HUMANS SEE');
    expect(run.stdout).toMatch(/<- bot-0\s+320x180/);
  }, 120_000);

  it("the same room with --net loss on the bots: the browser's own figures show the freezes, and its threshold fails the run (exit 99)", async () => {
    const json = join(dir, 'impaired.json');
    const run = await engage([
      'loadtest',
      '-n',
      '4',
      '--browsers',
      '1',
      '--ramp',
      '4',
      '--duration',
      '15s',
      '--sample-interval',
      '2s',
      '--workers',
      '1',
      // Bursts of lost packets longer than NACK repairs in time: what a person on a bad uplink's far end sees.
      '--net',
      'loss=20%,burst=10',
      '--threshold',
      'browser_freeze_count:count==0',
      '--json',
      json,
    ]);
    expect(run.code, `${run.stderr}\n${run.stdout}`).toBe(99);
    const r = report(json);
    expect(r.run.failures).toEqual([]);
    expect(r.metrics.counters).toMatchObject({ links_connected: 6, links_failed: 0, browsers_failed: 0 });
    // Only the bots are shaped: the three of them in the one profile group.
    expect(r.netGroups?.map((g) => [g.profile, g.bots.length])).toEqual([['loss=20%,burst=10', 3]]);
    const [browser] = r.browsers;
    expect(browser!.remotes).toHaveLength(3);
    const freezes = browser!.remotes.reduce((n, m) => n + m.freezeCount, 0);
    const drops = browser!.remotes.reduce((n, m) => n + m.framesDropped, 0);
    expect(freezes + drops, JSON.stringify(browser)).toBeGreaterThan(0);
    expect(r.metrics.counters.browser_freeze_count).toBe(freezes);
    expect(r.thresholds.filter((t) => !t.ok)).toEqual([
      expect.objectContaining({ threshold: 'browser_freeze_count:count==0', ok: false }),
    ]);
    // The picture still arrives at the clip's size: it freezes, it is not replaced by a smaller one.
    for (const m of browser!.remotes) expect(m).toMatchObject({ width: 320, height: 180 });
    expect(r.metrics.counters.browser_concealed_samples).toBeGreaterThan(0);
  }, 120_000);

  it('a Chromium that cannot start is a counted failure with its reason, never a hang (exit 1)', async () => {
    const json = join(dir, 'broken.json');
    const t0 = Date.now();
    const run = await engage(
      ['loadtest', '-n', '2', '--browsers', '1', '--duration', '2s', '--workers', '1', '--json', json],
      { ENGAGE_CHROMIUM: '/bin/false' },
    );
    expect(run.code, run.stderr).toBe(1);
    expect(Date.now() - t0).toBeLessThan(60_000);
    const r = report(json);
    expect(r.browsers).toEqual([
      expect.objectContaining({
        browser: 'browser-1',
        state: 'failed',
        error: expect.stringMatching(/^browser: could not start: Chromium \(\/bin\/false\) could not start/),
      }),
    ]);
    expect(r.metrics.counters).toMatchObject({ browsers_failed: 1, bots_failed: 1, bots_joined: 1 });
    expect(r.run.failures).toEqual([expect.objectContaining({ component: 'browser', bots: 1 })]);
    expect(run.stderr).toContain('a browser participant failed');
  }, 90_000);

  it("a browser page whose renderer is killed mid-run is a counted failure with its reason; the bots' run carries on (exit 1)", async () => {
    const json = join(dir, 'crash.json');
    const run = start([
      'loadtest',
      '-n',
      '3',
      '--browsers',
      '1',
      '--ramp',
      '3',
      '--duration',
      '10s',
      '--workers',
      '1',
      '--json',
      json,
    ]);
    await until(() => run.stderr().includes('links 3/3'), 'the mesh of three to connect', 60_000);
    const renderers = renderersUnder(run.child.pid!);
    expect(renderers.length).toBeGreaterThan(0);
    for (const pid of renderers) process.kill(pid, 'SIGKILL');
    const result = await run.exited;
    expect(result.code, result.stderr).toBe(1);
    const r = report(json);
    expect(r.browsers[0]).toMatchObject({ browser: 'browser-2', state: 'failed' });
    expect(r.browsers[0]!.error).toMatch(/crashed|closed|stopped answering/);
    expect(r.metrics.counters).toMatchObject({ browsers_failed: 1, bots_failed: 1 });
    // The two bots stayed to the end and left cleanly.
    expect(r.worstBots.filter((b) => b.bot.startsWith('bot-')).map((b) => b.state)).toEqual(['left', 'left']);
    expect(r.run.failures).toEqual([expect.objectContaining({ component: 'browser' })]);
  }, 120_000);

  it('--browsers without Chromium is a usage error (exit 2) that says how to get one', async () => {
    const run = await engage(['loadtest', '-n', '2', '--browsers', '1'], {
      ENGAGE_CHROMIUM: '/nonexistent/chromium',
    });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('apt-get install chromium');
    const signaling = await engage(['loadtest', '-n', '2', '--browsers', '1', '--signaling-only']);
    expect(signaling.code).toBe(2);
    expect(signaling.stderr).toContain('--signaling-only');
    const tooMany = await engage(['loadtest', '-n', '2', '--browsers', '3']);
    expect(tooMany.code).toBe(2);
  }, 60_000);
});
