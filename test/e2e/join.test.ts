import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { Bot } from '../../src/peer/bot.js';
import { loadFeeds } from '../../src/peer/media/feeds.js';
import { parseWebm } from '../../src/peer/media/webm.js';
import { fullMesh, until } from '../helpers/bots.js';
import { filesUnder, probe } from '../helpers/ffprobe.js';
import { useServer } from '../helpers/server.js';
import { ffmpegDecodeWarnings, ffprobePacketCount, ffprobeWarnings } from '../peer/media/ffmpeg.js';

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
      // Finalised: sizes, duration and cues written, nothing for ffprobe to warn about.
      expect(ffprobeWarnings(f)).toBe('');
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

type JoinEvent = {
  event: string;
  t: string;
  remote?: string;
  state?: string;
  links?: Array<{ remote: string; state: string; videoFramesIn: number }>;
  outage_ms?: number;
  reason?: string;
  reconnects?: number;
  path?: string;
};

/** `engage join --json` as a child, its events parsed as they come. */
function joinBot(url: string, name: string, extra: string[] = []) {
  const cli = engage([
    'join',
    '--room',
    'r',
    '--url',
    url,
    '--name',
    name,
    '--json',
    '--stats-interval',
    '500ms',
    '--video',
    'builtin-light',
    '--audio',
    'none',
    ...extra,
  ]);
  const events = () => cli.lines.map((l) => JSON.parse(l) as JoinEvent);
  const connectedTo = () =>
    events()
      .filter((e) => e.event === 'link' && e.state === 'connected')
      .map((e) => e.remote!);
  return { ...cli, name, events, connectedTo };
}

/** `engage serve` as a child process, so a test can SIGKILL it and start another on the same port. */
async function serve(port: number) {
  const child = spawn(process.execPath, [BIN, 'serve', '--port', String(port), '--log-level', 'warn'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`engage serve exited ${code}`)));
  });
  const url = /listening on (ws:\/\/\S+?) /.exec(line)![1]!;
  return { child, url, port: Number(new URL(url).port), listeningAt: Date.now() };
}

describe('engage join through faults', () => {
  const children: ChildProcess[] = [];
  const dirs: string[] = [];
  const bots: Bot[] = [];
  afterEach(async () => {
    for (const c of children.splice(0)) c.kill('SIGKILL');
    await Promise.all(bots.splice(0).map((b) => b.close()));
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
  });

  it('three bots ride out a SIGKILLed server: no link drops, video flows, a fourth bot meshes with all', async () => {
    let server = await serve(0);
    children.push(server.child);
    const trio = ['b1', 'b2', 'b3'].map((n) => joinBot(server.url, n, ['--duration', '30s']));
    children.push(...trio.map((b) => b.child));
    await until(() => trio.every((b) => b.connectedTo().length === 2), 'the three bots to mesh', 20_000);
    await new Promise((r) => setTimeout(r, 1000));

    const killedAt = Date.now();
    server.child.kill('SIGKILL');
    await until(
      () => trio.every((b) => b.events().some((e) => e.event === 'reconnecting')),
      'bots to notice',
    );
    await new Promise((r) => setTimeout(r, 1500));
    server = await serve(server.port);
    children.push(server.child);
    await until(
      () => trio.every((b) => b.events().some((e) => e.event === 'reconnected')),
      'the three bots to rejoin',
      15_000,
    );
    const rejoinMs = trio.map(
      (b) => Date.parse(b.events().find((e) => e.event === 'reconnected')!.t) - server.listeningAt,
    );
    console.log(
      `rejoined ${rejoinMs.join(', ')} ms after the new server listened (outage began ${server.listeningAt - killedAt} ms before it)`,
    );
    // Each pair met again once and kept its link.
    await until(
      () => trio.reduce((n, b) => n + b.events().filter((e) => e.event === 'rejoined').length, 0) === 3,
      'three kept links',
    );

    const fourth = joinBot(server.url, 'b4', ['--duration', '6s']);
    children.push(fourth.child);
    await until(() => fourth.connectedTo().length === 3, 'the fourth bot to mesh with all three', 20_000);
    await until(() => trio.every((b) => b.connectedTo().includes('b4')), 'the three to link with the fourth');
    expect(await fourth.exited).toBe(0);
    const fourthLeftAt = Date.now();

    for (const b of trio) {
      expect(await b.exited, `${b.name}: ${b.stderr()}`).toBe(0);
      const events = b.events();
      // One link per member for the whole run: never dropped, never renegotiated.
      expect(b.connectedTo().sort()).toEqual(['b1', 'b2', 'b3', 'b4'].filter((n) => n !== b.name));
      // Links close only when the bots leave at the end of their --duration.
      expect(
        events.filter((e) => e.event === 'left' && e.remote !== 'b4' && Date.parse(e.t) < fourthLeftAt),
      ).toEqual([]);
      expect(events.filter((e) => e.event === 'reconnected')).toHaveLength(1);
      expect(events.at(-1)).toMatchObject({ event: 'left-room', reason: 'duration', reconnects: 1 });
      // Video frames counted on every link of the trio kept rising while the server was away.
      const stats = events.filter((e) => e.event === 'stats');
      const before = stats.filter((e) => Date.parse(e.t) <= killedAt).at(-1)!;
      const after = stats.find((e) => Date.parse(e.t) >= server.listeningAt)!;
      for (const peer of trio.filter((p) => p !== b)) {
        const framesBefore = before.links!.find((l) => l.remote === peer.name)!.videoFramesIn;
        const link = after.links!.find((l) => l.remote === peer.name)!;
        expect(link.state).toBe('connected');
        const seconds = (server.listeningAt - killedAt) / 1000;
        // builtin-light is 15 fps: at least half of that across the outage.
        expect(link.videoFramesIn - framesBefore, `${b.name} from ${peer.name}`).toBeGreaterThan(7 * seconds);
      }
    }
  }, 90_000);

  it('a SIGKILLed bot is dropped within a second; its half-written files play, the survivors finalise theirs', async () => {
    const server = await serve(0);
    children.push(server.child);
    const dir = await mkdtemp(join(tmpdir(), 'engage-kill-'));
    dirs.push(dir);
    const feeds = await loadFeeds('builtin', 'builtin');
    const survivors = [] as Bot[];
    for (const name of ['ann', 'ben']) {
      survivors.push(await Bot.join({ url: server.url, room: 'r', name, feeds, recordDir: join(dir, name) }));
    }
    bots.push(...survivors);
    const victim = engage([
      'join',
      '--room',
      'r',
      '--url',
      server.url,
      '--name',
      'cid',
      '--record',
      join(dir, 'cid'),
      '--json',
    ]);
    children.push(victim.child);
    await until(() => survivors.every((b) => b.links.get('cid')?.state === 'connected'), 'the mesh', 20_000);
    await fullMesh(survivors);
    const finalised: string[] = [];
    for (const b of survivors) b.on('recorded', (r) => finalised.push(r.path!));
    await new Promise((r) => setTimeout(r, 3000));

    const killedAt = Date.now();
    victim.child.kill('SIGKILL');
    await until(() => survivors.every((b) => !b.links.has('cid')), 'ann and ben to drop cid', 5000);
    const droppedMs = Date.now() - killedAt;
    console.log(`peers dropped the killed bot after ${droppedMs} ms`);
    expect(droppedMs).toBeLessThan(1000);
    expect(await victim.exited).toBeNull();

    // The survivors finalise their recordings of cid as usual, and carry on with each other.
    await until(() => finalised.length === 4, 'ann and ben to finalise their recordings of cid');
    for (const f of finalised) {
      expect(f).toMatch(/\/cid\//);
      expect(ffprobeWarnings(f), f).toBe('');
      expect(probe(f).durationS).toBeGreaterThan(2.5);
    }
    expect(survivors[0]!.links.get('ben')?.state).toBe('connected');

    // What cid was writing when it died: every file reads and decodes to about the moment of the kill.
    const halfWritten = filesUnder(join(dir, 'cid'));
    expect(halfWritten).toHaveLength(4);
    for (const f of halfWritten) {
      const webm = parseWebm(await readFile(f));
      expect(webm.segmentSized, f).toBe(false);
      const kind = f.endsWith('-video.webm') ? 'v' : 'a';
      expect(ffprobePacketCount(f, kind)).toBe(webm.frames.length);
      expect(ffmpegDecodeWarnings(f), f).toBe('');
      const lastS = webm.frames.at(-1)!.timeNs / 1e9;
      expect(lastS, f).toBeGreaterThan(2.5);
      expect(webm.durationNs! / 1e9, f).toBeGreaterThan(lastS - 1.5);
    }
  }, 60_000);

  it('with --no-reconnect, a server that goes away ends the run with exit 1', async () => {
    const server = await serve(0);
    children.push(server.child);
    const cli = joinBot(server.url, 'solo', ['--no-reconnect']);
    children.push(cli.child);
    await until(() => cli.events().some((e) => e.event === 'joined'), 'the bot to join');
    server.child.kill('SIGKILL');
    expect(await cli.exited).toBe(1);
    expect(cli.stderr()).toMatch(/signaling ended/);
    expect(cli.events().some((e) => e.event === 'reconnecting')).toBe(false);
  }, 30_000);
});
