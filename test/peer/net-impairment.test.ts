import { afterEach, describe, expect, it } from 'vitest';
import { Bot } from '../../src/peer/bot.js';
import type { PeerLink } from '../../src/peer/link.js';
import { loadFeeds } from '../../src/peer/media/feeds.js';
import { NetSchedule } from '../../src/peer/net/schedule.js';
import { type LinkSample, LinkSampler } from '../../src/peer/stats.js';
import { fullMesh } from '../helpers/bots.js';
import { useServer } from '../helpers/server.js';

/*
 * What the in-process shaper does, measured by real werift bots on loopback: the figures a user reads
 * on `engage join` (per-link samples), against the profile asked for. Loopback itself loses nothing and
 * adds well under a millisecond, so the differences are the shaper's. Tolerances are the issue's.
 */

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (part: number, whole: number) => (whole === 0 ? 0 : (100 * part) / whole);
/** Loss before repair over a link's whole life: what the network dropped of what was sent. */
const netLoss = (s: LinkSample) => pct(s.packetsLostBeforeRepair, s.packetsExpected);

describe('network impairment, measured (engage join figures)', () => {
  const s = useServer();
  const bots: Bot[] = [];
  afterEach(async () => {
    await Promise.all(bots.splice(0).map((b) => b.close()));
  });

  async function join(room: string, name: string, net?: string, clip = 'builtin'): Promise<Bot> {
    const bot = await Bot.join({
      url: s.url,
      room,
      name,
      feeds: await loadFeeds(clip, clip),
      net: net === undefined ? undefined : { schedule: NetSchedule.parse(net, { untimedFirst: true }) },
      connectTimeoutMs: 40_000,
    });
    bots.push(bot);
    return bot;
  }

  /** The link at `receiver` from `sender`: what the receiver measured of the sender's media. */
  const link = (receiver: Bot, sender: Bot): PeerLink => receiver.links.get(sender.name)!;

  it('loss=10% on one bot: 10% ± 2 lost on its direction, the other direction clean, NACK repairs video', async () => {
    const ann = await join('loss', 'ann', 'loss=10%');
    const ben = await join('loss', 'ben');
    const cat = await join('loss', 'cat');
    await fullMesh([ann, ben, cat], 40_000);
    await sleep(15_000);
    const sample = (r: Bot, from: Bot) => new LinkSampler(link(r, from)).sample();
    const lossy = await Promise.all([sample(ben, ann), sample(cat, ann)]);
    const clean = await Promise.all([sample(ann, ben), sample(ann, cat), sample(ben, cat), sample(cat, ben)]);
    // About 1,400 packets per direction: pooled, one standard deviation is about 0.6 points.
    const sent = lossy.reduce((n, x) => n + x.packetsExpected, 0);
    const lost = lossy.reduce((n, x) => n + x.packetsLostBeforeRepair, 0);
    expect(sent).toBeGreaterThan(2000);
    expect(pct(lost, sent)).toBeGreaterThan(8);
    expect(pct(lost, sent)).toBeLessThan(12);
    for (const x of lossy) {
      expect(netLoss(x)).toBeGreaterThan(6);
      expect(netLoss(x)).toBeLessThan(14);
      // Video is repaired by NACK, audio is not: what stays lost is well under what the network lost.
      expect(pct(x.packetsLost, x.packetsExpected)).toBeLessThan(netLoss(x) * 0.8);
      expect(x.frames.framesReceived).toBeGreaterThan(300);
      expect(x.frames.framesCorrupt).toBe(0);
    }
    for (const x of clean) expect(netLoss(x), `${x.remote} → clean direction`).toBeLessThan(0.5);
    // The shaper's own count agrees: configured 10%, done 10%.
    const done = ann.net!.stats().out;
    expect(pct(done.lost, done.packets)).toBeGreaterThan(8);
    expect(pct(done.lost, done.packets)).toBeLessThan(12);
    expect(ann.net!.stats().in.lost).toBe(0);
  }, 120_000);

  it('in:loss=30% shapes what the bot receives, not what it sends', async () => {
    const ann = await join('inloss', 'ann');
    const ben = await join('inloss', 'ben', 'in:loss=30%');
    await fullMesh([ann, ben], 40_000);
    await sleep(8000);
    const toBen = await new LinkSampler(link(ben, ann)).sample();
    const toAnn = await new LinkSampler(link(ann, ben)).sample();
    expect(netLoss(toBen)).toBeGreaterThan(23);
    expect(netLoss(toBen)).toBeLessThan(37);
    expect(netLoss(toAnn)).toBeLessThan(0.5);
  }, 90_000);

  it('delay=50ms on both bots: rtt rises by 100 ± 15 ms and media latency p50 by 50 ± 8 ms', async () => {
    // A clean pair first (the baseline), then a pair with 50 ms each way, one at a time: werift smooths
    // its RTT (new = 0.85 old + 0.15 sample), so a first sample taken while another pair's handshake
    // holds the event loop would stay in the figure for many seconds.
    const measure = async (room: string, net?: string) => {
      const ann = await join(room, 'ann', net);
      const ben = await join(room, 'ben', net);
      await fullMesh([ann, ben], 40_000);
      const samplers = [link(ann, ben), link(ben, ann)].map((l) => new LinkSampler(l));
      await sleep(3000);
      await Promise.all(samplers.map((x) => x.sample())); // the next interval starts with media flowing
      await sleep(5000);
      const samples = await Promise.all(samplers.map((x) => x.sample()));
      await Promise.all([ann.close(), ben.close()]);
      return samples;
    };
    const clean = await measure('clean');
    const slow = await measure('slow', 'delay=50ms');
    for (const [i, c] of clean.entries()) {
      const d = slow[i]!;
      expect(c.rttMs).toBeDefined();
      expect(d.rttMs).toBeDefined();
      const rtt = `rtt ${c.rttMs} → ${d.rttMs} ms`;
      expect(d.rttMs! - c.rttMs!, rtt).toBeGreaterThan(85);
      expect(d.rttMs! - c.rttMs!, rtt).toBeLessThan(115);
      const latency = `latency p50 ${c.mediaLatencyMs?.p50} → ${d.mediaLatencyMs?.p50} ms`;
      expect(d.mediaLatencyMs!.p50 - c.mediaLatencyMs!.p50, latency).toBeGreaterThan(42);
      expect(d.mediaLatencyMs!.p50 - c.mediaLatencyMs!.p50, latency).toBeLessThan(58);
      // Hundreds of packets measured, and on one machine the clock offset estimate is near zero.
      expect(d.mediaLatencyMs!.count).toBeGreaterThan(300);
      expect(Math.abs(d.clockOffsetMs!)).toBeLessThan(15);
    }
  }, 120_000);

  it('rate=200kbit: the received bitrate stays under the cap, and freezes are counted', async () => {
    // The load-test clip (about 150 kbit/s with audio) fits under the cap on average; its keyframes
    // (5 packets at once) do not fit the 50 ms queue, so they lose packets and the picture stalls.
    const ann = await join('rate', 'ann', 'rate=200kbit', 'builtin-light');
    const ben = await join('rate', 'ben', undefined, 'builtin-light');
    await fullMesh([ann, ben], 40_000);
    const capped = new LinkSampler(link(ben, ann));
    const free = new LinkSampler(link(ann, ben));
    await sleep(2000);
    await Promise.all([capped.sample(), free.sample()]);
    const intervals: LinkSample[] = [];
    for (let i = 0; i < 5; i++) {
      await sleep(2000);
      intervals.push(await capped.sample());
    }
    for (const x of intervals) expect(x.inKbps).toBeLessThan(200);
    const last = intervals.at(-1)!;
    expect(last.frames.freezeCount).toBeGreaterThan(0);
    expect(last.frames.freezeMs).toBeGreaterThan(0);
    expect(last.frames.framesRendered).toBeGreaterThan(20);
    expect(ann.net!.stats().out.queueDropped).toBeGreaterThan(0);
    // The other direction, unshaped, carries the same clip without freezing as much.
    const other = await free.sample();
    expect(other.frames.freezeCount).toBeLessThan(last.frames.freezeCount);
  }, 90_000);

  it('a schedule that clears loss shows the recovery in the time series', async () => {
    // Clean while connecting, 20% loss from 3 s to 9 s after the bot started, clean again after.
    const ann = await join('sched', 'ann', 'none;3s:loss=20%;9s:none');
    const ben = await join('sched', 'ben');
    await fullMesh([ann, ben], 40_000);
    const sampler = new LinkSampler(link(ben, ann));
    const start = ann.net!.startedAt;
    const series: Array<{ from: number; to: number; s: LinkSample }> = [];
    let from = (performance.now() - start) / 1000;
    await sampler.sample();
    while ((performance.now() - start) / 1000 < 14) {
      await sleep(1000);
      const x = await sampler.sample();
      const to = (performance.now() - start) / 1000;
      series.push({ from, to, s: x });
      from = to;
    }
    const during = series.filter((p) => p.from >= 3.2 && p.to <= 8.8);
    const after = series.filter((p) => p.from >= 9.5);
    expect(during.length).toBeGreaterThanOrEqual(3);
    expect(after.length).toBeGreaterThanOrEqual(3);
    const avg = during.reduce((n, p) => n + p.s.netLossPct, 0) / during.length;
    expect(avg).toBeGreaterThan(12);
    expect(avg).toBeLessThan(28);
    for (const p of after) {
      expect(p.s.netLossPct, `${p.from.toFixed(1)}–${p.to.toFixed(1)} s`).toBe(0);
      expect(p.s.lossPct).toBe(0);
      expect(p.s.videoInFps).toBeGreaterThan(20);
    }
    expect(ann.net!.stats()).toMatchObject({ profile: 'none', step: 2 });
  }, 90_000);

  it('without a profile nothing is wrapped: packets go straight to the socket', async () => {
    const plain = await join('plain', 'ann');
    const shaped = await join('plain', 'ben', 'delay=1ms');
    await fullMesh([plain, shaped], 40_000);
    expect(plain.net).toBeUndefined();
    const socketOf = (l: PeerLink) => {
      const transport = (
        l.pc.iceTransports[0] as unknown as {
          connection: { protocols: Array<{ transport: { socket: object } }> };
        }
      ).connection.protocols[0]!.transport;
      return transport.socket;
    };
    // A shaped bot's socket has its own send (the hook); a plain one only the prototype's.
    expect(Object.hasOwn(socketOf(link(plain, shaped)), 'send')).toBe(false);
    expect(Object.hasOwn(socketOf(link(shaped, plain)), 'send')).toBe(true);
  }, 60_000);
});
