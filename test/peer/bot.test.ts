import { afterEach, describe, expect, it } from 'vitest';
import { Bot } from '../../src/peer/bot.js';
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
