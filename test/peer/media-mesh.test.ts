import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Bot } from '../../src/peer/bot.js';
import { loadFeeds } from '../../src/peer/media/feeds.js';
import { fullMesh, until } from '../helpers/bots.js';
import { filesUnder, probe } from '../helpers/ffprobe.js';
import { useServer } from '../helpers/server.js';
import { ffprobeWarnings } from './media/ffmpeg.js';

const span = (c: { firstPacketAt?: number; lastPacketAt?: number }) =>
  c.firstPacketAt === undefined ? 0 : (c.lastPacketAt! - c.firstPacketAt) / 1000;

describe('bots with media and recording', () => {
  const s = useServer();
  let dir: string;
  const bots: Bot[] = [];
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'engage-rec-'));
  });
  afterEach(async () => {
    await Promise.all(bots.splice(0).map((b) => b.close()));
    await rm(dir, { recursive: true, force: true });
  });

  /** Bots in one room, each recording into its own folder so tests can tell who recorded what. */
  async function meshOf(names: string[]): Promise<Bot[]> {
    const feeds = await loadFeeds('builtin', 'builtin');
    for (const name of names) {
      bots.push(await Bot.join({ url: s.url, room: 'media', name, feeds, recordDir: join(dir, name) }));
    }
    await fullMesh(bots);
    return [...bots];
  }

  for (const n of [2, 3]) {
    it(`${n} bots: each records every other one as playable VP8 + Opus, durations and frames right`, async () => {
      const all = await meshOf(['ann', 'ben', 'cat'].slice(0, n));
      await new Promise((r) => setTimeout(r, 3000));
      // What flowed, per (receiver, sender) pair, read before the links close.
      const flows = all.flatMap((b) =>
        [...b.links.values()].map((link) => ({
          receiver: b.name,
          sender: link.remoteName,
          videoS: span(link.inbound.video),
          audioS: span(link.inbound.audio),
          framesReceived: link.inbound.video.frames,
        })),
      );
      const framesSent = new Map<string, number>();
      for (const b of all)
        for (const l of b.links.values())
          framesSent.set(`${b.name}->${l.remoteName}`, l.outbound.videoFrames);
      await Promise.all(all.map((b) => b.close()));

      expect(flows).toHaveLength(n * (n - 1));
      for (const f of flows) {
        const files = filesUnder(join(dir, f.receiver, 'media', f.sender));
        const video = files.filter((x) => x.endsWith('-video.webm'));
        const audio = files.filter((x) => x.endsWith('-audio.webm'));
        expect(video, `${f.receiver} recording ${f.sender}`).toHaveLength(1);
        expect(audio).toHaveLength(1);

        // Finalised files are clean: sizes, duration and cues written.
        expect(ffprobeWarnings(video[0]!)).toBe('');
        expect(ffprobeWarnings(audio[0]!)).toBe('');
        const v = probe(video[0]!);
        expect(v.codec).toBe('vp8');
        expect([v.width, v.height]).toEqual([640, 360]);
        expect(f.videoS).toBeGreaterThan(2);
        expect(Math.abs(v.durationS - f.videoS), `video ${v.durationS}s vs ${f.videoS}s flowed`).toBeLessThan(
          1,
        );

        const a = probe(audio[0]!);
        expect(a.codec).toBe('opus');
        expect(Math.abs(a.durationS - f.audioS), `audio ${a.durationS}s vs ${f.audioS}s flowed`).toBeLessThan(
          1,
        );

        // Frames: what the sender handed this link once connected, what arrived, and what the file holds.
        const sent = framesSent.get(`${f.sender}->${f.receiver}`)!;
        expect(sent).toBeGreaterThan(60);
        expect(
          Math.abs(f.framesReceived - sent) / sent,
          `sent ${sent}, received ${f.framesReceived}`,
        ).toBeLessThan(0.1);
        expect(Math.abs(v.frames - sent) / sent, `sent ${sent}, recorded ${v.frames}`).toBeLessThan(0.1);
      }
    }, 60_000);
  }

  it('a bot that leaves is dropped by the others within 1 s and its recording is playable', async () => {
    const [ann, ben, cat] = await meshOf(['ann', 'ben', 'cat']);
    await new Promise((r) => setTimeout(r, 1500));
    const finalised: string[] = [];
    ann!.on('recorded', (r) => finalised.push(r.path!));
    const t0 = Date.now();
    await cat!.close();
    await until(() => !ann!.links.has('cat') && !ben!.links.has('cat'), 'ann and ben to drop cat', 1000);
    expect(Date.now() - t0).toBeLessThan(1000);
    // The others finalise cat's recordings as soon as cat is gone, while they stay in the room.
    await until(() => finalised.length === 2, 'ann to finalise both recordings of cat');
    expect(finalised.sort()).toEqual(filesUnder(join(dir, 'ann', 'media', 'cat')).sort());
    for (const f of finalised) {
      const p = probe(f);
      expect(p.durationS).toBeGreaterThan(0.8);
      expect(p.durationS).toBeLessThan(3);
    }
    expect(ann!.links.get('ben')?.state).toBe('connected');
  }, 60_000);

  it("sends a user's own file: a recording made by one bot is another bot's --video", async () => {
    const [ann, ben] = await meshOf(['ann', 'ben']);
    await new Promise((r) => setTimeout(r, 2000));
    await Promise.all([ann!.close(), ben!.close()]);
    const recording = filesUnder(join(dir, 'ben', 'media', 'ann')).find((f) => f.endsWith('-video.webm'))!;

    const feeds = await loadFeeds(recording, 'builtin-light');
    const sender = await Bot.join({ url: s.url, room: 'replay', name: 'cid', feeds });
    const receiver = await Bot.join({
      url: s.url,
      room: 'replay',
      name: 'dan',
      feeds: [],
      recordDir: join(dir, 'dan'),
    });
    bots.push(sender, receiver);
    await fullMesh([sender, receiver]);
    await new Promise((r) => setTimeout(r, 2000));
    const link = receiver.links.get('cid')!;
    expect(link.inbound.video.frames).toBeGreaterThan(30);
    await Promise.all([sender.close(), receiver.close()]);
    const replayed = filesUnder(join(dir, 'dan', 'replay', 'cid')).find((f) => f.endsWith('-video.webm'))!;
    const p = probe(replayed);
    expect(p.codec).toBe('vp8');
    expect([p.width, p.height]).toEqual([640, 360]);
    expect(p.durationS).toBeGreaterThan(1);
  }, 60_000);
});
