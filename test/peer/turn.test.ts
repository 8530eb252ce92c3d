import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Bot } from '../../src/peer/bot.js';
import { parseIceServer } from '../../src/peer/ice-servers.js';
import { loadFeeds } from '../../src/peer/media/feeds.js';
import { NetSchedule } from '../../src/peer/net/schedule.js';
import { type LinkSample, LinkSampler } from '../../src/peer/stats.js';
import { fullMesh } from '../helpers/bots.js';
import { type Coturn, hasCoturn, startCoturn } from '../helpers/coturn.js';
import { useServer } from '../helpers/server.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Every link end of every bot, sampled once. */
async function sampleAll(bots: Bot[]): Promise<Array<LinkSample & { local: string }>> {
  const samplers = bots.flatMap((b) =>
    [...b.links.values()].map((l) => ({ local: b.name, s: new LinkSampler(l) })),
  );
  return Promise.all(samplers.map(async ({ local, s }) => ({ local, ...(await s.sample()) })));
}

describe.skipIf(!hasCoturn())('TURN relays (Debian coturn on loopback)', () => {
  const s = useServer();
  let turn: Coturn;
  const bots: Bot[] = [];
  beforeAll(async () => {
    turn = await startCoturn();
  });
  afterAll(async () => {
    await turn?.close();
  });
  afterEach(async () => {
    await Promise.all(bots.splice(0).map((b) => b.close()));
  });

  async function relayBots(room: string, names: string[], url: string, net?: Record<string, string>) {
    const feeds = await loadFeeds('builtin-light', 'builtin-light');
    for (const name of names) {
      bots.push(
        await Bot.join({
          url: s.url,
          room,
          name,
          feeds,
          iceServers: [parseIceServer(url)],
          relayOnly: true,
          net: net?.[name] ? { schedule: NetSchedule.parse(net[name]!, { untimedFirst: true }) } : undefined,
        }),
      );
    }
    await fullMesh(bots, 30_000).catch((err) => {
      throw new Error(`${(err as Error).message}\ncoturn log:\n${turn.log().slice(-3000)}`);
    });
    return [...bots];
  }

  it('four bots with --relay-only: all six links go through the relay, and video flows both ways on each', async () => {
    const all = await relayBots('relay4', ['ann', 'ben', 'cat', 'dan'], turn.url());
    await sleep(4000);
    const samples = await sampleAll(all);
    expect(samples).toHaveLength(12);
    for (const x of samples) {
      const what = `${x.local}←${x.remote}`;
      expect(x.candidateType, what).toBe('relay');
      expect(x.localCandidateType, what).toBe('relay');
      expect(x.relayProtocol, what).toBe('udp');
      expect(x.turnAllocateMs, what).toBeGreaterThan(0);
      expect(x.turnAllocateMs, what).toBeLessThan(10_000);
      // builtin-light is 15 fps: a few seconds of it, whole and byte-identical to the clip.
      expect(x.frames.framesReceived, what).toBeGreaterThan(20);
      expect(x.frames.verified, what).toBe(true);
      expect(x.frames.framesCorrupt, what).toBe(0);
      expect(x.videoInKbps, what).toBeGreaterThan(30);
    }
    // coturn itself granted the allocations: one per link end (each peer connection has its own relay).
    const allocations = turn.log().match(/ALLOCATE processed, success/g) ?? [];
    expect(allocations.length).toBeGreaterThanOrEqual(12);
  }, 90_000);

  it('TURN over TCP, shaped: the relay carries both ways and a 10% loss on one bot shows on its direction only', async () => {
    const [ann, ben] = await relayBots('relaytcp', ['ann', 'ben'], turn.url('tcp'), { ann: 'loss=10%' });
    await sleep(8000);
    const samples = await sampleAll([ann!, ben!]);
    const annToBen = samples.find((x) => x.local === 'ben')!;
    const benToAnn = samples.find((x) => x.local === 'ann')!;
    for (const x of samples) {
      expect(x.candidateType).toBe('relay');
      expect(x.relayProtocol).toBe('tcp');
      expect(x.frames.framesReceived).toBeGreaterThan(40);
    }
    const lossPct = (x: LinkSample) => (100 * x.packetsLostBeforeRepair) / x.packetsExpected;
    // About 1,000 packets: a wide band around 10%, and nothing the other way.
    expect(lossPct(annToBen)).toBeGreaterThan(5);
    expect(lossPct(annToBen)).toBeLessThan(15);
    expect(lossPct(benToAnn)).toBeLessThan(0.5);
    expect(ann!.net!.stats().out.lost).toBeGreaterThan(0);
  }, 90_000);
});
