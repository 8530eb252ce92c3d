import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Bot } from '../../src/peer/bot.js';
import { loadFeeds } from '../../src/peer/media/feeds.js';
import { webClientHandler } from '../../src/web/static.js';
import { until } from '../helpers/bots.js';
import { CHROMIUM, CHROMIUM_ARGS } from '../helpers/chromium.js';
import { filesUnder, probe } from '../helpers/ffprobe.js';
import { useServer } from '../helpers/server.js';

const BIN = fileURLToPath(new URL('../../bin/engage.js', import.meta.url));
const ARTIFACTS = fileURLToPath(new URL('../../artifacts/', import.meta.url));
/** A browser without a camera or microphone: the page must fall back to its generated test picture. */
const NO_DEVICES = `navigator.mediaDevices.getUserMedia = () =>
  Promise.reject(new DOMException('Requested device not found', 'NotFoundError'));`;

interface Tile {
  peer: string;
  self: boolean;
  state: string;
  caption: string;
  width: number;
  height: number;
  time: number;
}

const TILES_JS = `[...document.querySelectorAll('#tiles .tile')].map((t) => {
  const v = t.querySelector('video');
  return { peer: t.dataset.peer, self: t.classList.contains('self'), state: t.dataset.state,
    caption: t.querySelector('.caption').textContent, width: v.videoWidth, height: v.videoHeight,
    time: v.currentTime };
})`;

function tiles(page: Page): Promise<Tile[]> {
  return page.evaluate(TILES_JS) as Promise<Tile[]>;
}

async function eventually(cond: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Waits until `peer`'s tile in `page` shows decoded video and its clock moves on; returns the tile. */
async function playing(page: Page, peer: string, timeoutMs = 15_000): Promise<Tile> {
  const tile = async () => (await tiles(page)).find((t) => t.peer === peer);
  await eventually(async () => ((await tile())?.width ?? 0) > 0, `${peer}'s video in the page`, timeoutMs);
  const t0 = (await tile())!.time;
  await eventually(async () => ((await tile())?.time ?? 0) > t0 + 0.5, `${peer}'s video to play on`, 5000);
  return (await tile())!;
}

/** Runs the CLI with a piped stdin, collecting stdout lines as they come. */
function engage(args: string[]) {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  const lines: string[] = [];
  createInterface({ input: child.stdout! }).on('line', (l) => lines.push(l));
  child.stderr!.resume();
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  const events = () => lines.map((l) => JSON.parse(l) as { event: string; [k: string]: unknown });
  return { child, lines, events, exited };
}

describe('web client in Chromium (playwright-core)', () => {
  const s = useServer({ httpFallback: webClientHandler() });
  const http = () => s.url.replace(/^ws/, 'http');
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  const children: ChildProcess[] = [];
  const bots: Bot[] = [];
  let dir: string | undefined;

  beforeAll(async () => {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  });
  afterAll(async () => {
    await browser?.close();
  });
  afterEach(async () => {
    for (const c of children.splice(0)) c.kill('SIGKILL');
    await Promise.all(bots.splice(0).map((b) => b.close()));
    await Promise.all(contexts.splice(0).map((c) => c.close()));
    if (dir) await rm(dir, { recursive: true, force: true });
    dir = undefined;
  });

  /** A fresh browser context and page; page errors and alert() calls are collected, never expected. */
  async function openPage(opts: { devices?: boolean } = {}) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 720 } });
    contexts.push(context);
    if (opts.devices === false) await context.addInitScript({ content: NO_DEVICES });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('dialog', (d) => {
      problems.push(`dialog: ${d.message()}`);
      void d.dismiss();
    });
    return { page, problems };
  }

  it("shows an engage join bot's video, and the bot records the page's camera and microphone", async () => {
    dir = await mkdtemp(join(tmpdir(), 'engage-browser-'));
    const bot = engage(['join', '--room', 'r1', '--url', s.url, '--name', 'bot', '--record', dir, '--json']);
    children.push(bot.child);
    await until(() => bot.lines.some((l) => l.includes('"joined"')), 'the bot to join', 10_000);

    // The link a bot would share: a plain GET of the room's WebSocket path joins at once.
    const { page, problems } = await openPage();
    await page.goto(`${http()}/room/r1/?username=web`);
    const tile = await playing(page, 'bot');
    expect(tile).toMatchObject({ width: 640, height: 360, state: 'connected' });
    await until(
      () => bot.events().some((e) => e.event === 'link' && e.remote === 'web' && e.state === 'connected'),
      "the bot's link to the page",
    );

    await new Promise((r) => setTimeout(r, 4000));
    bot.child.kill('SIGTERM');
    expect(await bot.exited).toBe(0);
    const recorded = bot.events().filter((e) => e.event === 'recorded');
    expect(recorded).toHaveLength(2);
    const files = filesUnder(join(dir, 'r1', 'web'));
    expect(files.sort()).toEqual(recorded.map((e) => e.path as string).sort());
    const probes = files.map(probe).sort((a, b) => a.codec.localeCompare(b.codec));
    expect(probes.map((p) => p.codec)).toEqual(['opus', 'vp8']);
    for (const p of probes) {
      expect(p.durationS).toBeGreaterThan(3);
      expect(p.durationS).toBeLessThan(30);
    }
    const [audio, video] = probes;
    expect(video!.width).toBeGreaterThan(0);
    expect(video!.frames).toBeGreaterThan(30);
    expect(audio!.frames).toBeGreaterThan(100);
    // The bot left on SIGTERM: its tile goes.
    await eventually(async () => !(await tiles(page)).some((t) => t.peer === 'bot'), "the bot's tile to go");
    expect(problems).toEqual([]);
  }, 40_000);

  it('chats both ways, and shows markup in chat as text', async () => {
    const { page, problems } = await openPage();
    await page.goto(`${http()}/`);
    await page.locator('#room-input').fill('r2');
    await page.locator('#name-input').fill('web');
    await page.getByRole('button', { name: 'Join' }).click();
    await page.locator('#room').waitFor({ state: 'visible' });

    const hostile = 'hello <img src=x onerror=alert(1)> & <b>bold</b>';
    const bot = engage([
      'join',
      '--room',
      'r2',
      '--url',
      s.url,
      '--name',
      'bot',
      '--video',
      'none',
      '--audio',
      'none',
      '--chat',
      hostile,
      '--json',
    ]);
    children.push(bot.child);
    await expect
      .poll(() => page.locator('#chat-log li').allTextContents(), { timeout: 15_000 })
      .toContain(`bot: ${hostile}`);
    expect(await page.locator('#chat-log img, #chat-log b').count()).toBe(0);

    await page.locator('#chat-input').fill('typed in the page <i>x</i>');
    await page.getByRole('button', { name: 'Send' }).click();
    await until(
      () => bot.events().some((e) => e.event === 'chat' && e.text === 'web: typed in the page <i>x</i>'),
      "the page's chat at the bot",
    );
    expect(await page.locator('#chat-log li').allTextContents()).toEqual([
      `bot: ${hostile}`,
      'web: typed in the page <i>x</i>',
    ]);
    expect(problems).toEqual([]);
  }, 30_000);

  it('meshes three (two pages, one bot), every tile playing; a closed page leaves the others within 2 s', async () => {
    const alice = await openPage();
    await alice.page.goto(`${http()}/room/r3/?username=alice`);
    await alice.page.locator('#room').waitFor({ state: 'visible' });
    const bob = await openPage({ devices: false });
    await bob.page.goto(`${http()}/room/r3/?username=bob`);
    const bot = await Bot.join({
      url: s.url,
      room: 'r3',
      name: 'bot',
      feeds: await loadFeeds('builtin', 'builtin'),
    });
    bots.push(bot);

    const seen = await Promise.all([
      playing(alice.page, 'bob'),
      playing(alice.page, 'bot'),
      playing(bob.page, 'alice'),
      playing(bob.page, 'bot'),
    ]);
    expect(seen.map((t) => t.state)).toEqual(['connected', 'connected', 'connected', 'connected']);
    expect(seen[1]!.width).toBe(640);
    expect(seen[3]!.width).toBe(640);
    // Bob has no camera: he sends the generated 640x360 test picture (scaled down if the encoder must).
    expect(seen[0]!.width).toBeLessThanOrEqual(640);
    expect((await tiles(bob.page)).find((t) => t.self)?.caption).toContain('test picture');
    // Bob's stand-in tone comes from an AudioContext, which a browser starts only after a click.
    await bob.page.locator('#chat-log').click();
    await until(
      () =>
        ['alice', 'bob'].every((p) => {
          const link = bot.links.get(p);
          return (
            link?.state === 'connected' && link.inbound.video.frames > 20 && link.inbound.audio.packets > 20
          );
        }),
      'the bot to receive video and audio from both pages',
    );

    // A little chat for the screenshot, then the picture of the three-party room.
    await alice.page.locator('#chat-input').fill('hi both');
    await alice.page.getByRole('button', { name: 'Send' }).click();
    bot.chat('hello from the bot');
    // poll's default 1 s is too short for a data channel message on a loaded 2-core machine.
    await expect.poll(() => alice.page.locator('#chat-log li').count(), { timeout: 10_000 }).toBe(2);
    await mkdir(ARTIFACTS, { recursive: true });
    await alice.page.screenshot({ path: join(ARTIFACTS, 'browser-three-party.png') });

    await bob.page.close();
    const closedAt = Date.now();
    await eventually(
      async () => !(await tiles(alice.page)).some((t) => t.peer === 'bob'),
      "bob's tile to go",
      2000,
    );
    await until(
      () => !bot.links.has('bob'),
      'the bot to drop bob',
      Math.max(0, 2000 - (Date.now() - closedAt)),
    );
    expect((await tiles(alice.page)).map((t) => t.peer).sort()).toEqual(['alice', 'bot']);
    expect([...alice.problems, ...bob.problems]).toEqual([]);
  }, 45_000);

  it('says so when the name is taken, and joins under another name', async () => {
    const holder = await s.connect('r4', { username: 'taken' });
    holder.say('taken', 'new-join');
    await holder.nextAction('new-join');

    const { page, problems } = await openPage();
    await page.goto(`${http()}/room/r4/?username=taken`);
    const error = page.locator('#lobby-error');
    await error.waitFor({ state: 'visible' });
    expect(await error.textContent()).toBe(
      'The name "taken" is already taken in room r4. Choose another name.',
    );
    expect(await page.locator('#room').isVisible()).toBe(false);

    await page.locator('#name-input').fill('free');
    await page.getByRole('button', { name: 'Join' }).click();
    await page.locator('#room').waitFor({ state: 'visible' });
    const join = await holder.next((m) => m.action === 'new-join' && m.peer === 'free');
    expect(join.keyword).toEqual({ receiver_channel_name: expect.stringMatching(/^specific\./) });
    expect(problems).toEqual([]);
  }, 20_000);
});
