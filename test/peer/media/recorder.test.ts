import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TrackRecorder } from '../../../src/peer/media/recorder.js';
import { parseWebm, type WebmFile } from '../../../src/peer/media/webm.js';
import { ffmpegDecodeWarnings, ffprobePacketCount, ffprobeWarnings } from './ffmpeg.js';
import { clipPackets, remoteTrack } from './packets.js';

const dir = mkdtempSync(path.join(tmpdir(), 'engage-recorder-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const noPli = { sendRtcpPLI: async () => {} };

function recorderFor(kind: 'audio' | 'video', sub: string) {
  const track = remoteTrack(kind);
  const recorder = new TrackRecorder({
    dir: path.join(dir, sub),
    room: 'room',
    peer: 'ann',
    track,
    receiver: noPli,
  });
  return { track, recorder };
}

/** Every cue names a cluster that starts at the cue's time; every cluster of a finalised file is sized. */
function expectIndexed(webm: WebmFile) {
  expect(webm.segmentSized).toBe(true);
  expect(webm.clusters.every((c) => c.sized)).toBe(true);
  expect(webm.cues.length).toBeGreaterThan(1);
  for (const cue of webm.cues) {
    const cluster = webm.clusters.find((c) => c.position === cue.clusterPosition);
    expect(cluster, `cue at ${cue.timeNs / 1e6} ms`).toBeDefined();
    expect(cluster!.timeNs).toBe(cue.timeNs);
  }
}

describe('TrackRecorder', () => {
  it('writes VP8 frame for frame into a clean, indexed, seekable WebM', async () => {
    const { clip, packets, frames } = await clipPackets('builtin', 'video', 4000);
    const { track, recorder } = recorderFor('video', 'video');
    for (const p of packets) track.onReceiveRtp.execute(p);
    await recorder.close();

    expect(recorder.state).toBe('finalised');
    expect(recorder.frames).toBe(frames);
    const webm = parseWebm(readFileSync(recorder.path!));
    expect(webm.tracks).toMatchObject([{ kind: 'video', codecId: 'V_VP8', width: 640, height: 360 }]);
    expect(webm.frames).toHaveLength(frames);
    webm.frames.forEach((f, i) => {
      expect(f.data.equals(clip.frames[i % clip.frames.length]!.data), `frame ${i}`).toBe(true);
      expect(f.keyframe).toBe(clip.frames[i % clip.frames.length]!.keyframe);
      expect(Math.abs(f.timeNs / 1e6 - (i * 1000) / 30)).toBeLessThanOrEqual(1);
    });
    // The duration runs to the end of the last frame.
    expect(webm.durationNs! / 1e6).toBeCloseTo((frames * 1000) / 30, -1);
    expectIndexed(webm);
    // A cluster per keyframe (one a second), each with a cue.
    const keyframeTimes = webm.frames.filter((f) => f.keyframe).map((f) => f.timeNs);
    expect(keyframeTimes.length).toBeGreaterThanOrEqual(4);
    expect(webm.cues.map((c) => c.timeNs)).toEqual(keyframeTimes);

    expect(ffprobeWarnings(recorder.path!)).toBe('');
    expect(ffprobePacketCount(recorder.path!, 'v')).toBe(frames);
    expect(ffmpegDecodeWarnings(recorder.path!)).toBe('');
    expect(ffmpegDecodeWarnings(recorder.path!, 2.5)).toBe('');
  });

  it('writes Opus packet for packet, with its duration and a cue a second', async () => {
    const { clip, packets, frames } = await clipPackets('builtin', 'audio', 3000);
    const { track, recorder } = recorderFor('audio', 'audio');
    for (const p of packets) track.onReceiveRtp.execute(p);
    await recorder.close();

    expect(recorder.state).toBe('finalised');
    const webm = parseWebm(readFileSync(recorder.path!));
    expect(webm.tracks).toMatchObject([
      { kind: 'audio', codecId: 'A_OPUS', channels: 2, samplingFrequency: 48000 },
    ]);
    expect(webm.frames).toHaveLength(frames);
    webm.frames.forEach((f, i) => {
      expect(f.data.equals(clip.frames[i % clip.frames.length]!.data), `packet ${i}`).toBe(true);
    });
    expect(webm.durationNs! / 1e6).toBeCloseTo(frames * 20, -1);
    expectIndexed(webm);
    expect(ffprobeWarnings(recorder.path!)).toBe('');
    expect(ffmpegDecodeWarnings(recorder.path!, 1.5)).toBe('');
  });

  it('keeps the file playable while it is being written: what a killed process leaves', async () => {
    const { packets, frames } = await clipPackets('builtin', 'video', 2500);
    const { track, recorder } = recorderFor('video', 'live');
    for (const p of packets) track.onReceiveRtp.execute(p);
    await recorder.flushed();
    expect(recorder.state).toBe('recording');
    const snapshot = path.join(dir, 'snapshot.webm');
    copyFileSync(recorder.path!, snapshot);

    const live = parseWebm(readFileSync(snapshot));
    expect(live.segmentSized).toBe(false);
    // Finished clusters have their sizes; only the one being written has none yet.
    expect(live.clusters.slice(0, -1).every((c) => c.sized)).toBe(true);
    expect(live.clusters.at(-1)!.sized).toBe(false);
    expect(live.frames).toHaveLength(frames);
    // The duration is kept up to date cluster by cluster.
    expect(live.durationNs! / 1e6).toBeGreaterThanOrEqual(2000);
    expect(ffprobePacketCount(snapshot, 'v')).toBe(frames);
    expect(ffmpegDecodeWarnings(snapshot)).toBe('');

    await recorder.close();
    expect(recorder.state).toBe('finalised');
    expect(ffprobeWarnings(recorder.path!)).toBe('');
  });

  it('asks for a keyframe and starts the file at the first one', async () => {
    const { packets } = await clipPackets('builtin', 'video', 1500);
    const track = remoteTrack('video');
    const plis: number[] = [];
    const recorder = new TrackRecorder({
      dir: path.join(dir, 'late'),
      room: 'room',
      peer: 'ann',
      track,
      receiver: { sendRtcpPLI: async (ssrc: number) => void plis.push(ssrc) },
    });
    recorder.requestKeyframe();
    // Joined mid-stream: the first packets belong to delta frames. The track learns its SSRC from them.
    const firstDelta = packets.findIndex((p) => p.header.marker) + 1;
    track.ssrc = packets[firstDelta]!.header.ssrc;
    for (const p of packets.slice(firstDelta)) track.onReceiveRtp.execute(p);
    await recorder.close();
    expect(plis.length).toBeGreaterThanOrEqual(1);
    const webm = parseWebm(readFileSync(recorder.path!));
    expect(webm.frames[0]!.keyframe).toBe(true);
    expect(webm.frames[0]!.timeNs).toBe(0);
    expect(ffprobeWarnings(recorder.path!)).toBe('');
  });

  it('goes to the failed state when its folder cannot be made, reports it, and holds nothing', async () => {
    // A file where a folder should be: unwritable even for root, which CI runs as.
    const blocker = path.join(dir, 'not-a-folder');
    writeFileSync(blocker, '');
    const track = remoteTrack('audio');
    const recorder = new TrackRecorder({ dir: blocker, room: 'room', peer: 'ann', track, receiver: noPli });
    const failed = new Promise<Error>((resolve) => recorder.once('failed', resolve));
    const { packets } = await clipPackets('builtin', 'audio', 2000);
    for (const p of packets.slice(0, 10)) track.onReceiveRtp.execute(p);
    const err = await failed;
    expect(err.message).toMatch(/ENOTDIR|EEXIST|not a directory/i);
    expect(recorder.state).toBe('failed');
    expect(recorder.error).toBe(err);
    expect(recorder.heldFrames).toBe(0);
    // It stopped listening: later packets are neither counted nor held.
    const counted = recorder.packets;
    for (const p of packets.slice(10)) track.onReceiveRtp.execute(p);
    expect(recorder.packets).toBe(counted);
    expect(recorder.heldFrames).toBe(0);
    await expect(recorder.close()).resolves.toBeUndefined();
    expect(recorder.state).toBe('failed');
    expect(readdirSync(dir)).not.toContain('room');
  });

  it('leaves no file when closed before anything arrived', async () => {
    const { recorder } = recorderFor('video', 'empty');
    await recorder.close();
    await recorder.close();
    expect(recorder.state).toBe('empty');
    expect(recorder.path).toBeUndefined();
  });
});
