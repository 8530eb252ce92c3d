import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunSummary } from '../../src/loadtest/metrics/summary.js';
import { startEngage as engage, validateReport as validate } from '../helpers/engage-cli.js';
import { oggOpusFile, opus120msPacket } from '../loadtest/opus-file.js';

describe('engage loadtest (CLI)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'engage-load-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('6 bots in 2 rooms: every link connects, media and chat are plausible, reports valid, a failed threshold exits 99', async () => {
    const json = join(dir, 'run.json');
    const html = join(dir, 'run.html');
    const run = engage([
      'loadtest',
      '-n',
      '6',
      '--rooms',
      '2',
      '--ramp',
      '6',
      '--duration',
      '5s',
      '--sample-interval',
      '1s',
      '--chat-interval',
      '1s',
      '--json',
      json,
      '--html',
      html,
      '--threshold',
      'links_failed:count==0',
      '--threshold',
      'join_ms:p(95)<0.001',
    ]);
    const { code, stdout } = await run.exited;
    expect(code, stdout).toBe(99);
    const r = JSON.parse(readFileSync(json, 'utf8')) as RunSummary;
    expect(validate(r), JSON.stringify(validate.errors)).toBe(true);

    expect(r.thresholds.map((t) => [t.threshold, t.ok])).toEqual([
      ['links_failed:count==0', true],
      ['join_ms:p(95)<0.001', false],
      ['bots_failed:count==0', true], // a default: no --threshold named bots_failed
    ]);
    const c = r.metrics.counters;
    expect(c.links_expected).toBe(6); // 2 rooms of 3: 3 pairs each
    expect(c.links_connected).toBe(6);
    expect(c.links_failed).toBe(0);
    expect(c.bots_joined).toBe(6);
    expect(c.bots_failed).toBe(0);
    expect(c.signal_errors).toBe(0);
    const t = r.metrics.trends;
    expect(t.ice_connect_ms.count).toBe(12); // both ends of 6 pairs
    expect(t.mesh_ready_ms.count).toBe(6);
    // A newcomer's wait for the members already there: every bot but the first of each room has one,
    // and it never exceeds that bot's wait for its whole mesh (which includes later joiners).
    expect(t.join_mesh_ms.count).toBe(4);
    const bots = r.parts.flatMap((p) => p.bots);
    expect(bots.length).toBe(6);
    const timed = bots.filter((b) => b.joinMeshMs !== undefined);
    expect(timed.length).toBe(4);
    for (const b of timed) expect(b.joinMeshMs!, b.bot).toBeLessThanOrEqual(b.meshReadyMs!);
    expect(new Set(bots.filter((b) => b.joinMeshMs === undefined).map((b) => b.room)).size).toBe(2);
    // The light profile sends ~118 kbps of 15 fps video and ~32 kbps of audio; a busy CI machine may
    // deliver less, but never nothing and never more than was sent.
    expect(t.video_bitrate_kbps.p50).toBeGreaterThan(50);
    expect(t.video_bitrate_kbps.p50).toBeLessThan(200);
    expect(t.video_fps.p50).toBeGreaterThan(7);
    expect(t.video_fps.p50).toBeLessThan(20);
    expect(t.audio_bitrate_kbps.p50).toBeGreaterThan(15);
    expect(t.first_frame_ms.count).toBe(12);
    expect(t.loss_pct.max).toBeLessThan(5);
    expect(t.rtt_ms.count).toBeGreaterThan(0);
    expect(t.chat_rtt_ms.count).toBeGreaterThan(0);
    expect(c.chat_received).toBeGreaterThan(0);
    expect(c.chat_received).toBeLessThanOrEqual(c.chat_sent);
    // Both ways of every link carried video in every 1 s sample once it had started.
    expect([c.video_flows, c.video_flows_stalled]).toEqual([12, 0]);
    expect(r.plan.media).toMatch(/VP8 320x180 15 fps.*Opus stereo 120 ms/);
    expect(r.server.source).toBe('embedded');
    expect(r.server.errors).toEqual({});
    // The embedded server's CPU is its own process's, shown apart from the generator's.
    expect(r.server.cpuPct!.max).toBeGreaterThan(0);
    expect(r.server.rssMb!.max).toBeGreaterThan(10);
    expect(r.generator.cpuPct.max).toBeGreaterThan(0);
    expect(r.timeSeries.filter((p) => p.serverCpuPct !== undefined).length).toBeGreaterThan(2);
    expect(r.run.failures).toEqual([]);
    expect(r.timeSeries.length).toBeGreaterThan(4);
    expect(Math.max(...r.timeSeries.map((p) => p.links))).toBe(6);

    expect(stdout).toMatch(/THRESHOLDS\n {2}✓ links_failed:count==0/);
    expect(stdout).toMatch(/✗ join_ms:p\(95\)<0.001/);
    expect(stdout).toMatch(/links\s+6\/6 connected, 0 failed/);
    expect(stdout).toMatch(/SERVER\n(.*\n)* {2}its own process: CPU avg [\d.]+% max [\d.]+%/);
    expect(stdout).toMatch(/GENERATOR\n {2}\d+ cores, \d+ worker\(s\); own CPU avg [\d.]+%/);
    expect(readFileSync(html, 'utf8')).toMatch(/<html/);
  }, 90_000);

  it('the embedded server SIGKILLed and restarted mid-run: every bot rejoins, no link drops, video keeps flowing, exit 0', async () => {
    const json = join(dir, 'restart.json');
    const { code, stdout, stderr } = await engage(
      [
        'loadtest',
        '-n',
        '4',
        '--rooms',
        '1',
        '--ramp',
        '8',
        '--duration',
        '14s',
        '--sample-interval',
        '1s',
        '--json',
        json,
        '--threshold',
        'signal_reconnects_failed:count==0',
      ],
      // Bots are in and meshed well before 5 s; the restart leaves them 9 s to rejoin and show flow.
      { ENGAGE_TEST_RESTART_SERVER_AT_MS: '5000' },
    ).exited;
    expect(code, `${stdout}\n${stderr}`).toBe(0);
    const r = JSON.parse(readFileSync(json, 'utf8')) as RunSummary;
    expect(validate(r), JSON.stringify(validate.errors)).toBe(true);
    const c = r.metrics.counters;
    expect(r.server.restarts).toBe(1);
    expect(r.run.failures).toEqual([]);
    expect([c.bots_joined, c.bots_failed]).toEqual([4, 0]);
    // Every bot came back exactly once, and each rejoin was timed.
    expect(c.signal_reconnects).toBe(4);
    expect(c.signal_reconnects_failed).toBe(0);
    expect(r.metrics.trends.reconnect_ms.count).toBe(4);
    expect(r.metrics.trends.reconnect_ms.max).toBeLessThan(9000);
    // No link was renegotiated: each end connected once (6 pairs), none failed, and video never stalled.
    expect([c.links_connected, c.links_failed]).toEqual([6, 0]);
    expect(r.metrics.trends.ice_connect_ms.count).toBe(12);
    expect([c.video_flows, c.video_flows_stalled]).toEqual([12, 0]);
    // Links stayed up through the outage: every second after the mesh formed, until the bots left,
    // counts all 6.
    const meshed = r.timeSeries.findIndex((p) => p.links === 6);
    expect(meshed).toBeGreaterThanOrEqual(0);
    const held = r.timeSeries.slice(meshed).filter((p) => p.bots === 4);
    expect(held.length).toBeGreaterThan(8);
    expect(held.map((p) => p.links)).toEqual(held.map(() => 6));
    expect(stdout).toMatch(/signal_reconnects\s+4\s+4 rejoined, 0 never came back/);
    expect(stdout).toMatch(/restarted 1 time\(s\) during the run, on purpose/);
    const t = r.metrics.trends.reconnect_ms;
    process.stderr.write(`reconnect_ms after a SIGKILLed server: min ${t.min} p50 ${t.p50} max ${t.max}\n`);
  }, 90_000);

  it('an unknown metric is a usage error (exit 2) before any bot starts', async () => {
    const t0 = Date.now();
    const { code, stderr, stdout } = await engage([
      'loadtest',
      '-n',
      '2',
      '--threshold',
      'frames_per_fortnight:avg<1',
    ]).exited;
    expect(code).toBe(2);
    expect(stderr).toMatch(/unknown metric "frames_per_fortnight"/);
    expect(stdout).toBe('');
    expect(stderr).not.toMatch(/bots \d+\/2/);
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  it('a worker that fails makes the run exit 1 promptly, saying why in the summary and both reports', async () => {
    const json = join(dir, 'failed.json');
    const html = join(dir, 'failed.html');
    const t0 = Date.now();
    const { code, stdout, stderr } = await engage(
      ['loadtest', '-n', '4', '--ramp', '8', '--duration', '60s', '--json', json, '--html', html],
      { ENGAGE_TEST_FAIL_WORKER: '1:exit' },
    ).exited;
    expect(code, stderr).toBe(1);
    expect(Date.now() - t0).toBeLessThan(30_000);
    const reason = 'host 1 (worker thread) failed: exited unexpectedly with code 3';
    expect(stdout).toMatch(
      new RegExp(`^FAILED: ${reason.replace(/[()]/g, '\\$&')}; its \\d running bots? counted failed`, 'm'),
    );
    expect(stderr).toContain(`engage: the run failed: ${reason}`);
    const r = JSON.parse(readFileSync(json, 'utf8')) as RunSummary;
    expect(validate(r), JSON.stringify(validate.errors)).toBe(true);
    expect(r.run.failures).toMatchObject([
      { component: 'host', host: 1, reason: 'exited unexpectedly with code 3' },
    ]);
    expect(r.metrics.counters.bots_failed).toBe(r.run.failures[0]!.bots);
    expect(r.run.durationS).toBeLessThan(20);
    expect(readFileSync(html, 'utf8')).toContain('<strong>Run failed</strong>');
  }, 60_000);

  it('a media file the sender cannot send, and a zero interval, exit 2 before any bot starts', async () => {
    const bad = join(dir, 'loud.ogg');
    writeFileSync(bad, oggOpusFile([opus120msPacket(300)]));
    const cases: Array<[string[], RegExp]> = [
      [
        ['--audio', bad],
        /^engage: .*loud\.ogg: Opus packet 0 \(at 0\.00 s\) is 1802 bytes, more than the 1200 bytes of one RTP packet/,
      ],
      [
        ['--sample-interval', '0'],
        /^engage: --sample-interval must be a positive duration such as 5s, got 0 ms/,
      ],
      [['--chat-interval', '0s'], /^engage: --chat-interval must be a positive duration/],
    ];
    for (const [flags, message] of cases) {
      const { code, stdout, stderr } = await engage(['loadtest', '-n', '2', ...flags]).exited;
      expect(code, stderr).toBe(2);
      expect(stderr).toMatch(message);
      // No summary and no progress line: nothing ran.
      expect(stdout).toBe('');
      expect(stderr).not.toMatch(/bots \d+\/2/);
    }
  });

  it('Ctrl-C midway stops the run, prints the summary, writes the report and exits 130', async () => {
    const json = join(dir, 'interrupted.json');
    const run = engage(['loadtest', '-n', '4', '--ramp', '4', '--duration', '60s', '--json', json]);
    const deadline = Date.now() + 30_000;
    // Interrupt once the bots are in (the non-TTY progress line comes every 5 s).
    while (!/bots 4\/4/.test(run.stderr()) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 200));
    const t0 = Date.now();
    run.child.kill('SIGINT');
    const { code, stdout } = await run.exited;
    expect(code).toBe(130);
    expect(Date.now() - t0).toBeLessThan(15_000);
    expect(stdout).toMatch(/INTERRUPTED/);
    expect(existsSync(json)).toBe(true);
    const r = JSON.parse(readFileSync(json, 'utf8')) as RunSummary;
    expect(validate(r), JSON.stringify(validate.errors)).toBe(true);
    expect(r.run.interrupted).toBe(true);
    expect(r.metrics.counters.bots_joined).toBe(4);
    expect(r.run.durationS).toBeLessThan(40);
  }, 60_000);

  it('--json - prints the report on stdout and the summary on stderr', async () => {
    const { code, stdout, stderr } = await engage([
      'loadtest',
      '-n',
      '4',
      '--signaling-only',
      '--ramp',
      '20',
      '--duration',
      '1s',
      '--json',
      '-',
    ]).exited;
    expect(code).toBe(0);
    const r = JSON.parse(stdout) as RunSummary;
    expect(validate(r), JSON.stringify(validate.errors)).toBe(true);
    expect(r.plan.mode).toBe('signaling-only');
    expect(stderr).toMatch(/engage loadtest · run/);
  }, 30_000);
});
