import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { MediaStreamTrack, RTCRtpCodecParameters } from 'werift';
import { MediaRecorder } from 'werift/nonstandard';
import { loadClip, parseClip } from '../../../src/peer/media/clip.js';
import { ClipSource } from '../../../src/peer/media/source.js';

const dir = mkdtempSync(path.join(tmpdir(), 'engage-werift-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Our packets through werift's own track and recorder (as TrackRecorder feeds it), back through our WebM
// reader: the frames must come out byte for byte.
it('feeds a werift recorder: every frame arrives byte for byte', async () => {
  const clip = await loadClip('builtin-light', 'video');
  const file = path.join(dir, 'recorded.webm');
  const codec = new RTCRtpCodecParameters({ mimeType: 'video/VP8', clockRate: 90000, payloadType: 120 });
  const track = new MediaStreamTrack({ kind: 'video', codec });
  const recorder = new MediaRecorder({
    path: file,
    numOfTracks: 1,
    width: 320,
    height: 180,
    disableLipSync: true,
    disableNtp: true,
  });
  // Handing the track over in the constructor starts the writer in the background, and on a busy
  // machine it subscribed after the clip's only keyframe in the window had gone by. addTrack resolves
  // once the writer listens, so the first packet sent is the first packet recorded.
  await recorder.addTrack(track);
  const source = new ClipSource(clip, { payloadType: 96 });
  const unsubscribe = source.subscribe((packet) => track.onReceiveRtp.execute(packet));
  await new Promise((resolve) => setTimeout(resolve, 1000));
  unsubscribe();
  await recorder.stop();
  source.close();

  const sent = source.stats.framesSent;
  expect(sent).toBeGreaterThan(5);
  const recorded = parseClip(readFileSync(file), 'video', 'recorded.webm');
  expect(recorded.frames.length).toBeGreaterThanOrEqual(sent - 1);
  expect(recorded.frames.length).toBeLessThanOrEqual(sent);
  recorded.frames.forEach((frame, i) => {
    expect(frame.data.equals(clip.frames[i]!.data)).toBe(true);
  });
});
