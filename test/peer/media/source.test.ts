import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { RtpPacket } from 'werift';
import type { AudioClip, VideoClip } from '../../../src/peer/media/clip.js';
import { ClipSource } from '../../../src/peer/media/source.js';

const FRAME_TICKS = 3000; // 30 fps at 90 kHz
const FRAME_MS = 1000 / 30;
const VP8_DESCRIPTOR = 4; // werift's Vp8Packetizer: X, I, M and a 15-bit PictureID

/** Six frames, keyframes at 0 and 3; frame i is filled with byte i, frame 0 spans 3 packets. */
function videoClip(): VideoClip {
  const sizes = [3000, 100, 100, 500, 100, 100];
  const frames = sizes.map((size, i) => ({
    data: Buffer.alloc(size, i),
    durationTicks: FRAME_TICKS,
    keyframe: i % 3 === 0,
  }));
  return {
    kind: 'video',
    codec: 'vp8',
    clockRate: 90000,
    name: 'synthetic',
    frames,
    loopTicks: 6 * FRAME_TICKS,
  };
}

function audioClip(): AudioClip {
  const frames = [0, 1, 2].map((i) => ({ data: Buffer.from([0xfc, i]), durationTicks: 960, keyframe: true }));
  return {
    kind: 'audio',
    codec: 'opus',
    clockRate: 48000,
    name: 'synthetic-audio',
    frames,
    loopTicks: 3 * 960,
  };
}

interface SentFrame {
  index: number;
  timestamp: number;
  packets: RtpPacket[];
}

/** Groups packets into frames by timestamp; the payload's fill byte tells which clip frame it was. */
function framesOf(packets: RtpPacket[], descriptor = VP8_DESCRIPTOR): SentFrame[] {
  const frames: SentFrame[] = [];
  for (const packet of packets) {
    const last = frames.at(-1);
    if (last && last.timestamp === packet.header.timestamp) last.packets.push(packet);
    else
      frames.push({
        index: packet.payload[descriptor]!,
        timestamp: packet.header.timestamp,
        packets: [packet],
      });
  }
  return frames;
}

describe('ClipSource', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });

  it('loops with continuous sequence numbers and timestamps, wrapping both', () => {
    const source = new ClipSource(videoClip(), {
      initialSequenceNumber: 65530,
      initialTimestamp: 2 ** 32 - 4 * FRAME_TICKS,
    });
    const packets: RtpPacket[] = [];
    source.subscribe((packet) => packets.push(packet));
    // 15 frames: two and a half loops. A frame is due every 33.3 ms from the start.
    vi.advanceTimersByTime(14 * FRAME_MS + 1);

    const frames = framesOf(packets);
    expect(frames.map((f) => f.index)).toEqual([0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 5, 0, 1, 2]);
    for (let i = 1; i < packets.length; i++) {
      expect(packets[i]!.header.sequenceNumber).toBe((packets[i - 1]!.header.sequenceNumber + 1) & 0xffff);
    }
    expect(packets[0]!.header.sequenceNumber).toBe(65530);
    for (let i = 1; i < frames.length; i++) {
      expect(frames[i]!.timestamp).toBe((frames[i - 1]!.timestamp + FRAME_TICKS) >>> 0);
    }
    // Marker on the last packet of each frame only; the big first frame needed several packets.
    expect(frames[0]!.packets.length).toBe(3);
    for (const frame of frames) {
      expect(frame.packets.map((p) => p.header.marker)).toEqual(
        frame.packets.map((_, i) => i === frame.packets.length - 1),
      );
    }
    // Frame bytes arrive intact behind the VP8 payload descriptor.
    const frame0 = Buffer.concat(frames[6]!.packets.map((p) => p.payload.subarray(VP8_DESCRIPTOR)));
    expect(frame0.equals(videoClip().frames[0]!.data)).toBe(true);
    expect(source.stats).toMatchObject({ framesSent: 15, loops: 2, packetsSent: packets.length });
    source.close();
  });

  it('packs each Opus packet into one RTP packet with 48 kHz timestamps', () => {
    const source = new ClipSource(audioClip(), { initialTimestamp: 0 });
    const packets: RtpPacket[] = [];
    source.subscribe((packet) => packets.push(packet));
    vi.advanceTimersByTime(100);
    expect(packets.map((p) => p.header.timestamp)).toEqual([0, 960, 1920, 2880, 3840, 4800]);
    expect(packets.map((p) => p.payload[1])).toEqual([0, 1, 2, 0, 1, 2]);
    // RFC 7587: the marker starts a talkspurt only.
    expect(packets.map((p) => p.header.marker)).toEqual([true, false, false, false, false, false]);
    source.close();
  });

  it('serves every subscriber the same packets, made once', () => {
    const source = new ClipSource(videoClip());
    const a: RtpPacket[] = [];
    const b: RtpPacket[] = [];
    source.subscribe((p) => a.push(p));
    source.subscribe(() => {
      throw new Error('a broken link');
    });
    source.subscribe((p) => b.push(p));
    vi.advanceTimersByTime(3 * FRAME_MS);
    expect(a.length).toBeGreaterThan(0);
    expect(b).toEqual(a);
    expect(b[0]).toBe(a[0]);
    expect(source.stats.packetsSent).toBe(a.length);
    source.close();
  });

  it('jumps to the next keyframe on requestKeyframe, the clock still moving forward', () => {
    const source = new ClipSource(videoClip(), { initialTimestamp: 0, keyframeCooldownMs: 0 });
    const packets: RtpPacket[] = [];
    source.subscribe((packet) => packets.push(packet));
    vi.advanceTimersByTime(FRAME_MS + 1); // frames 0 and 1 sent
    source.requestKeyframe();
    vi.advanceTimersByTime(3 * FRAME_MS);
    source.requestKeyframe(); // at frame 5: the next keyframe is frame 0, across the end of the clip
    vi.advanceTimersByTime(2 * FRAME_MS);

    const frames = framesOf(packets);
    expect(frames.map((f) => f.index)).toEqual([0, 1, 3, 4, 5, 0, 1]);
    expect(frames.map((f) => f.timestamp)).toEqual([0, 1, 2, 3, 4, 5, 6].map((i) => i * FRAME_TICKS));
    expect(source.stats).toMatchObject({ keyframeJumps: 1, skippedFrames: 1, loops: 1 });
    source.close();
  });

  it('makes one jump for a burst of requests and defers one that comes too soon', () => {
    const source = new ClipSource(videoClip(), { keyframeCooldownMs: 200 });
    const packets: RtpPacket[] = [];
    source.subscribe((packet) => packets.push(packet));
    vi.advanceTimersByTime(1); // keyframe 0 sent
    for (let i = 0; i < 5; i++) source.requestKeyframe();
    vi.advanceTimersByTime(12 * FRAME_MS);
    // Frame 3 is a keyframe anyway and comes within 200 ms: it serves the request, no jump needed.
    expect(
      framesOf(packets)
        .map((f) => f.index)
        .slice(0, 7),
    ).toEqual([0, 1, 2, 3, 4, 5, 0]);
    expect(source.stats.keyframeJumps).toBe(0);
    source.close();
  });

  it('runs only while subscribed, resuming with the clock advanced and a keyframe', () => {
    const source = new ClipSource(videoClip(), { initialTimestamp: 0 });
    expect(source.kind).toBe('video');
    expect(source.running).toBe(false);
    expect(vi.getTimerCount()).toBe(0);
    const packets: RtpPacket[] = [];
    const unsubscribe = source.subscribe((packet) => packets.push(packet));
    const unsubscribeOther = source.subscribe(() => {});
    expect(source.running).toBe(true);
    vi.advanceTimersByTime(FRAME_MS + 1); // frames 0, 1
    unsubscribe();
    unsubscribe(); // idempotent: must not drop the other subscription
    expect(source.subscriberCount).toBe(1);
    expect(source.running).toBe(true);
    unsubscribeOther();
    expect(source.running).toBe(false);
    expect(vi.getTimerCount()).toBe(0);

    vi.advanceTimersByTime(1000); // paused: nothing is sent, no timer runs
    const before = packets.length;
    source.subscribe((packet) => packets.push(packet));
    vi.advanceTimersByTime(FRAME_MS + 1);
    const frames = framesOf(packets.slice(before));
    // Resumed at the next keyframe (frame 3, not 2), the clock having run on through the pause.
    expect(frames[0]!.index).toBe(3);
    // Frame 2 was due at 2 * FRAME_MS; frame 3 goes out 1001 + FRAME_MS ms after the start instead.
    expect(frames[0]!.timestamp).toBe(2 * FRAME_TICKS + Math.round((1001 + FRAME_MS - 2 * FRAME_MS) * 90));
    expect(frames[1]!.timestamp - frames[0]!.timestamp).toBe(FRAME_TICKS);
    source.close();
  });

  it('catches up by a few frames after an event-loop stall, not with a burst', () => {
    const realNow = performance.now.bind(performance);
    let stallMs = 0;
    vi.spyOn(performance, 'now').mockImplementation(() => realNow() + stallMs);
    const source = new ClipSource(videoClip(), { initialTimestamp: 0, maxCatchUpMs: 100 });
    const packets: RtpPacket[] = [];
    source.subscribe((packet) => packets.push(packet));
    vi.advanceTimersByTime(1); // frame 0
    stallMs = 2000; // the event loop was blocked for 2 s: 60 frames overdue
    vi.advanceTimersByTime(FRAME_MS);

    const frames = framesOf(packets);
    // Frame 0, then the frames of the last 100 ms only (3 or 4, as rounding goes), not 60.
    expect(frames.length).toBeGreaterThanOrEqual(4);
    expect(frames.length).toBeLessThanOrEqual(6);
    // Frames continue in order; the RTP clock jumped forward over the dropped time, never back.
    expect(frames.map((f) => f.index)).toEqual(frames.map((_, i) => i % 6));
    const gaps = frames.slice(1).map((f, i) => f.timestamp - frames[i]!.timestamp);
    expect(Math.min(...gaps)).toBe(FRAME_TICKS);
    expect(gaps.reduce((a, b) => a + b, 0)).toBeGreaterThan(1.8 * 90000);
    expect(source.stats.droppedLagMs).toBeGreaterThan(1800);
    source.close();
  });

  it('closes idempotently, stops its timer and refuses new subscribers', () => {
    const source = new ClipSource(videoClip());
    source.subscribe(() => {});
    expect(vi.getTimerCount()).toBe(1);
    source.close();
    source.close();
    expect(source.closed).toBe(true);
    expect(source.running).toBe(false);
    expect(vi.getTimerCount()).toBe(0);
    expect(() => source.subscribe(() => {})).toThrow(/closed/);
  });

  it('shares one source per clip until it is closed', () => {
    const clip = videoClip();
    const shared = ClipSource.shared(clip);
    expect(ClipSource.shared(clip)).toBe(shared);
    expect(ClipSource.shared(videoClip())).not.toBe(shared);
    shared.close();
    const next = ClipSource.shared(clip);
    expect(next).not.toBe(shared);
    expect(next.closed).toBe(false);
    next.close();
  });
});

describe('ClipSource timers', () => {
  it('never keep the process alive (unref)', () => {
    const timeouts = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const idle = timeouts();
    const source = new ClipSource(videoClip());
    source.subscribe(() => {});
    expect(source.running).toBe(true);
    expect(timeouts()).toBe(idle);
    source.close();
  });
});
