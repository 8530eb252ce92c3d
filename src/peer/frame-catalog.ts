import { type Clip, loadClip } from './media/clip.js';

/**
 * 32-bit FNV-1a over bytes, continuing from `h`: cheap enough for every received frame (no allocation,
 * no native call per packet), and with the frame's length beside it a wrong match among a few hundred
 * known frames is about one in ten million.
 */
export function fnv1a(bytes: Uint8Array, h = 0x811c9dc5): number {
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
  return h >>> 0;
}

export const FNV_OFFSET = 0x811c9dc5;

/** A frame's identity: its length and FNV-1a hash in one number (exact below 2^53). */
export function frameKey(length: number, hash: number): number {
  return length * 0x1_0000_0000 + hash;
}

/**
 * The frames a receiver knows, so it can tell a frame that arrived intact from one that did not: every
 * frame of the built-in video clips, and of any clip this process sends (the same file on every bot of
 * a run). One per process, filled once.
 */
export class FrameCatalog {
  private static instance: FrameCatalog | undefined;
  private readonly keys = new Set<number>();
  private readonly clips = new WeakSet<Clip>();
  private builtins: Promise<void> | undefined;
  private isReady = false;

  /** The process's catalog; starts loading the built-in clips on first use. */
  static shared(): FrameCatalog {
    FrameCatalog.instance ??= new FrameCatalog();
    FrameCatalog.instance.loadBuiltins();
    return FrameCatalog.instance;
  }

  /** Whether the built-in clips are in (until then a lookup answers undefined). */
  get ready(): boolean {
    return this.isReady;
  }

  get size(): number {
    return this.keys.size;
  }

  addClip(clip: Clip): void {
    if (clip.kind !== 'video' || this.clips.has(clip)) return;
    this.clips.add(clip);
    for (const frame of clip.frames) this.keys.add(frameKey(frame.data.length, fnv1a(frame.data)));
  }

  /** True for a known frame, false for an unknown one, undefined while the catalog is still loading. */
  lookup(key: number): boolean | undefined {
    if (this.keys.has(key)) return true;
    return this.isReady ? false : undefined;
  }

  /** Resolves once the built-in clips are in. */
  whenReady(): Promise<void> {
    return this.loadBuiltins();
  }

  private loadBuiltins(): Promise<void> {
    this.builtins ??= Promise.all(
      (['builtin', 'builtin-light'] as const).map((name) =>
        loadClip(name, 'video').then((c) => this.addClip(c)),
      ),
    ).then(
      () => {
        this.isReady = true;
      },
      () => {
        // A missing asset is reported where the clip is sent; frames then check against what did load.
        this.isReady = true;
      },
    );
    return this.builtins;
  }
}
