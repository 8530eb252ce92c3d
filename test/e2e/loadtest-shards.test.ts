import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ShardPart } from '../../src/loadtest/metrics/part.js';
import type { RunSummary } from '../../src/loadtest/metrics/summary.js';
import { makePlan } from '../../src/loadtest/plan/plan.js';
import { percentile } from '../../src/util/trend.js';
import {
  type EngageExit as Exit,
  startEngage as engage,
  validateReport as validate,
} from '../helpers/engage-cli.js';

const withoutFileLines = (text: string) =>
  text
    .split('\n')
    .filter((l) => !/^(JSON|HTML) report: /.test(l))
    .join('\n');

// A hold long enough for a 6-mesh to connect on a loaded 2-core machine running three generators.
const PLAN = ['-n', '12', '--rooms', '2', '--ramp', '6', '--duration', '10s', '--grace', '5s'];
const QUICK = ['--sample-interval', '1s', '--chat-interval', '1s', '--workers', '1'];

/**
 * The proof: three shard processes of one plan (12 bots in 2 rooms, every room spread over all
 * three) against one `engage serve`, merged by `engage report merge`.
 */
describe('engage loadtest --shard and engage report merge', () => {
  let dir: string;
  let server: ChildProcess;
  const shards: { exit: Exit; file: string; report: RunSummary }[] = [];
  let merged: RunSummary;
  let mergedExit: Exit;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'engage-shards-'));
    const serve = engage(['serve', '--port', '0']);
    server = serve.child;
    const [line] = (await once(server.stdout!, 'data')) as [Buffer];
    const url = /ws:\/\/\S+/.exec(String(line))![0];
    // Every shard waits for the same moment, as machines given one --start-at do.
    const startAt = new Date(Date.now() + 12_000).toISOString();
    const runs = [0, 1, 2].map((i) => {
      const file = join(dir, `shard-${i}.json`);
      // Shard 0 alone is given a threshold it must fail: its own exit code and its merge's must agree.
      const own = i === 0 ? ['--threshold', 'links_connected:count>18'] : [];
      const args = ['loadtest', ...PLAN, ...QUICK, '--url', url, '--run-id', 'sh1', '--start-at', startAt];
      return { file, run: engage([...args, '--shard', `${i}/3`, '--json', file, ...own]) };
    });
    for (const { file, run } of runs) {
      const exit = await run.exited;
      shards.push({ exit, file, report: JSON.parse(await readFile(file, 'utf8')) as RunSummary });
    }
    const all = join(dir, 'all.json');
    mergedExit = await engage([
      'report',
      'merge',
      ...shards.map((s) => s.file),
      '--json',
      all,
      '--html',
      join(dir, 'all.html'),
      // True of the merged run only: each shard sees 18 of the 30 links.
      '--threshold',
      'links_connected:count==30',
    ]).exited;
    merged = JSON.parse(await readFile(all, 'utf8')) as RunSummary;
  }, 150_000);

  afterAll(async () => {
    server?.kill('SIGTERM');
    await rm(dir, { recursive: true, force: true });
  });

  it('each shard runs its own third of every room, and writes a valid report', () => {
    for (const [i, s] of shards.entries()) {
      expect(s.exit.code, s.exit.stderr).toBe(i === 0 ? 99 : 0);
      expect(validate(s.report), JSON.stringify(validate.errors)).toBe(true);
      expect(s.report.run.shards).toMatchObject({ count: 3, included: [i], bots: 4 });
      expect(s.report.run.planHash).toBe(shards[0]!.report.run.planHash);
      // One machine, one clock: the offset measured through the server's Date header is ~0, give or
      // take the round trip and the server's own timer lag (a busy server ticks its Date late).
      const row = s.report.shards![0]!;
      expect(Math.abs(row.clockOffsetMs!), JSON.stringify(row)).toBeLessThanOrEqual(
        row.clockUncertaintyMs! + 500,
      );
    }
    const plan = makePlan({ bots: 12, rooms: 2, rampPerS: 6 }, 'sh1');
    for (const members of plan.rooms.values()) {
      const owners = members.map((m) =>
        shards.findIndex((s) => s.report.parts[0]!.bots.some((b) => b.bot === m)),
      );
      expect(new Set(owners)).toEqual(new Set([0, 1, 2]));
    }
  });

  it('merges into one report in which every expected link connected exactly once', () => {
    expect(mergedExit.code, mergedExit.stderr).toBe(0);
    expect(validate(merged), JSON.stringify(validate.errors)).toBe(true);
    const c = merged.metrics.counters;
    expect([c.links_expected, c.links_connected, c.links_failed]).toEqual([30, 30, 0]);
    expect([c.bots_joined, c.bots_failed]).toEqual([12, 0]);
    // Both ends of every planned pair say it connected; no bot is on two shards.
    const records = merged.parts.flatMap((p) => p.bots);
    expect(records.map((b) => b.bot).sort()).toEqual(Array.from({ length: 12 }, (_, i) => `bot-${i}`).sort());
    const byName = new Map(records.map((b) => [b.bot, b]));
    for (const members of makePlan({ bots: 12, rooms: 2, rampPerS: 6 }, 'sh1').rooms.values())
      for (const a of members)
        expect(byName.get(a)!.connected.sort()).toEqual(members.filter((m) => m !== a).sort());
    expect(merged.worstRooms.map((r) => r.linksConnected)).toEqual([15, 15]);
    expect(mergedExit.stdout).toContain('30/30 connected');
    expect(mergedExit.stdout).toMatch(/shard\s+host\s+bots/);
    expect(readFileSync(join(dir, 'all.html'), 'utf8')).toContain('start offset ms');
  });

  it('adds up trend counts and counters, and its percentiles are those of the union of every raw sample', () => {
    const parts: ShardPart[] = shards.map((s) => s.report.parts[0]!);
    expect(Object.keys(merged.metrics.trends).length).toBeGreaterThan(10);
    for (const [name, stats] of Object.entries(merged.metrics.trends)) {
      const counts = shards.map(
        (s) => s.report.metrics.trends[name as keyof RunSummary['metrics']['trends']].count,
      );
      expect(stats.count, name).toBe(counts.reduce((a, b) => a + b, 0));
      // Each part's samples are the ones its own summary was computed from...
      for (const [i, p] of parts.entries()) {
        const own = shards[i]!.report.metrics.trends[name as keyof RunSummary['metrics']['trends']];
        expect(p.trends[name]!.length).toBe(own.count);
        if (own.count > 0) expect(percentile(p.trends[name]!, 95)).toBe(own.p95);
      }
      // ...and the merged percentiles are exactly those of their union.
      const union = parts.flatMap((p) => p.trends[name]!).sort((a, b) => a - b);
      const expected = [0, 50, 90, 95, 99, 100].map((q) => percentile(union, q));
      expect([stats.min, stats.p50, stats.p90, stats.p95, stats.p99, stats.max], name).toEqual(
        union.length === 0 ? [0, 0, 0, 0, 0, 0] : expected,
      );
    }
    for (const name of ['bots_joined', 'chat_sent', 'chat_received', 'video_flows'] as const)
      expect(merged.metrics.counters[name]).toBe(
        shards.reduce((n, s) => n + s.report.metrics.counters[name], 0),
      );
  });

  it('exits 99 when a threshold fails on the merged data', async () => {
    const r = await engage([
      'report',
      'merge',
      ...shards.map((s) => s.file),
      '--threshold',
      'ice_connect_ms:count<60',
    ]).exited;
    expect(r.code, r.stderr).toBe(99);
    expect(r.stdout).toMatch(/✗ ice_connect_ms:count<60/);
  });

  it('refuses parts of different runs or plans, or one shard twice, with exit 2', async () => {
    const part1 = JSON.parse(await readFile(shards[1]!.file, 'utf8')) as RunSummary;
    const otherRun = join(dir, 'other-run.json');
    await writeFile(otherRun, JSON.stringify({ ...part1, parts: [{ ...part1.parts[0]!, runId: 'sh2' }] }));
    const otherPlan = join(dir, 'other-plan.json');
    await writeFile(
      otherPlan,
      JSON.stringify({ ...part1, parts: [{ ...part1.parts[0]!, planHash: '0123456789abcdef' }] }),
    );
    const cases: [string[], RegExp][] = [
      [[shards[0]!.file, otherRun], /different runs/],
      [[shards[0]!.file, otherPlan], /different plans/],
      [[shards[0]!.file, shards[0]!.file], /both hold shard 0/],
      [[join(dir, 'all.html')], /not JSON/],
    ];
    for (const [files, message] of cases) {
      const r = await engage(['report', 'merge', ...files]).exited;
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(message);
    }
  });

  it('merges one shard into exactly that shard’s own summary and exit code', async () => {
    const own = shards[0]!.exit;
    const alone = await engage(['report', 'merge', shards[0]!.file]).exited;
    expect(alone.code).toBe(own.code);
    expect(withoutFileLines(alone.stdout)).toBe(withoutFileLines(own.stdout));
    // A merged report keeps every part: merged again, it gives the same summary (the merge is lossless).
    const again = await engage([
      'report',
      'merge',
      join(dir, 'all.json'),
      '--threshold',
      'links_connected:count==30',
    ]).exited;
    expect(again.code).toBe(mergedExit.code);
    expect(withoutFileLines(again.stdout)).toBe(withoutFileLines(mergedExit.stdout));
    const shown = await engage(['report', 'show', join(dir, 'all.json')]).exited;
    expect(shown.code).toBe(0);
    expect(withoutFileLines(shown.stdout).trim()).toBe(withoutFileLines(mergedExit.stdout).trim());
  });
});

describe('engage loadtest --signaling-only --shard', () => {
  it('shards signaling-only clients the same way, its merge connects every pair once, and late shards say so', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'engage-shards-sig-'));
    const serve = engage(['serve', '--port', '0']);
    try {
      const [line] = (await once(serve.child.stdout!, 'data')) as [Buffer];
      const url = /ws:\/\/\S+/.exec(String(line))![0];
      const args = [
        'loadtest',
        '--signaling-only',
        '-n',
        '20',
        '--rooms',
        '4',
        '--ramp',
        '20',
        '--duration',
        '4s',
      ];
      const files = [0, 1].map((i) => join(dir, `sig-${i}.json`));
      // A --start-at already past when the shards are ready: both begin late, and say by how much.
      const startAt = new Date(Date.now() - 1000).toISOString();
      const shardFlags = ['--workers', '0', '--url', url, '--run-id', 'sig1', '--start-at', startAt];
      const runs = files.map(
        (file, i) => engage([...args, ...shardFlags, '--shard', `${i}/2`, '--json', file]).exited,
      );
      for (const r of await Promise.all(runs)) expect(r.code, r.stderr).toBe(0);
      const all = join(dir, 'all.json');
      const merged = await engage(['report', 'merge', ...files, '--json', all]).exited;
      expect(merged.code, merged.stderr).toBe(0);
      const report = JSON.parse(await readFile(all, 'utf8')) as RunSummary;
      const c = report.metrics.counters;
      expect([c.links_expected, c.links_connected, c.links_failed, c.bots_joined]).toEqual([40, 40, 0, 20]);
      expect(report.plan.mode).toBe('signaling-only');
      expect(report.parts.map((p) => p.bots.length)).toEqual([10, 10]);
      for (const row of report.shards!) expect(row.lateMs).toBeGreaterThan(1000);
      expect(merged.stdout).toMatch(/LATE: shard 0 began its ramp [\d.]+ s after --start-at/);
    } finally {
      serve.child.kill('SIGTERM');
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
