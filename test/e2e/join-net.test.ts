import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Bot } from '../../src/peer/bot.js';
import { parseIceServer } from '../../src/peer/ice-servers.js';
import { loadFeeds } from '../../src/peer/media/feeds.js';
import { LinkSampler } from '../../src/peer/stats.js';
import { until } from '../helpers/bots.js';
import { type Coturn, hasCoturn, startCoturn } from '../helpers/coturn.js';
import { useServer } from '../helpers/server.js';

const BIN = fileURLToPath(new URL('../../bin/engage.js', import.meta.url));

function engage(args: string[]) {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  createInterface({ input: child.stdout! }).on('line', (l) => lines.push(l));
  let stderr = '';
  child.stderr!.on('data', (d) => {
    stderr += d;
  });
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  return { child, lines, exited, stderr: () => stderr };
}

interface Event {
  event: string;
  net?: unknown;
  links?: Array<Record<string, unknown>>;
}

describe('engage join --net / --relay-only (CLI)', () => {
  const s = useServer();
  const children: ChildProcess[] = [];
  const bots: Bot[] = [];
  afterEach(async () => {
    for (const c of children.splice(0)) c.kill('SIGKILL');
    await Promise.all(bots.splice(0).map((b) => b.close()));
  });

  it('--net delay=40ms --json: the peer measures 40 ms more, and the stats carry latency, frames and the net', async () => {
    const cli = engage(['join', '--room', 'n', '--url', s.url, '--name', 'cli', '--net', 'delay=40ms']);
    children.push(cli.child);
    const json = engage([
      'join',
      '--room',
      'j',
      '--url',
      s.url,
      '--name',
      'cli',
      '--net',
      'delay=40ms',
      '--json',
      '--duration',
      '8s',
    ]);
    children.push(json.child);
    const feeds = await loadFeeds('builtin', 'builtin');
    const peer = await Bot.join({ url: s.url, room: 'j', name: 'peer', feeds });
    bots.push(peer);
    const textPeer = await Bot.join({ url: s.url, room: 'n', name: 'peer', feeds });
    bots.push(textPeer);
    await until(() => peer.links.get('cli')?.state === 'connected', 'the CLI to connect', 15_000);
    const sampler = new LinkSampler(peer.links.get('cli')!);
    await new Promise((r) => setTimeout(r, 2000));
    await sampler.sample();
    await new Promise((r) => setTimeout(r, 3000));
    const fromCli = await sampler.sample();
    // What the CLI sends is 40 ms late at the peer.
    expect(fromCli.mediaLatencyMs!.p50).toBeGreaterThan(37);
    expect(fromCli.mediaLatencyMs!.p50).toBeLessThan(50);

    expect(await json.exited).toBe(0);
    const events = json.lines.map((l) => JSON.parse(l) as Event);
    expect(events[0]).toMatchObject({ event: 'joined', net: 'delay=40ms' });
    const final = events.find((e) => e.event === 'final')!;
    expect(final.net).toMatchObject({ profile: 'delay=40ms', out: { lost: 0 } });
    const link = final.links![0]!;
    expect(link).toMatchObject({ remote: 'peer', candidateType: 'host' });
    // What the CLI receives is not delayed (only its egress is), but its round trips are.
    expect((link.mediaLatencyMs as { p50: number }).p50).toBeLessThan(10);
    expect(link.rttMs as number).toBeGreaterThan(38);
    expect(link.frames).toMatchObject({ verified: true, framesCorrupt: 0 });
    expect((link.frames as { framesReceived: number }).framesReceived).toBeGreaterThan(100);

    // The text form says the same in words.
    await until(() => cli.lines.some((l) => l.startsWith('stats: net ')), 'a text stats line', 15_000);
    const stats = cli.lines.find((l) => l.startsWith('stats: peer connected'))!;
    expect(stats).toMatch(
      /latency [\d.]+ ms \(p95 [\d.]+\) frames \d+ \(\d+ decodable, 0 incomplete, 0 corrupt\)/,
    );
    expect(stats).toMatch(/via host$/);
    expect(cli.lines.find((l) => l.startsWith('stats: net '))).toMatch(
      /^stats: net delay=40ms · out \d+ packets, 0 lost \(0%\) · in \d+ packets, 0 lost \(0%\)$/,
    );
    expect(cli.lines[0]).toMatch(/with net delay=40ms$/);
  }, 60_000);

  it('refuses a wrong profile or --relay-only without TURN with exit code 2 and what to write', async () => {
    const bad = engage(['join', '--room', 'r', '--url', s.url, '--net', 'loss=5']);
    expect(await bad.exited).toBe(2);
    expect(bad.stderr()).toMatch(/loss takes a percentage from 0% to 100%, got "5"/);
    const badStep = engage(['join', '--room', 'r', '--url', s.url, '--net', 'loss=5%;loss=0%']);
    expect(await badStep.exited).toBe(2);
    expect(badStep.stderr()).toMatch(/needs a time, like 20s:loss=0%/);
    const noTurn = engage(['join', '--room', 'r', '--url', s.url, '--relay-only']);
    expect(await noTurn.exited).toBe(2);
    expect(noTurn.stderr()).toMatch(/--relay-only needs a TURN server/);
  }, 30_000);

  describe.skipIf(!hasCoturn())('through coturn', () => {
    let turn: Coturn;
    beforeAll(async () => {
      turn = await startCoturn();
    });
    afterAll(async () => {
      await turn?.close();
    });

    it('--relay-only --ice-server turn:...?transport=tcp: the link is a relay over TCP, with its allocation time', async () => {
      const url = turn.url('tcp');
      const cli = engage([
        'join',
        '--room',
        't',
        '--url',
        s.url,
        '--name',
        'cli',
        '--relay-only',
        '--ice-server',
        url,
        '--json',
        '--duration',
        '7s',
      ]);
      children.push(cli.child);
      const peer = await Bot.join({
        url: s.url,
        room: 't',
        name: 'peer',
        feeds: await loadFeeds('builtin-light', 'builtin-light'),
        iceServers: [parseIceServer(url)],
        relayOnly: true,
      });
      bots.push(peer);
      expect(await cli.exited).toBe(0);
      const final = cli.lines.map((l) => JSON.parse(l) as Event).find((e) => e.event === 'final')!;
      expect(final.links![0]).toMatchObject({
        candidateType: 'relay',
        relayProtocol: 'tcp',
        state: 'connected',
      });
      expect(final.links![0]!.turnAllocateMs as number).toBeGreaterThan(0);
      expect((final.links![0]!.frames as { framesReceived: number }).framesReceived).toBeGreaterThan(30);
    }, 60_000);
  });
});
