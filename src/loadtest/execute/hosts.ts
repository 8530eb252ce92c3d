import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { sweepBuffersOnOwnThread } from './gc.js';
import { BotHost } from './host.js';
import type { HostCommand, HostEvent, HostMessage } from './messages.js';

/** A place bots run: a worker thread, or this thread. The runner treats both alike. */
export interface HostHandle {
  send(cmd: HostCommand): void;
  /** Ends the host at once (after the grace period, for stragglers). */
  terminate(): Promise<void>;
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

export function startWorkerHost(
  onEvent: (e: HostEvent, source: HostHandle) => void,
  onError: (err: Error) => void,
): HostHandle {
  sweepBuffersOnOwnThread();
  // A larger young generation means fewer scavenges of the per-packet garbage werift makes.
  const worker = new Worker(workerEntry(), { resourceLimits: { maxYoungGenerationSizeMb: 64 } });
  const handle: HostHandle = {
    send: (cmd) => worker.postMessage(cmd),
    terminate: async () => {
      await worker.terminate();
    },
  };
  worker.on('message', (m: HostMessage) => {
    for (const e of m.events) onEvent(e, handle);
  });
  worker.on('error', onError);
  return handle;
}

export function startLocalHost(onEvent: (e: HostEvent, source: HostHandle) => void): HostHandle {
  const handle: HostHandle = {
    send: (cmd) => host.handle(cmd),
    terminate: async () => {
      await host.stop();
    },
  };
  const host = new BotHost((m) => {
    for (const e of m.events) onEvent(e, handle);
  });
  return handle;
}
