import type { MediaFeed } from '../link.js';
import { type ClipKind, loadClip } from './clip.js';
import { ClipSource } from './source.js';

/** The process-wide feed of a clip (`builtin`, `builtin-light` or a file path), or undefined for `none`. */
export async function clipFeed(source: string, kind: ClipKind): Promise<MediaFeed | undefined> {
  if (source === 'none') return undefined;
  return ClipSource.shared(await loadClip(source, kind));
}

/** The feeds a bot sends: video then audio, leaving out the ones set to `none`. */
export async function loadFeeds(video: string, audio: string): Promise<MediaFeed[]> {
  const feeds = await Promise.all([clipFeed(video, 'video'), clipFeed(audio, 'audio')]);
  return feeds.filter((f): f is MediaFeed => f !== undefined);
}
