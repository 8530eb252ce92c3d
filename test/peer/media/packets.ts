import { vi } from 'vitest';
import { MediaStreamTrack, RTCRtpCodecParameters, type RtpPacket } from 'werift';
import { type Clip, type ClipKind, loadClip } from '../../../src/peer/media/clip.js';
import { ClipSource, type ClipSourceOptions } from '../../../src/peer/media/source.js';

/** The RTP packets a clip source sends in `ms` of (fake) time, made without waiting for it. */
export async function clipPackets(
  name: string,
  kind: ClipKind,
  ms: number,
  opts: ClipSourceOptions = {},
): Promise<{ clip: Clip; packets: RtpPacket[]; frames: number }> {
  const clip = await loadClip(name, kind);
  vi.useFakeTimers();
  try {
    const source = new ClipSource(clip, { payloadType: 96, ...opts });
    const packets: RtpPacket[] = [];
    source.subscribe((p) => packets.push(p));
    vi.advanceTimersByTime(ms);
    const frames = source.stats.framesSent;
    source.close();
    return { clip, packets, frames };
  } finally {
    vi.useRealTimers();
  }
}

/** A remote track as werift hands one to a recorder: packets arrive on `onReceiveRtp`. */
export function remoteTrack(kind: ClipKind): MediaStreamTrack {
  const codec = new RTCRtpCodecParameters(
    kind === 'video'
      ? { mimeType: 'video/VP8', clockRate: 90000, payloadType: 96 }
      : { mimeType: 'audio/opus', clockRate: 48000, channels: 2, payloadType: 111 },
  );
  return new MediaStreamTrack({ kind, codec, remote: true });
}
