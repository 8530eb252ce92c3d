import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { sweepBuffersOnOwnThread } from './gc.js';
import { type HostCommand, type HostMessage, parseHostMessage } from './messages.js';

/** A place bots run: a worker thread, or this thread. The pool treats both alike. */
export interface HostHandle {
  readonly kind: 'worker thread' | 'main thread' | 'browser';
  send(cmd: HostCommand): void;
  /** Ends the host at once (after the grace period, for stragglers). Idempotent. */
  close(): Promise<void>;
}

export interface HostListener {
  message(m: HostMessage): void;
  /** At most once, when the host ends or breaks without having been closed. */
  failed(reason: string): void;
}

/** How a worker is told to fail on purpose, for tests (see worker.ts). */
export type FailOnPurpose = 'throw' | 'exit';

export interface WorkerData {
  index: number;
  failOnPurpose?: FailOnPurpose;
}

/**
 * The compiled worker entry. Under the test runner this module is TypeScript in src/, so the worker
 * (which Node runs without a TypeScript loader) comes from the build in dist/.
 */
function workerEntry(): URL {
  const sibling = new URL('./worker.js', import.meta.url);
  if (existsSync(fileURLToPath(sibling))) return sibling;
  const built = new URL('../../../dist/loadtest/execute/worker.js', import.meta.url);
  if (existsSync(fileURLToPath(built))) return built;
  throw new Error('the loadtest worker is not built; run `npm run build`');
}

const describeError = (err: unknown) =>
  err instanceof Error ? `${err.name}: ${err.message}` : `threw ${String(err)}`;

/**
 * A worker thread running a BotHost. Its `error`, `messageerror`, an exit before close() and a message
 * that is not a batch of events all become one `failed`: a worker never dies quietly.
 */
export function startWorkerHost(data: WorkerData, listener: HostListener): HostHandle {
  sweepBuffersOnOwnThread();
  // A larger young generation means fewer scavenges of the per-packet garbage werift makes.
  const worker = new Worker(workerEntry(), {
    workerData: data,
    resourceLimits: { maxYoungGenerationSizeMb: 64 },
  });
  let closing: Promise<void> | undefined;
  let failed = false;
  const fail = (reason: string) => {
    if (closing || failed) return;
    failed = true;
    listener.failed(reason);
  };
  worker.on('message', (m: unknown) => {
    const message = parseHostMessage(m);
    if (message) listener.message(message);
    else fail('sent a message that is not a batch of events');
  });
  worker.on('error', (err) => fail(describeError(err)));
  worker.on('messageerror', (err) => fail(`sent a message that could not be read: ${err.message}`));
  worker.on('exit', (code) => fail(`exited unexpectedly with code ${code}`));
  return {
    kind: 'worker thread',
    send: (cmd) => {
      if (!closing && !failed) worker.postMessage(cmd);
    },
    close: () => {
      closing ??= worker.terminate().then(() => undefined);
      return closing;
    },
  };
}

/**
 * Bots on this thread (--workers 0): it cannot fail apart from the run, so it never reports `failed`.
 * The bots' code (werift and all, seconds to load on a busy machine) is loaded only then: with workers,
 * the main thread never needs it.
 */
export async function startLocalHost(listener: HostListener): Promise<HostHandle> {
  const { BotHost } = await import('./host.js');
  const host = new BotHost((m) => listener.message(m));
  let closing: Promise<void> | undefined;
  return {
    kind: 'main thread',
    send: (cmd) => {
      if (!closing) host.handle(cmd);
    },
    close: () => {
      closing ??= host.stop();
      return closing;
    },
  };
}
