import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePrometheus } from '../../src/loadtest/metrics/server-metrics.js';
import type { RunSummary } from '../../src/loadtest/metrics/summary.js';
import { RedisProcess } from '../helpers/redis.js';
import { ServeProcess } from '../helpers/serve-process.js';

const BIN = fileURLToPath(new URL('../../bin/engage.js', import.meta.url));
const SCHEMA = JSON.parse(
  readFileSync(new URL('../../schema/loadtest-report.schema.json', import.meta.url), 'utf8'),
);
const validate = new Ajv({ allErrors: true }).compile(SCHEMA);

function engage(args: string[]) {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => {
    stdout += d;
  });
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  return once(child, 'exit').then(([code]) => ({ code: code as number | null, stdout, stderr }));
}

/** engage_messages_in_total summed over actions, read straight from an instance. */
async function messagesIn(serve: ServeProcess): Promise<number> {
  const s = parsePrometheus(await serve.metrics());
  return s.samples.filter((x) => x.name === 'engage_messages_in_total').reduce((n, x) => n + x.value, 0);
}

/** The smallest load balancer: each TCP connection to the next instance in turn (WebSocket upgrades pass). */
async function roundRobin(ports: number[]): Promise<{ server: Server; url: string }> {
  let next = 0;
  const server = createServer((client) => {
    const upstream = connect(ports[next++ % ports.length]!, '127.0.0.1');
    client.pipe(upstream).pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, url: `ws://127.0.0.1:${(server.address() as { port: number }).port}` };
}

describe('engage loadtest --url A --url B --url C against three engage serve --redis', () => {
  let redis: RedisProcess;
  let dir: string;
  const serves: ServeProcess[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'engage-load-cluster-'));
    redis = await RedisProcess.start();
    for (const id of ['a', 'b', 'c'])
      serves.push(await ServeProcess.start(['--redis', redis.url, '--instance-id', id]));
  }, 60_000);
  afterAll(async () => {
    await Promise.all(serves.map((s) => s.stop()));
    await redis?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('signaling-only: every room spans the instances and meshes; each instance is counted, and the sums match', async () => {
    const urls = serves.map((s) => s.url);
    const before = await Promise.all(serves.map(messagesIn));
    const json = join(dir, 'signaling.json');
    const html = join(dir, 'signaling.html');
    const { code, stdout, stderr } = await engage([
      'loadtest',
      '-n',
      '30',
      '--rooms',
      '6',
      ...urls.flatMap((u) => ['--url', u]),
      '--signaling-only',
      '--ramp',
      '30',
      '--duration',
      '3s',
      '--threshold',
      'links_failed:count==0',
      '--threshold',
      'signal_errors:count==0',
      '--json',
      json,
      '--html',
      html,
    ]);
    expect(code, `${stdout}\n${stderr}`).toBe(0);
    const after = await Promise.all(serves.map(messagesIn));
    const r = JSON.parse(readFileSync(json, 'utf8')) as RunSummary;
    expect(validate(r), JSON.stringify(validate.errors)).toBe(true);
    expect(r.run.urls).toEqual(urls);
    // Rooms of 5 over 3 instances: a room's members sit on all three, so every link crossed Redis.
    expect(r.metrics.counters.links_connected).toBe(60);
    expect(r.metrics.counters.bots_joined).toBe(30);
    const instances = r.server.instances!;
    expect(
      instances.map((i) => [i.url, i.bots, i.botsJoined, i.botsFailed, i.signalErrors, i.source]),
    ).toEqual(urls.map((u) => [u, 10, 10, 0, 0, 'remote']));
    for (const [k, i] of instances.entries()) {
      expect(i.peakSockets).toBe(10);
      expect(i.errors).toEqual({});
      // What the instance itself counted over the run (the test's own reads bracket the run's).
      expect(i.messagesIn).toBe(after[k]! - before[k]!);
      expect(i.messagesOut).toBeGreaterThan(0);
    }
    const sum = (f: (i: (typeof instances)[number]) => number | undefined) =>
      instances.reduce((n, i) => n + (f(i) ?? 0), 0);
    expect(r.server.source).toBe('remote');
    expect(r.server.messagesIn).toBe(sum((i) => i.messagesIn));
    expect(r.server.messagesOut).toBe(sum((i) => i.messagesOut));
    expect(r.server.peakSockets).toBe(30);
    // The time series carries each instance's sockets as read every second.
    for (const k of [0, 1, 2]) expect(Math.max(...r.timeSeries.map((p) => p.instanceSockets![k]!))).toBe(10);
    // 30 joins, 60 offers and 60 answers at least.
    expect(r.server.messagesIn).toBeGreaterThanOrEqual(150);
    expect(stdout).toContain(
      `servers ${urls.join(', ')} (3 instances; each room's members spread over them)`,
    );
    for (const u of urls) expect(stdout).toMatch(new RegExp(`  ${u.replace(/\./g, '\\.')} +10/10 +0 +10 `));
    const page = readFileSync(html, 'utf8');
    expect(page).toContain('<h2>Instances</h2>');
    expect(page).toContain('<span class="tag">3 instances</span>');
    expect(page).toContain('<h3>Sockets per instance (count, read each second)</h3>');
  }, 120_000);

  it('through a round-robin load balancer: the mesh still forms, and one URL reaching several instances is no metric', async () => {
    const lb = await roundRobin(serves.map((s) => Number(new URL(s.url).port)));
    try {
      const json = join(dir, 'balanced.json');
      const { code, stdout, stderr } = await engage([
        'loadtest',
        '-n',
        '10',
        '--rooms',
        '2',
        '--url',
        lb.url,
        '--signaling-only',
        '--ramp',
        '20',
        '--duration',
        '2s',
        '--threshold',
        'links_failed:count==0',
        '--json',
        json,
      ]);
      expect(code, `${stdout}\n${stderr}`).toBe(0);
      const r = JSON.parse(readFileSync(json, 'utf8')) as RunSummary;
      expect(r.metrics.counters.links_connected).toBe(20);
      expect(r.server.source).toBe('unavailable');
      expect(r.server.note).toMatch(
        new RegExp(`^${lb.url} reaches several instances \\(its /healthz named [abc], [abc], [abc]\\)`),
      );
    } finally {
      lb.server.close();
    }
  }, 120_000);

  it('werift bots, one on each instance: a full mesh with video both ways', async () => {
    const urls = serves.map((s) => s.url);
    const json = join(dir, 'media.json');
    const { code, stdout, stderr } = await engage([
      'loadtest',
      '-n',
      '3',
      ...urls.flatMap((u) => ['--url', u]),
      '--ramp',
      '10',
      '--duration',
      '4s',
      '--sample-interval',
      '1s',
      '--audio',
      'none',
      '--threshold',
      'links_failed:count==0',
      '--json',
      json,
    ]);
    expect(code, `${stdout}\n${stderr}`).toBe(0);
    const r = JSON.parse(readFileSync(json, 'utf8')) as RunSummary;
    expect(validate(r), JSON.stringify(validate.errors)).toBe(true);
    expect(r.metrics.counters.links_connected).toBe(3);
    expect(r.metrics.counters.video_flows).toBe(6);
    expect(r.metrics.counters.video_flows_stalled).toBe(0);
    expect(r.server.instances!.map((i) => [i.bots, i.botsJoined])).toEqual([
      [1, 1],
      [1, 1],
      [1, 1],
    ]);
  }, 120_000);
});
