import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bucketsOf } from '../../src/loadtest/metrics/prometheus.js';
import type { RunSummary } from '../../src/loadtest/metrics/summary.js';

const BIN = fileURLToPath(new URL('../../bin/engage.js', import.meta.url));

/** `name{labels} value` lines of a Prometheus text exposition, by series (name and labels). */
function parseSeries(text: string): Map<string, number> {
  const series = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    series.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return series;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('engage loadtest --metrics-port', () => {
  let dir: string;
  const scrapes: Map<string, number>[] = [];
  let final: Map<string, number>;
  let report: RunSummary;
  let code: number | null;
  let stderr = '';

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'engage-live-'));
    const json = join(dir, 'run.json');
    const child = spawn(
      process.execPath,
      [
        BIN,
        'loadtest',
        '-n',
        '4',
        '--ramp',
        '4',
        '--duration',
        '4s',
        '--sample-interval',
        '1s',
        '--chat-interval',
        '1s',
        '--workers',
        '1',
        '--run-id',
        'live1',
        '--metrics-port',
        '0',
        '--metrics-hold',
        '4s',
        '--json',
        json,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const exited = once(child, 'exit');
    let done = false;
    void exited.then(() => {
      done = true;
    });
    while (!done && !/live metrics: (\S+)/.test(stderr)) await sleep(100);
    const url = /live metrics: (\S+)/.exec(stderr)![1]!;
    // Scrape through the run, then once the run is over and its final figures are held.
    while (!done && !stderr.includes('run over')) {
      scrapes.push(parseSeries(await (await fetch(url)).text()));
      await sleep(700);
    }
    final = parseSeries(await (await fetch(url)).text());
    [code] = (await exited) as [number | null];
    report = JSON.parse(await readFile(json, 'utf8')) as RunSummary;
  }, 120_000);

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const series = (name: string, extra = '') => `engage_loadtest_${name}{run="live1",shard="0"${extra}}`;

  it('shows counters that grow during the run', () => {
    expect(code, stderr).toBe(0);
    const chat = scrapes.map((s) => s.get(series('chat_sent_total'))!);
    expect(chat.every((n) => Number.isFinite(n))).toBe(true);
    expect(chat.some((n, i) => i > 0 && n > chat[i - 1]!)).toBe(true);
    const joined = scrapes.map((s) => s.get(series('bots_joined_total'))!);
    expect(joined[0]).toBeLessThan(4);
    expect(joined.at(-1)).toBe(4);
  });

  it('ends with the report’s counters and histogram buckets that match its samples', () => {
    for (const [name, n] of Object.entries(report.metrics.counters))
      expect(final.get(series(`${name}_total`)), name).toBe(n);
    const samples = report.parts[0]!.trends;
    for (const [name, stats] of Object.entries(report.metrics.trends)) {
      expect(final.get(series(`${name}_count`)), name).toBe(stats.count);
      for (const le of bucketsOf(name))
        expect(final.get(series(`${name}_bucket`, `,le="${le}"`)), `${name} le=${le}`).toBe(
          samples[name]!.filter((v) => v <= le).length,
        );
      expect(final.get(series(`${name}_bucket`, ',le="+Inf"'))).toBe(stats.count);
    }
    expect(report.metrics.trends.ice_connect_ms.count).toBeGreaterThan(0);
  });
});
