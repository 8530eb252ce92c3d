import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Bot } from '../../src/peer/bot.js';
import { loadFeeds } from '../../src/peer/media/feeds.js';
import { fullMesh } from '../helpers/bots.js';
import { TestClient } from '../helpers/client.js';
import { RedisProcess } from '../helpers/redis.js';
import { ServeProcess } from '../helpers/serve-process.js';

/**
 * The rules that must hold across instances, against three real `engage serve --redis` processes on one
 * real redis-server: each instance decides on its own event loop, so "at the same instant" is real.
 */
describe('three engage serve --redis processes', () => {
  let redis: RedisProcess;
  let serves: ServeProcess[] = [];
  const clients: TestClient[] = [];

  beforeAll(async () => {
    redis = await RedisProcess.start();
    serves = await Promise.all(
      ['a', 'b', 'c'].map((id) =>
        ServeProcess.start(['--log-level', 'warn', '--redis', redis.url, '--instance-id', id]),
      ),
    );
  });
  afterAll(async () => {
    for (const c of clients.splice(0)) c.close();
    await Promise.all(serves.map((s) => s.kill()));
    await redis?.stop();
  });

  async function open(at: ServeProcess, room: string): Promise<TestClient> {
    const c = await TestClient.connect(at.url, room);
    clients.push(c);
    return c;
  }

  it('lets exactly one of three sockets on three instances claim one name at the same instant (50 rounds)', async () => {
    const winners: number[] = [];
    for (let round = 0; round < 50; round++) {
      const room = `claim-${round}`;
      const sockets = await Promise.all(serves.map((s) => open(s, room)));
      for (const c of sockets) c.say('x', 'new-join');
      const outcomes = await Promise.all(
        sockets.map(async (c, i) => {
          const first = await c.next((m) => m.action === 'new-join' || m.action === 'error', 5000);
          if (first.action === 'new-join') return { i, won: true };
          expect(first.keyword.code, `round ${round}`).toBe('username-taken');
          expect((await c.closed).code).toBe(4409);
          return { i, won: false };
        }),
      );
      const won = outcomes.filter((o) => o.won);
      expect(won, `round ${round}`).toHaveLength(1);
      winners.push(won[0]!.i);
      for (const c of sockets) c.close();
    }
    // Not a rule, but a sign the race was real: more than one instance won some round.
    console.log(
      `claim rounds won per instance: ${[0, 1, 2].map((i) => winners.filter((w) => w === i).length).join('/')}`,
    );
  }, 60_000);

  it('orders three newcomers on three instances so each pair hears of each other exactly once (50 rounds)', async () => {
    for (let round = 0; round < 50; round++) {
      const room = `glare-${round}`;
      const names = ['p', 'q', 'r'];
      const sockets = await Promise.all(serves.map((s) => open(s, room)));
      for (const [i, c] of sockets.entries()) c.say(names[i]!, 'new-join');
      await Promise.all(sockets.map((c, i) => c.next((m) => m.action === 'new-join' && m.peer === names[i])));
      await Promise.all(sockets.map((c) => c.settle(30)));
      const heard = (i: number, j: number) =>
        sockets[i]!.messages.filter((m) => m.action === 'new-join' && m.peer === names[j]).length;
      for (let i = 0; i < 3; i++) {
        for (let j = i + 1; j < 3; j++) {
          expect(heard(i, j) + heard(j, i), `round ${round}: ${names[i]} and ${names[j]}`).toBe(1);
        }
      }
      for (const c of sockets) c.close();
    }
  }, 60_000);

  it('meshes werift bots on three instances, video and audio flowing both ways on every link', async () => {
    const feeds = await loadFeeds('builtin', 'builtin');
    const bots: Bot[] = [];
    try {
      for (const [i, name] of ['ann', 'ben', 'cat'].entries()) {
        bots.push(await Bot.join({ url: serves[i]!.url, room: 'media', name, feeds }));
      }
      await fullMesh(bots, 20_000);
      await new Promise((r) => setTimeout(r, 2000));
      for (const b of bots) {
        expect([...b.links.keys()].sort()).toEqual(['ann', 'ben', 'cat'].filter((n) => n !== b.name));
        for (const link of b.links.values()) {
          expect(link.inbound.video.frames, `${b.name} from ${link.remoteName}`).toBeGreaterThan(10);
          expect(link.outbound.videoFrames, `${b.name} to ${link.remoteName}`).toBeGreaterThan(10);
          expect(link.inbound.audio.firstPacketAt, `${b.name} audio from ${link.remoteName}`).toBeDefined();
        }
      }
    } finally {
      await Promise.all(bots.map((b) => b.close()));
    }
  }, 60_000);
});
