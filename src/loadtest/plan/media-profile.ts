import { loadClip } from '../../peer/media/clip.js';

/** Describes in words what a bot sends, from the clips themselves: the summary must say what load was offered. */
export async function describeMedia(video: string, audio: string): Promise<string> {
  const parts: string[] = [];
  if (video === 'none') parts.push('no video');
  else {
    const clip = await loadClip(video, 'video');
    const seconds = clip.loopTicks / clip.clockRate;
    const bytes = clip.frames.reduce((n, f) => n + f.data.length, 0);
    const size = clip.kind === 'video' && clip.width ? `${clip.width}x${clip.height} ` : '';
    parts.push(
      `VP8 ${size}${Math.round(clip.frames.length / seconds)} fps ~${Math.round((bytes * 8) / seconds / 1000)} kbps`,
    );
  }
  if (audio === 'none') parts.push('no audio');
  else {
    const clip = await loadClip(audio, 'audio');
    const seconds = clip.loopTicks / clip.clockRate;
    const bytes = clip.frames.reduce((n, f) => n + f.data.length, 0);
    const packetMs = Math.round((seconds * 1000) / clip.frames.length);
    const channels = clip.kind === 'audio' && clip.channels === 1 ? 'mono' : 'stereo';
    parts.push(`Opus ${channels} ${packetMs} ms packets ~${Math.round((bytes * 8) / seconds / 1000)} kbps`);
  }
  return parts.join('; ');
}
