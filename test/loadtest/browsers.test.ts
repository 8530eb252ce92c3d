import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BrowserParticipant } from '../../src/loadtest/browsers/browser-participant.js';
import { findChromium } from '../../src/loadtest/browsers/chromium.js';
import { prepareFakeMedia } from '../../src/loadtest/browsers/fake-media.js';
import { RemoteMeter } from '../../src/loadtest/browsers/page-stats.js';
import { parseHostMessage } from '../../src/loadtest/execute/messages.js';
import { diagnoseGenerator } from '../../src/loadtest/metrics/generator-health.js';
import { makePlan } from '../../src/loadtest/plan/plan.js';
import { UsageError } from '../../src/util/errors.js';

const video = (o: Partial<Record<string, number>> = {}) => ({
  framesDecoded: 0,
  framesDropped: 0,
  frameWidth: 320,
  frameHeight: 180,
  freezeCount: 0,
  totalFreezesDuration: 0,
  jitterBufferDelay: 0,
  jitterBufferEmittedCount: 0,
  totalDecodeTime: 0,
  ...o,
});

describe('RemoteMeter (getStats() readings to intervals)', () => {
  it('counts from zero, rates per second and per frame from the second reading on', () => {
    const m = new RemoteMeter();
    const audio = { concealedSamples: 0, totalSamplesReceived: 0 };
    const first = m.next(video({ framesDecoded: 30, freezeCount: 1, totalFreezesDuration: 0.4 }), audio, 0);
    expect(first).toMatchObject({ framesDecoded: 30, freezes: 1, freezeMs: 400, width: 320, height: 180 });
    expect(first.fps).toBeUndefined();
    const second = m.next(
      video({
        framesDecoded: 60,
        framesDropped: 2,
        freezeCount: 1,
        totalFreezesDuration: 0.4,
        jitterBufferDelay: 0.6,
        jitterBufferEmittedCount: 30,
        totalDecodeTime: 0.03,
      }),
      { concealedSamples: 480, totalSamplesReceived: 96_000 },
      2000,
    );
    expect(second.fps).toBe(15);
    expect(second.droppedFps).toBe(1);
    expect(second.freezes).toBe(0);
    expect(second.jitterBufferMs).toBeCloseTo(20);
    expect(second.decodeMs).toBeCloseTo(1);
    expect(second.concealedPct).toBeCloseTo(0.5);
  });

  it('starts again from zero when a reading goes backwards (a new connection)', () => {
    const m = new RemoteMeter();
    m.next(video({ framesDecoded: 500 }), undefined, 0);
    const after = m.next(video({ framesDecoded: 10 }), undefined, 5000);
    expect(after.framesDecoded).toBe(10);
    expect(after.fps).toBeUndefined();
  });
});

describe('browser participants in the plan', () => {
  it('are the last K participants, spread over the rooms, in the same ramp', () => {
    const plan = makePlan({ bots: 6, rooms: 2, rampPerS: 2, browsers: 2 }, 'abcd');
    expect(plan.bots.map((b) => [b.name, b.room, b.browser, b.startAtMs])).toEqual([
      ['bot-0', 'load-abcd-0', false, 0],
      ['bot-1', 'load-abcd-1', false, 500],
      ['bot-2', 'load-abcd-0', false, 1000],
      ['bot-3', 'load-abcd-1', false, 1500],
      ['browser-4', 'load-abcd-0', true, 2000],
      ['browser-5', 'load-abcd-1', true, 2500],
    ]);
    expect(() => makePlan({ bots: 2, rooms: 1, rampPerS: 1, browsers: 3 })).toThrow(UsageError);
  });

  it("open the room's page under the server's URL, as the bots' sockets join it", () => {
    const spec = (url: string) =>
      ({ url, room: 'load-ab-0', name: 'browser-4' }) as Parameters<typeof BrowserParticipant.pageUrl>[0];
    expect(BrowserParticipant.pageUrl(spec('ws://127.0.0.1:8080'))).toBe(
      'http://127.0.0.1:8080/room/load-ab-0/?username=browser-4',
    );
    expect(BrowserParticipant.pageUrl(spec('wss://meet.example/ws/'))).toBe(
      'https://meet.example/ws/room/load-ab-0/?username=browser-4',
    );
  });
});

describe('Chromium and its fake camera', () => {
  let dir: string | undefined;
  const path = process.env.PATH;
  afterEach(async () => {
    process.env.PATH = path;
    if (dir) await rm(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('no Chromium is a usage error that says how to get one', () => {
    expect(() => findChromium({}, [])).toThrow(/apt-get install chromium.*ENGAGE_CHROMIUM/);
    expect(() => findChromium({ ENGAGE_CHROMIUM: '/nonexistent' })).toThrow(UsageError);
    expect(findChromium({ ENGAGE_CHROMIUM: process.execPath })).toBe(process.execPath);
  });

  it('decodes the clip once to y4m and wav at its size and frame rate, then reuses the cached files', async () => {
    dir = await mkdtemp(join(tmpdir(), 'engage-fake-media-'));
    const media = await prepareFakeMedia('builtin-light', 'builtin-light', dir);
    const header = (await readFile(media.videoFile)).subarray(0, 60).toString('latin1');
    expect(header).toMatch(/^YUV4MPEG2 W320 H180 F15:1 /);
    expect((await readFile(media.audioFile)).subarray(0, 4).toString()).toBe('RIFF');
    const made = (await stat(media.videoFile)).mtimeMs;
    // ffmpeg is not needed a second time: the cached files are used.
    process.env.PATH = '';
    expect(await prepareFakeMedia('builtin-light', 'builtin-light', dir)).toEqual(media);
    expect((await stat(media.videoFile)).mtimeMs).toBe(made);
  }, 60_000);

  it('without ffmpeg (and nothing cached) it is a usage error naming ffmpeg; "none" is refused', async () => {
    dir = await mkdtemp(join(tmpdir(), 'engage-fake-media-'));
    process.env.PATH = '';
    await expect(prepareFakeMedia('builtin-light', 'builtin-light', dir)).rejects.toThrow(
      /needs ffmpeg.*apt-get install ffmpeg/,
    );
    process.env.PATH = path;
    await expect(prepareFakeMedia('none', 'builtin-light', dir)).rejects.toThrow(UsageError);
  });
});

describe('a browser-view event at the host boundary', () => {
  const remote = {
    remote: 'bot-0',
    width: 320,
    height: 180,
    fpsAvg: 15,
    fpsMin: 14,
    framesDecoded: 300,
    framesDropped: 0,
    freezeCount: 0,
    freezeMs: 0,
    jitterBufferMs: 9,
    decodeMs: 0.5,
    concealedSamples: 0,
    stalled: false,
    via: 'host',
  };
  const event = (view: unknown) => ({
    type: 'batch',
    events: [{ type: 'browser-view', bot: 'browser-3', room: 'r', view }],
  });

  it('is accepted whole, and refused with a field of the wrong type', () => {
    const view = { qualityLimitationReason: 'none', limitedMs: { cpu: 0 }, remotes: [remote] };
    expect(parseHostMessage(event(view))).toBeDefined();
    expect(parseHostMessage(event({ ...view, remotes: [{ ...remote, fpsAvg: 'fast' }] }))).toBeUndefined();
    expect(
      parseHostMessage(event({ ...view, remotes: [{ ...remote, via: 'carrier-pigeon' }] })),
    ).toBeUndefined();
    expect(parseHostMessage(event({ ...view, limitedMs: { cpu: Number.NaN } }))).toBeUndefined();
    expect(parseHostMessage(event(null))).toBeUndefined();
  });
});

describe("the browsers' Chromium in generator health", () => {
  const cpu = (avg: number) => ({ avg, min: avg, max: avg, last: avg });
  const input = { cores: 2, lagPerSecondMs: [5, 5, 5], machineCpuPct: 190, serverCpuPct: 2 };

  it('counts toward saturation: the generator is its process plus its Chromium', () => {
    const alone = diagnoseGenerator({ ...input, generatorCpu: cpu(50) });
    expect(alone).toEqual([]);
    const withBrowsers = diagnoseGenerator({ ...input, generatorCpu: cpu(50), browserCpuPct: 130 });
    expect(withBrowsers).toEqual([
      expect.stringMatching(/^generator CPU averaged 180% of 200% \(130% of it the browsers' Chromium\)/),
    ]);
  });
});
