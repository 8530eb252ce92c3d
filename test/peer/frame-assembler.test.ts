import { beforeAll, describe, expect, it } from 'vitest';
import { type RtpPacket, Vp8Packetizer } from 'werift';
import { FrameAssembler } from '../../src/peer/frame-assembler.js';
import { FrameCatalog } from '../../src/peer/frame-catalog.js';
import { FreezeDetector } from '../../src/peer/freeze.js';
import { loadClip, type VideoClip } from '../../src/peer/media/clip.js';
import { SequenceTracker } from '../../src/peer/sequence.js';

/** One packet on the wire: what the receiver sees, and when (ms, 30 fps). */
interface Sent {
  packet: RtpPacket;
  at: number;
  frame: number;
}

/** The clip's first `frames` frames as RTP packets, one frame every 33.3 ms. */
function packetize(clip: VideoClip, frames: number, startSeq = 65000): Sent[] {
  const packetizer = new Vp8Packetizer({ payloadType: 96, maxPayloadSize: 1200, sequenceNumber: startSeq });
  const out: Sent[] = [];
  let ts = 1000;
  for (let i = 0; i < frames; i++) {
    const frame = clip.frames[i % clip.frames.length]!;
    for (const packet of packetizer.packetize(frame.data, ts))
      out.push({ packet, at: (i * 1000) / 30, frame: i });
    ts += frame.durationTicks;
  }
  return out;
}

function receiver(catalog: FrameCatalog) {
  const seq = new SequenceTracker();
  let requests = 0;
  const assembler = new FrameAssembler({ catalog, requestKeyframe: () => requests++ });
  return {
    assembler,
    requests: () => requests,
    deliver(s: Sent, at = s.at) {
      const ext = seq.add(s.packet.header.sequenceNumber);
      if (ext >= 0)
        assembler.onPacket(ext, s.packet.header.timestamp, s.packet.header.marker, s.packet.payload, at);
    },
  };
}

describe('frame assembler', () => {
  let clip: VideoClip;
  let catalog: FrameCatalog;
  beforeAll(async () => {
    clip = (await loadClip('builtin', 'video')) as VideoClip;
    catalog = FrameCatalog.shared();
    await catalog.whenReady();
  });

  it('every packet arrives: every frame complete, byte-identical to the clip, decodable, no freeze', () => {
    const r = receiver(catalog);
    const sent = packetize(clip, 90);
    for (const s of sent) r.deliver(s);
    r.assembler.tick(3100);
    expect(r.assembler.counts).toMatchObject({
      framesReceived: 90,
      framesRendered: 90,
      framesIncomplete: 0,
      framesCorrupt: 0,
      framesUndecodable: 0,
      freezeCount: 0,
      keyframeRequests: 0,
      verified: true,
    });
  });

  it('a retransmission that arrives late completes its frame: nothing lost, a short stall', () => {
    const r = receiver(catalog);
    const sent = packetize(clip, 60);
    // The packet of frame 10 (a delta frame) arrives 60 ms late, after frames 11 and 12.
    const late = sent.find((s) => s.frame === 10)!;
    late.at += 60;
    for (const s of [...sent].sort((a, b) => a.at - b.at)) r.deliver(s);
    r.assembler.tick(2100);
    expect(r.assembler.counts).toMatchObject({ framesReceived: 60, framesRendered: 60, framesIncomplete: 0 });
  });

  it('an unrepaired loss: the frame is incomplete, later ones undecodable until a keyframe; a keyframe request and a freeze', () => {
    const r = receiver(catalog);
    const sent = packetize(clip, 75); // keyframes at frames 0, 30, 60
    // Frame 35 is one packet: losing it loses the whole frame. Frame 40's last packet is lost too.
    expect(sent.filter((s) => s.frame === 35)).toHaveLength(1);
    const lost = new Set([sent.find((s) => s.frame === 35)!, sent.findLast((s) => s.frame === 40)!]);
    for (const s of sent) if (!lost.has(s)) r.deliver(s);
    r.assembler.tick(2600);
    const c = r.assembler.counts;
    expect(c.framesIncomplete).toBe(2);
    expect(c.framesReceived).toBe(73);
    // Frames 36..59 but 40 wait for frame 35 and are dropped when keyframe 60 arrives.
    expect(c.framesUndecodable).toBe(23);
    expect(c.framesRendered).toBe(50);
    expect(c.keyframeRequests).toBeGreaterThanOrEqual(1);
    expect(r.requests()).toBe(c.keyframeRequests);
    // From frame 34 to frame 60: 867 ms with nothing to show.
    expect(c.freezeCount).toBe(1);
    expect(c.freezeMs).toBeCloseTo(((60 - 34) * 1000) / 30, 0);
    expect(c.framesCorrupt).toBe(0);
  });

  it('a damaged byte makes a complete frame corrupt; duplicates change nothing', () => {
    const r = receiver(catalog);
    const sent = packetize(clip, 40);
    const victim = sent.find((s) => s.frame === 5)!;
    const payload = Buffer.from(victim.packet.payload);
    payload[payload.length - 1] = payload[payload.length - 1]! ^ 0xff;
    victim.packet.payload = payload;
    for (const s of sent) {
      r.deliver(s);
      r.deliver(s); // every packet twice, as a retransmission storm would
    }
    expect(r.assembler.counts).toMatchObject({ framesReceived: 40, framesCorrupt: 1, verified: true });
  });

  it('frames of a source it does not know are counted but not judged', async () => {
    const r = receiver(new FrameCatalog());
    const empty = r.assembler;
    const foreign = packetize(clip, 10);
    // A catalog that never loaded answers "not ready": frames wait to be judged rather than being called corrupt.
    for (const s of foreign) r.deliver(s);
    expect(empty.counts).toMatchObject({ framesReceived: 10, framesCorrupt: 0, verified: false });
  });

  it('a stream picked up mid-frame starts counting at the next frame start', () => {
    const r = receiver(catalog);
    const sent = packetize(clip, 31);
    // Start inside the first keyframe (several packets): its tail is not a frame we can judge.
    const firstDelta = sent.findIndex((s) => s.frame === 1);
    for (const s of sent.slice(2)) r.deliver(s);
    r.assembler.tick(1100);
    expect(firstDelta).toBeGreaterThan(2);
    expect(r.assembler.counts.framesIncomplete).toBe(0);
    expect(r.assembler.counts.framesReceived).toBe(30);
    // No keyframe until frame 30: the deltas before it cannot be decoded, and it asks for one.
    expect(r.assembler.counts.framesRendered).toBe(1);
    expect(r.assembler.counts.keyframeRequests).toBeGreaterThanOrEqual(1);
  });
});

describe('freeze detector (W3C webrtc-stats freezeCount)', () => {
  it('a gap of max(3 × average, average + 150 ms) or more is a freeze; its length is the freeze duration', () => {
    /** Renders a frame `gap` ms after the previous one. */
    const clock = (d: FreezeDetector) => {
      let t = 0;
      return (gap: number) => {
        t += gap;
        d.onRender(t);
      };
    };
    const d = new FreezeDetector();
    const render = clock(d);
    for (let i = 0; i < 40; i++) render(33);
    render(180); // < 33 + 150: not a freeze
    expect(d.freezeCount).toBe(0);
    render(200); // average now ≈ 38.5 ms: 200 ≥ 188.5
    expect(d.freezeCount).toBe(1);
    expect(d.freezeMs).toBe(200);
    // At 5 fps (200 ms frames) the bar is 3 × 200 = 600 ms.
    const slow = new FreezeDetector();
    const slowAfter = clock(slow);
    for (let i = 0; i < 40; i++) slowAfter(200);
    slowAfter(590);
    expect(slow.freezeCount).toBe(0);
    slowAfter(700);
    expect(slow.freezeCount).toBe(1);
  });
});
