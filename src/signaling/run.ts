import { silentLogger } from '../util/log.js';
import { installCrashPolicy } from './crash-policy.js';
import { type ServerOptions, SignalingServer } from './server.js';

export interface RunOptions {
  /**
   * Install the serve process's policy for errors that escape every handler (crash-policy.ts): log, count,
   * keep serving. Only for a process that is the server; a library user keeps its own policy.
   */
  guardProcess?: boolean;
}

/**
 * Runs a server until `signal` aborts, then closes it. `onListening` gets the real URL once bound.
 */
export async function runServer(
  options: ServerOptions,
  signal: AbortSignal,
  onListening: (server: SignalingServer) => void,
  run: RunOptions = {},
): Promise<void> {
  const server = await SignalingServer.start(options);
  const uninstall = run.guardProcess
    ? installCrashPolicy((options.logger ?? silentLogger).child({ component: 'serve' }), (kind) =>
        server.recordUncaught(kind),
      )
    : undefined;
  try {
    onListening(server);
    if (!signal.aborted)
      await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
  } finally {
    await server.close();
    uninstall?.();
  }
}
