import { afterEach, describe, expect, it } from 'vitest';
import { Bot, type BotOptions } from '../../src/peer/bot.js';
import { loadFeeds } from '../../src/peer/media/feeds.js';
import { backoffPolicy } from '../../src/signaling/client.js';
import { SignalingServer } from '../../src/signaling/server.js';
import { fullMesh, until } from '../helpers/bots.js';
import { startBroadcastRelay } from '../helpers/broadcast-relay.js';
import { useServer } from '../helpers/server.js';

describe('Bot (no media)', () => {
  const s = useServer();
  const bots: Bot[] = [];
  const join = async (room: string, name: string) => {
    const b = await Bot.join({ url: s.url, room, name });
    bots.push(b);
    return b;
  };
  afterEach(async () => {
    await Promise.all(bots.splice(0).map((b) => b.close()));
  });

  it('three bots form a full mesh with one link per pair, and chat arrives in order', async () => {
    const a = await join('r', 'a');
    const b = await join('r', 'b');
    const c = await join('r', 'c');
    await fullMesh([a, b, c]);
    expect(a.links.get('b')?.role).toBe('offerer');
    expect(b.links.get('a')?.role).toBe('answerer');
    expect(c.links.get('a')?.role).toBe('answerer');

    const got: string[] = [];
    c.on('chat', (from, text) => got.push(`${from}|${text}`));
    for (let i = 0; i < 50; i++) a.chat(`msg ${i}`);
    await until(() => got.length === 50, '50 chat lines at c');
    expect(got).toEqual(Array.from({ length: 50 }, (_, i) => `a|a: msg ${i}`));
  });

  it('drops a member that leaves within a second, via peer-left', async () => {
    const a = await join('r', 'a');
    const b = await join('r', 'b');
    await fullMesh([a, b]);
    const t0 = Date.now();
    await b.close();
    await until(() => !a.links.has('b'), 'a to drop b', 1000);
    expect(Date.now() - t0).toBeLessThan(1000);
  });
});

describe('Bot against a relay that does not order joins', () => {
  it('two bots joining at the same instant end with exactly one connection', async () => {
    for (let round = 0; round < 3; round++) {
      const relay = await startBroadcastRelay(2);
      const [x, y] = await Promise.all([
        Bot.join({ url: relay.url, room: 'glare', name: `x${round}` }),
        Bot.join({ url: relay.url, room: 'glare', name: `y${round}` }),
      ]);
      try {
        await fullMesh([x, y]);
        // The joins crossed: both sides started an offer, the tie-break settled it, one answer made the link.
        expect(x.crossedOffers + y.crossedOffers).toBeGreaterThanOrEqual(1);
        expect(relay.counts.answers).toBe(1);
        expect(x.links.size).toBe(1);
        expect(y.links.size).toBe(1);
        expect(x.links.get(y.name)?.role).toBe('offerer');
        expect(y.links.get(x.name)?.role).toBe('answerer');
        await new Promise((r) => setTimeout(r, 300));
        expect(x.links.get(y.name)?.state).toBe('connected');
        expect(y.links.get(x.name)?.state).toBe('connected');
      } finally {
        await Promise.all([x.close(), y.close()]);
        await relay.close();
      }
    }
  });
});

describe('Bot through a signaling restart', () => {
  const fast = backoffPolicy({ firstDelayMs: 50, maxDelayMs: 200 });
  const open: Array<{ close(): unknown }> = [];
  afterEach(async () => {
    for (const o of open.splice(0).reverse()) await o.close();
  });

  /** A server that a test can stop and start again on the same port. */
  async function restartableServer() {
    let server = await SignalingServer.start({ port: 0 });
    const port = server.address.port;
    const handle = {
      url: server.url,
      stop: () => server.close(),
      start: async () => {
        server = await SignalingServer.start({ port });
      },
      close: () => server.close(),
    };
    open.push(handle);
    return handle;
  }

  async function bot(url: string, name: string, opts: Partial<BotOptions> = {}): Promise<Bot> {
    const feeds = await loadFeeds('builtin-light', 'none');
    const b = await Bot.join({ url, room: 'r', name, feeds, reconnect: fast, ...opts });
    open.push(b);
    return b;
  }

  const framesIn = (bots: Bot[]) =>
    new Map(
      bots.flatMap((b) =>
        [...b.links.values()].map((l) => [`${b.name}<-${l.remoteName}`, l.inbound.video.frames]),
      ),
    );

  it('keeps every link: members rejoin without renegotiating, video flows throughout, a newcomer meshes', async () => {
    const server = await restartableServer();
    const trio = [await bot(server.url, 'a'), await bot(server.url, 'b'), await bot(server.url, 'c')];
    await fullMesh(trio);
    const linksBefore = new Map(
      trio.flatMap((b) => [...b.links.values()].map((l) => [`${b.name}-${l.remoteName}`, l])),
    );
    const newLinks: string[] = [];
    const closedLinks: string[] = [];
    for (const b of trio) {
      b.on('link', (l) => newLinks.push(`${b.name}-${l.remoteName}`));
      b.on('linkClosed', (l, why) => closedLinks.push(`${b.name}-${l.remoteName}: ${why}`));
    }

    await server.stop();
    await until(() => trio.every((b) => b.signaling.state === 'reconnecting'), 'all three to lose signaling');
    const atOutage = framesIn(trio);
    await new Promise((r) => setTimeout(r, 1500));
    const duringOutage = framesIn(trio);
    await server.start();
    await until(
      () => trio.every((b) => b.reconnects === 1 && b.signaling.state === 'open'),
      'all three back',
    );
    // Each pair meets again once: the member that rejoined first hears the other and keeps the link.
    await until(() => trio.reduce((n, b) => n + b.linksKept, 0) === 3, 'three kept links');

    for (const [pair, link] of linksBefore) {
      const [self, remote] = pair.split('-') as [string, string];
      const b = trio.find((x) => x.name === self)!;
      expect(b.links.get(remote), pair).toBe(link);
      expect(link.state, pair).toBe('connected');
    }
    expect(newLinks).toEqual([]);
    expect(closedLinks).toEqual([]);
    // Video kept flowing while the server was away (about 15 frames a second on every link).
    for (const [pair, frames] of duringOutage) expect(frames - atOutage.get(pair)!, pair).toBeGreaterThan(10);

    const d = await bot(server.url, 'd');
    await fullMesh([...trio, d]);
    await new Promise((r) => setTimeout(r, 500));
    expect(closedLinks).toEqual([]);
  }, 60_000);

  /**
   * a and b linked, then the server goes away and comes back. The old b never reconnects and is never
   * closed while the test runs: a process that restarted leaves its old peer connection alive at the
   * other end until ICE notices.
   */
  async function outageWithOldB(aOpts: Partial<BotOptions> = {}) {
    const server = await restartableServer();
    const a = await bot(server.url, 'a', aOpts);
    const oldB = await bot(server.url, 'b', { reconnect: false });
    await fullMesh([a, oldB]);
    const oldLink = a.links.get('b')!;
    await server.stop();
    await until(() => a.signaling.state === 'reconnecting', 'a to lose signaling');
    await server.start();
    return { server, a, oldB, oldLink };
  }

  it('replaces the link of a member that restarted while the server was away (new session, same name)', async () => {
    const { server, a, oldB, oldLink } = await outageWithOldB();
    await until(() => a.signaling.state === 'open', 'a back');
    expect(oldLink.state).toBe('connected');
    // a is back first: it hears the new b's new-join, with a session that is not the old one's.
    const newB = await bot(server.url, 'b');
    expect(newB.session).not.toBe(oldB.session);
    await fullMesh([a, newB]);
    expect(a.links.get('b')).not.toBe(oldLink);
    expect(a.links.get('b')!.role).toBe('offerer');
    expect(a.links.get('b')!.remoteSession).toBe(newB.session);
    await until(() => oldLink.closed, 'the old link to close');
    expect(a.linksKept).toBe(0);
  }, 60_000);

  it('...also when the restarted member is back before the others rejoin: its offer replaces the link', async () => {
    // a waits 1.5 s before each attempt, so the new b is in the room first and offers to a when a rejoins.
    const { server, a, oldLink } = await outageWithOldB({ reconnect: () => 1500 });
    const newB = await bot(server.url, 'b');
    expect(a.signaling.state).toBe('reconnecting');
    expect(a.reconnects).toBe(0);
    await fullMesh([a, newB]);
    expect(a.reconnects).toBe(1);
    expect(a.links.get('b')).not.toBe(oldLink);
    expect(a.links.get('b')!.role).toBe('answerer');
    expect(a.links.get('b')!.remoteSession).toBe(newB.session);
  }, 60_000);

  it('with reconnect off, a dropped socket is the end of signaling', async () => {
    const server = await restartableServer();
    const a = await bot(server.url, 'a', { reconnect: false });
    const gone = new Promise<number>((resolve) => a.once('disconnected', (code) => resolve(code)));
    await server.stop();
    expect(await gone).toBe(1001);
    expect(a.signaling.state).toBe('closed');
  });
});
