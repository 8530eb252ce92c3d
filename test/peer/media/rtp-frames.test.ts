import { describe, expect, it } from 'vitest';
import type { RtpPacket } from 'werift';
import { type MediaFrame, RtpFrameAssembler } from '../../../src/peer/media/rtp-frames.js';
import { clipPackets } from './packets.js';

function assemble(kind: 'audio' | 'video', packets: Array<{ packet: RtpPacket; at: number }>) {
  const frames: MediaFrame[] = [];
  let keyframeRequests = 0;
  const assembler = new RtpFrameAssembler({
    kind,
    onFrame: (f) => frames.push(f),
    onKeyframeNeeded: () => keyframeRequests++,
    latencyMs: 100,
  });
  for (const { packet, at } of packets) assembler.push(packet, at);
  assembler.flush();
  return { frames, keyframeRequests, lost: assembler.lost };
}

/** Packets as they were sent, 10 ms apart. */
const inOrder = (packets: RtpPacket[]) => packets.map((packet, i) => ({ packet, at: i * 10 }));

describe('RtpFrameAssembler', () => {
  it('rebuilds the clip frames across sequence and timestamp wrap-around', async () => {
    const { clip, packets, frames } = await clipPackets('builtin', 'video', 2000, {
      initialSequenceNumber: 65_500,
      initialTimestamp: 2 ** 32 - 90_000,
    });
    const out = assemble('video', inOrder(packets));
    expect(out.frames).toHaveLength(frames);
    out.frames.forEach((f, i) => {
      expect(f.data.equals(clip.frames[i]!.data)).toBe(true);
      expect(f.timeMs).toBeCloseTo((i * 1000) / 30, 0);
    });
    expect(out.lost).toBe(0);
  });

  it('puts reordered packets back in order when they come within the latency', async () => {
    const { packets } = await clipPackets('builtin', 'video', 1000);
    const reference = assemble('video', inOrder(packets)).frames;
    const shuffled = inOrder(packets);
    // Swap neighbours: every other packet arrives after the one behind it (the stream's first packet
    // aside: it is where the stream starts).
    for (let i = 1; i + 1 < shuffled.length; i += 2) {
      const a = shuffled[i]!;
      shuffled[i] = { ...shuffled[i + 1]!, at: a.at };
      shuffled[i + 1] = { ...a, at: a.at + 5 };
    }
    const out = assemble('video', shuffled);
    expect(out.frames.map((f) => f.data)).toEqual(reference.map((f) => f.data));
    expect(out.lost).toBe(0);
  });

  it('after a lost packet, drops video up to the next keyframe and asks for one', async () => {
    const { clip, packets } = await clipPackets('builtin', 'video', 2500);
    // Lose the packet ending frame 5 (a delta frame; keyframes are frames 0, 30, 60).
    const ends = packets.flatMap((p, i) => (p.header.marker ? [i] : []));
    const lostAt = ends[5]!;
    const out = assemble('video', inOrder(packets.filter((_, i) => i !== lostAt)));
    expect(out.lost).toBe(1);
    expect(out.keyframeRequests).toBe(1);
    // Frames 0-4 decode, 5-29 would not (they reference the lost one), 30 on do again.
    const kept = out.frames.map((f) => clip.frames.findIndex((c) => c.data.equals(f.data)));
    expect(kept.slice(0, 6)).toEqual([0, 1, 2, 3, 4, 30]);
    expect(out.frames[5]!.keyframe).toBe(true);
    expect(out.frames[5]!.timeMs).toBeCloseTo(1000, 0);
  });

  it('gives a gap up after the latency, and ignores the packet that comes too late', async () => {
    const { packets } = await clipPackets('builtin', 'audio', 500);
    const timed = inOrder(packets);
    const [late] = timed.splice(3, 1);
    // The missing packet turns up 300 ms late, after the gap was given up.
    timed.splice(timed.length - 1, 0, { packet: late!.packet, at: 400 });
    const out = assemble('audio', timed);
    expect(out.lost).toBe(1);
    expect(out.frames).toHaveLength(packets.length - 1);
    expect(out.frames.every((f, i) => i === 0 || f.timeMs > out.frames[i - 1]!.timeMs)).toBe(true);
    expect(out.frames.every((f) => f.durationMs === 20)).toBe(true);
  });
});
