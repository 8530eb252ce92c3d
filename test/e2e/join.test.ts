import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { Bot } from '../../src/peer/bot.js';
import { loadFeeds } from '../../src/peer/media/feeds.js';
import { until } from '../helpers/bots.js';
import { probe } from '../helpers/ffprobe.js';
import { useServer } from '../helpers/server.js';

const BIN = fileURLToPath(new URL('../../bin/engage.js', import.meta.url));

/** Runs the CLI with a piped stdin, collecting stdout lines as they come. */
function engage(args: string[]) {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  const lines: string[] = [];
  createInterface({ input: child.stdout! }).on('line', (l) => lines.push(l));
  let stderr = '';
  child.stderr!.on('data', (d) => {
    stderr += d;
  });
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  return { child, lines, exited, stderr: () => stderr };
}

describe('engage join (CLI)', () => {
  const s = useServer();
  const children: ChildProcess[] = [];
  const bots: Bot[] = [];
  let dir: string | undefined;
  afterEach(async () => {
    for (const c of children.splice(0)) c.kill('SIGKILL');
    await Promise.all(bots.splice(0).map((b) => b.close()));
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('joins, chats both ways as text, records, and on SIGTERM leaves cleanly with exit 0', async () => {
    dir = await mkdtemp(join(tmpdir(), 'engage-join-'));
    const cli = engage(['join', '--room', 'r', '--url', s.url, '--name', 'cli', '--record', dir, '--json']);
    children.push(cli.child);
    await until(() => cli.lines.some((l) => l.includes('"joined"')), 'the CLI to join', 10_000);

    const feeds = await loadFeeds('builtin', 'builtin');
    const peer = await Bot.join({ url: s.url, room: 'r', name: 'peer', feeds });
    bots.push(peer);
    const heard: string[] = [];
    peer.on('chat', (_from, text) => heard.push(text));
    await until(() => peer.links.get('cli')?.channelOpen === true, 'the data channel', 10_000);

    const hostile = 'look <img src=x onerror=alert(1)> \u001b[2J';
    peer.chat(hostile);
    cli.child.stdin!.write('typed on stdin\n');
    await until(() => heard.includes('cli: typed on stdin'), 'stdin chat at the peer');
    await until(() => cli.lines.some((l) => l.includes('"chat"')), 'chat at the CLI');
    const chat = JSON.parse(cli.lines.find((l) => l.includes('"chat"'))!);
    expect(chat).toMatchObject({ event: 'chat', from: 'peer', text: `peer: ${hostile}` });

    await new Promise((r) => setTimeout(r, 2000));
    cli.child.kill('SIGTERM');
    expect(await cli.exited).toBe(0);
    const events = cli.lines.map((l) => JSON.parse(l) as { event: string; path?: string; links?: unknown[] });
    const recorded = events.filter((e) => e.event === 'recorded').map((e) => e.path!);
    expect(recorded).toHaveLength(2);
    for (const f of recorded) {
      expect(f.startsWith(join(dir, 'r', 'peer'))).toBe(true);
      expect(probe(f).durationS).toBeGreaterThan(1.5);
    }
    const final = events.find((e) => e.event === 'final')!;
    expect(final.links).toHaveLength(1);
    expect(events.at(-1)).toMatchObject({ event: 'left-room', reason: 'interrupted' });
    // The peer hears the CLI leave.
    await until(() => !peer.links.has('cli'), 'the peer to drop the CLI', 2000);
  }, 60_000);

  it('prints chat as inert text and stops by itself after --duration', async () => {
    const peer = await Bot.join({ url: s.url, room: 'd', name: 'peer', feeds: [] });
    bots.push(peer);
    const cli = engage([
      'join',
      '--room',
      'd',
      '--url',
      s.url,
      '--video',
      'none',
      '--audio',
      'none',
      '--duration',
      '3s',
    ]);
    children.push(cli.child);
    await until(() => [...peer.links.values()].some((l) => l.channelOpen), 'the data channel', 10_000);
    peer.chat('<b>bold</b>\u001b[31mred');
    expect(await cli.exited).toBe(0);
    expect(cli.lines).toContain('peer: <b>bold</b>\\x1b[31mred');
    expect(cli.lines.at(-1)).toMatch(/^left room d \(duration\)/);
  }, 30_000);

  it('exits non-zero with a clear message when the server is not there or the flags are wrong', async () => {
    const noServer = engage(['join', '--room', 'r', '--url', 'ws://127.0.0.1:9', '--duration', '1s']);
    expect(await noServer.exited).toBe(1);
    expect(noServer.stderr()).toMatch(/cannot connect/);
    const badVideo = engage(['join', '--room', 'r', '--url', s.url, '--video', '/nonexistent.ivf']);
    expect(await badVideo.exited).toBe(2);
    expect(badVideo.stderr()).toMatch(/nonexistent/);
    const badDuration = engage(['join', '--room', 'r', '--duration', 'soon']);
    expect(await badDuration.exited).toBe(2);
    const noRoom = engage(['join']);
    expect(await noRoom.exited).toBe(2);
  }, 30_000);
});
