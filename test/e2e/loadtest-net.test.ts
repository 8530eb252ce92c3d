import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunSummary } from '../../src/loadtest/metrics/summary.js';
import { assignNetShares, parseNetShare } from '../../src/peer/net/shares.js';
import { type Coturn, hasCoturn, startCoturn } from '../helpers/coturn.js';
import { runEngage, validateReport as validate } from '../helpers/engage-cli.js';

/*
 * engage loadtest with impaired networks and TURN, from the command line, with real werift bots: what
 * the report says each profile group measured, against what was configured.
 */

async function loadtest(args: string[]): Promise<{ code: number | null; stdout: string; r: RunSummary }> {
  const dir = await mkdtemp(join(tmpdir(), 'engage-loadnet-'));
  try {
    const json = join(dir, 'run.json');
    const { code, stdout, stderr } = await runEngage(['loadtest', '--json', json, ...args]);
    let r: RunSummary;
    try {
      r = JSON.parse(readFileSync(json, 'utf8')) as RunSummary;
    } catch {
      throw new Error(`no report (exit ${code}):\n${stdout}\n${stderr}`);
    }
    expect(validate(r), JSON.stringify(validate.errors)).toBe(true);
    return { code, stdout: `${stdout}\n${stderr}`, r };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const LIGHT = ['--ramp', '8', '--sample-interval', '1s', '--chat-interval', '2s'];

describe('engage loadtest --net, --net-schedule, --relay-only (CLI)', () => {
  // rate=200kbit is measured by test/peer/net-impairment.test.ts (two bots): in a mesh, a capped bot's
  // saturated uplink (bots have no congestion control) also starves its other links' DTLS handshakes.
  it("a share at loss=10% measures 10% ± 3 on what it sent, the other bots' traffic stays clean", async () => {
    const shares = ['25%:loss=10%'];
    const { code, stdout, r } = await loadtest([
      '-n',
      '4',
      '--duration',
      '12s',
      ...LIGHT,
      ...shares.flatMap((s) => ['--net', s]),
      '--threshold',
      'frames_corrupt:count==0',
      '--threshold',
      'links_failed:count==0',
      '--threshold',
      'media_latency_ms:p(50)<50',
    ]);
    expect(code, stdout).toBe(0);
    expect(r.plan.net).toEqual({ profiles: shares, iceServers: 0, relayOnly: false });
    const groups = r.netGroups!;
    expect(groups.map((g) => [g.profile, g.bots.length])).toEqual([
      ['loss=10%', 1],
      ['none', 3],
    ]);
    // Deterministic: the same bots as the share assignment gives, every run.
    const assigned = assignNetShares(4, shares.map(parseNetShare));
    expect(groups[0]!.bots).toEqual([`bot-${assigned.indexOf(0)}`]);
    const [lossy, clean] = groups as [(typeof groups)[0], (typeof groups)[0]];

    // Loss: configured 10% on what the bot sends; measured at its three receivers, before repair.
    expect(lossy.configured.out.lossPct).toBe(10);
    expect(lossy.sent.flows).toBe(3);
    expect(lossy.sent.packets).toBeGreaterThan(600);
    expect(lossy.sent.netLossPct).toBeGreaterThan(7);
    expect(lossy.sent.netLossPct).toBeLessThan(13);
    // NACK repairs the video: what stays lost is well under what the network lost.
    expect(lossy.sent.lossPct).toBeLessThan(lossy.sent.netLossPct * 0.8);
    // The clean bots' own traffic crosses no impairment.
    expect(clean.sent.flows).toBe(9);
    expect(clean.sent.netLossPct).toBeLessThan(0.5);
    // What the clean bots received: a third of it from the lossy bot.
    expect(clean.received.netLossPct).toBeGreaterThan(1.5);
    expect(clean.received.netLossPct).toBeLessThan(6);
    // Each bot sends the clip (~150 kbit/s) to three peers.
    expect(clean.sent.kbpsPerBotP50).toBeGreaterThan(300);
    expect(lossy.sent.rttP50Ms).toBeLessThan(50);

    const c = r.metrics.counters;
    expect(c.links_host).toBe(6);
    expect(c.links_relay).toBe(0);
    expect(c.frames_received).toBeGreaterThan(500);
    expect(c.frames_corrupt).toBe(0);
    expect(c.freeze_count).toBe(groups.reduce((n, g) => n + g.received.freezeCount, 0));
    expect(r.metrics.trends.media_latency_ms.count).toBeGreaterThan(100);
    expect(r.metrics.trends.turn_allocate_ms.count).toBe(0);
    expect(r.worstBots.find((b) => b.bot === lossy.bots[0])?.net).toBe('loss=10%');
    expect(stdout).toMatch(/NETWORK PROFILES/);
    expect(stdout).toMatch(/loss=10% +1 +10% → [\d.]+%/);
    expect(stdout).toMatch(/carried by +host 6 of 6 connected/);
  }, 90_000);

  it('a --net-schedule that clears loss midway: the time series shows the loss, then none', async () => {
    const { code, stdout, r } = await loadtest([
      '-n',
      '3',
      '--duration',
      '16s',
      ...LIGHT,
      '--net-schedule',
      '4s:loss=20%;9s:loss=0%',
    ]);
    expect(code, stdout).toBe(0);
    expect(r.netGroups!.map((g) => [g.profile, g.schedule, g.bots.length])).toEqual([
      ['none', 'none;4s:loss=20%;9s:none', 3],
    ]);
    // Each point holds every link's latest 1 s sample: a point at t covers about t-1 to t, and on a
    // loaded machine a sample can arrive a second or two late, so recovery is read from 3 s after.
    const during = r.timeSeries.filter((p) => p.t >= 6 && p.t <= 9);
    const after = r.timeSeries.filter((p) => p.t >= 12 && p.links === 3);
    expect(during.length).toBeGreaterThanOrEqual(3);
    expect(after.length).toBeGreaterThanOrEqual(3);
    const avg = during.reduce((n, p) => n + p.netLossPct, 0) / during.length;
    expect(avg, JSON.stringify(during)).toBeGreaterThan(12);
    expect(avg).toBeLessThan(28);
    for (const p of after) {
      expect(p.netLossPct, `t=${p.t}`).toBe(0);
      expect(p.lossPct, `t=${p.t}`).toBe(0);
    }
    expect(r.timeSeries.at(-2)!.videoKbps).toBeGreaterThan(200);
  }, 90_000);

  describe.skipIf(!hasCoturn())('through coturn', () => {
    let turn: Coturn;
    beforeAll(async () => {
      turn = await startCoturn();
    });
    afterAll(async () => {
      await turn?.close();
    });

    it('four bots with --relay-only: the report says relay for all six links, and video flows both ways', async () => {
      const { code, stdout, r } = await loadtest([
        '-n',
        '4',
        '--duration',
        '6s',
        ...LIGHT,
        '--relay-only',
        '--ice-server',
        turn.url(),
        '--threshold',
        'links_relay:count==6',
      ]);
      expect(code, `${stdout}\ncoturn:\n${turn.log().slice(-2000)}`).toBe(0);
      const c = r.metrics.counters;
      expect([c.links_connected, c.links_relay, c.links_host]).toEqual([6, 6, 0]);
      expect([c.video_flows, c.video_flows_stalled]).toEqual([12, 0]);
      expect(c.frames_corrupt).toBe(0);
      expect(r.metrics.trends.video_bitrate_kbps.p50).toBeGreaterThan(50);
      // One allocation per link end, timed.
      expect(r.metrics.trends.turn_allocate_ms.count).toBe(12);
      expect(r.metrics.trends.turn_allocate_ms.max).toBeLessThan(10_000);
      expect(r.plan.net).toEqual({ profiles: [], iceServers: 1, relayOnly: true });
      // Credentials stay out of the report.
      expect(JSON.stringify(r)).not.toContain('test-secret');
      expect(stdout).toMatch(/carried by +relay 6 of 6 connected {2}\(--relay-only\)/);
      expect((turn.log().match(/ALLOCATE processed, success/g) ?? []).length).toBeGreaterThanOrEqual(12);
    }, 90_000);
  });

  it('refuses a wrong --net, --net-schedule or --relay-only without TURN with exit 2 before any bot starts', async () => {
    for (const args of [
      ['--net', '150%:loss=1%'],
      ['--net', 'loss=5'],
      ['--net-schedule', 'loss=5%'],
      ['--relay-only'],
      ['--signaling-only', '--net', 'loss=1%'],
    ]) {
      const { code, stderr } = await runEngage(['loadtest', '-n', '2', ...args]);
      expect(code, `${args.join(' ')}: ${stderr}`).toBe(2);
      expect(stderr).not.toMatch(/starting/);
    }
  }, 60_000);
});
