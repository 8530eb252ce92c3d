import type { MediaStreamTrack, RTCRtpReceiver, RtpPacket } from 'werift';
import { FrameAssembler, type FrameCounts } from './frame-assembler.js';
import { FrameCatalog } from './frame-catalog.js';
import { ABS_SEND_TIME_URI } from './ice.js';
import type { MediaFeed } from './link.js';
import { ClipSource } from './media/source.js';
import { absSendTimeDelayMs, LatencyLog, wallClockMs } from './media-latency.js';
import { type SequenceCounts, SequenceTracker } from './sequence.js';

type Kind = 'audio' | 'video';

interface InboundStream {
  kind: Kind;
  sequence: SequenceTracker;
  frames: FrameAssembler | undefined;
  unsubscribe: () => void;
}

const emptyFrames = (): FrameCounts => ({
  framesReceived: 0,
  framesIncomplete: 0,
  framesCorrupt: 0,
  framesRendered: 0,
  framesUndecodable: 0,
  keyframeRequests: 0,
  freezeCount: 0,
  freezeMs: 0,
  verified: false,
});

const emptySequence = (): SequenceCounts => ({
  expected: 0,
  received: 0,
  missedFirst: 0,
  recovered: 0,
  duplicates: 0,
});

/**
 * What arrives on one link, measured packet by packet as a receiver sees it: sequence gaps before and
 * after repair, each packet's one-way delay from its abs-send-time stamp, and for video the frames
 * rebuilt, checked against the known clip and "decoded" (freezes, keyframe requests).
 */
export class InboundQuality {
  readonly latency = new LatencyLog();
  private readonly streams: InboundStream[] = [];
  private readonly catalog = FrameCatalog.shared();
  private closed = false;

  constructor(feeds: readonly MediaFeed[] = []) {
    // Frames this process sends are frames its peers may send too (a run shares one clip).
    for (const feed of feeds) if (feed instanceof ClipSource) this.catalog.addClip(feed.clip);
  }

  /** Starts measuring a remote track. */
  watch(track: MediaStreamTrack, receiver: RTCRtpReceiver): void {
    if (this.closed) return;
    const kind: Kind = track.kind === 'video' ? 'video' : 'audio';
    const stream: InboundStream = {
      kind,
      sequence: new SequenceTracker(),
      frames:
        kind === 'video'
          ? new FrameAssembler({
              catalog: this.catalog,
              requestKeyframe: () => {
                if (track.ssrc !== undefined) receiver.sendRtcpPLI(track.ssrc).catch(() => {});
              },
            })
          : undefined,
      unsubscribe: () => {},
    };
    const sub = track.onReceiveRtp.subscribe((packet, extensions) =>
      this.onPacket(stream, packet, extensions),
    );
    stream.unsubscribe = () => sub.unSubscribe();
    this.streams.push(stream);
  }

  /** Sequence counts per kind, summed over the link's streams of that kind. */
  sequence(kind: Kind): SequenceCounts {
    const sum = emptySequence();
    for (const s of this.streams) {
      if (s.kind !== kind) continue;
      for (const key of Object.keys(sum) as Array<keyof SequenceCounts>) sum[key] += s.sequence.counts[key];
    }
    return sum;
  }

  /** Video frame counts (summed over video streams, normally one); gives up overdue frames first. */
  frames(now = performance.now()): FrameCounts {
    const sum = emptyFrames();
    for (const s of this.streams) {
      if (!s.frames) continue;
      s.frames.tick(now);
      const c = s.frames.counts;
      for (const key of Object.keys(sum) as Array<keyof FrameCounts>) {
        if (key === 'verified') sum.verified ||= c.verified;
        else sum[key] += c[key];
      }
    }
    return sum;
  }

  close(): void {
    this.closed = true;
    for (const s of this.streams.splice(0)) s.unsubscribe();
  }

  private onPacket(stream: InboundStream, packet: RtpPacket, extensions?: Record<string, unknown>): void {
    // One clock read per packet serves the latency and the frames.
    const now = performance.now();
    const { header } = packet;
    const seq = stream.sequence.add(header.sequenceNumber);
    const stamp = extensions?.[ABS_SEND_TIME_URI];
    if (typeof stamp === 'number') this.latency.add(absSendTimeDelayMs(stamp, wallClockMs(now)));
    if (stream.frames && seq >= 0) {
      stream.frames.onPacket(seq, header.timestamp, header.marker, packet.payload, now);
    }
  }
}
