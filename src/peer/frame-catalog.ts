import { type Clip, loadClip } from './media/clip.js';

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/**
 * A frame's hash, fed its bytes in one or more parts (a frame's packets): 32-bit FNV-1a over the byte
 * stream's little-endian 32-bit words, then over its last 0–3 bytes one by one. Word by word is about
 * twice as fast as byte by byte and just as certain to see a change confined to one word (a flipped
 * bit, a wrong byte): each step is a bijection of the state, so one different word always gives a
 * different hash. With the frame's length beside it, a damaged frame passes for another known frame of
 * the same length about once in 2^32. The result depends only on the bytes, not on how they were split.
 * No allocation: one hasher serves a stream's frames one after another.
 */
export class FrameHasher {
  private h = FNV_OFFSET;
  /** Bytes not yet in a whole word (little-endian), and how many. */
  private carry = 0;
  private carried = 0;
  /** Bytes fed since the last reset. */
  length = 0;

  reset(): void {
    this.h = FNV_OFFSET;
    this.carry = 0;
    this.carried = 0;
    this.length = 0;
  }

  /** Feeds `bytes` from `start` on. */
  push(bytes: Uint8Array, start = 0): void {
    const end = bytes.length;
    this.length += end - start;
    let i = start;
    let h = this.h;
    if (this.carried > 0) {
      while (this.carried < 4 && i < end) this.carry |= bytes[i++]! << (8 * this.carried++);
      if (this.carried < 4) return;
      h = Math.imul(h ^ this.carry, FNV_PRIME);
      this.carry = 0;
      this.carried = 0;
    }
    const words = end - ((end - i) & 3);
    for (; i < words; i += 4) {
      h = Math.imul(
        h ^ (bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24)),
        FNV_PRIME,
      );
    }
    this.h = h;
    while (i < end) this.carry |= bytes[i++]! << (8 * this.carried++);
  }

  /** The frame's identity so far (see frameKey). */
  key(): number {
    let h = this.h;
    for (let k = 0; k < this.carried; k++) h = Math.imul(h ^ ((this.carry >>> (8 * k)) & 0xff), FNV_PRIME);
    return frameKey(this.length, h >>> 0);
  }
}

/** A frame's identity: its length and hash in one number (exact below 2^53). */
function frameKey(length: number, hash: number): number {
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
    const hasher = new FrameHasher();
    for (const frame of clip.frames) {
      hasher.reset();
      hasher.push(frame.data);
      this.keys.add(hasher.key());
    }
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
