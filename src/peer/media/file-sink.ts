import { type FileHandle, open } from 'node:fs/promises';

interface Write {
  offset: number;
  data: Buffer;
}

/** More than this waiting for the disk means the disk does not keep up: fail rather than eat memory. */
const MAX_PENDING_BYTES = 32 * 1024 * 1024;

/**
 * A file written in order, without blocking the event loop: appends and in-place patches queue up and
 * go to the disk one after another, consecutive appends in one write. Whatever has been handed to the
 * kernel survives the process being killed, so a live recording is on disk up to its last block.
 * The first error stops all writing; `error` holds it and `onError` hears it once.
 */
export class FileSink {
  /** Bytes appended so far: the offset of the next append. */
  length = 0;
  error: Error | undefined;
  onError: (err: Error) => void = () => {};
  private queue: Write[] = [];
  private pendingBytes = 0;
  private flushing: Promise<void> | undefined;
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly handle: FileHandle,
    readonly path: string,
  ) {}

  /** Creates `path`, which must not exist yet. */
  static async create(path: string): Promise<FileSink> {
    return new FileSink(await open(path, 'wx'), path);
  }

  /** Queues `data` at the end of the file; returns the offset it will have. */
  append(data: Buffer): number {
    const offset = this.length;
    this.length += data.length;
    this.enqueue({ offset, data });
    return offset;
  }

  /** Overwrites bytes already appended (a size or duration known only later). */
  patch(offset: number, data: Buffer): void {
    if (offset + data.length > this.length) throw new RangeError('patch beyond what was appended');
    this.enqueue({ offset, data });
  }

  private enqueue(write: Write): void {
    if (this.error || this.closing) return;
    this.queue.push(write);
    this.pendingBytes += write.data.length;
    if (this.pendingBytes > MAX_PENDING_BYTES) {
      this.fail(new Error(`${this.path}: more than ${MAX_PENDING_BYTES >> 20} MiB waiting for the disk`));
      return;
    }
    this.flushing ??= this.flush();
  }

  /** Writes until the queue is empty; never rejects (a failure lands in `error`). */
  private async flush(): Promise<void> {
    try {
      while (this.queue.length > 0 && !this.error) {
        const batch = this.queue;
        this.queue = [];
        for (let i = 0; i < batch.length; ) {
          // Merge each run of contiguous writes (appends mostly) into one.
          let j = i + 1;
          let end = batch[i]!.offset + batch[i]!.data.length;
          while (j < batch.length && batch[j]!.offset === end) end += batch[j++]!.data.length;
          const data = j - i === 1 ? batch[i]!.data : Buffer.concat(batch.slice(i, j).map((w) => w.data));
          await this.writeAll(data, batch[i]!.offset);
          this.pendingBytes -= data.length;
          i = j;
        }
      }
    } catch (err) {
      this.fail(err as Error);
    } finally {
      this.flushing = undefined;
    }
  }

  private async writeAll(data: Buffer, offset: number): Promise<void> {
    for (let done = 0; done < data.length; ) {
      const { bytesWritten } = await this.handle.write(data, done, data.length - done, offset + done);
      done += bytesWritten;
    }
  }

  private fail(err: Error): void {
    if (this.error) return;
    this.error = err;
    this.queue = [];
    this.onError(err);
  }

  /** Resolves once everything queued so far is on disk; rejects with the sink's error, if any. */
  async drain(): Promise<void> {
    while (this.flushing) await this.flushing;
    if (this.error) throw this.error;
  }

  /** Writes what is queued and closes the file. Idempotent; rejects with the sink's error, if any. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      try {
        while (this.flushing) await this.flushing;
      } finally {
        await this.handle.close().catch(() => {});
      }
      if (this.error) throw this.error;
    })();
    return this.closing;
  }
}
