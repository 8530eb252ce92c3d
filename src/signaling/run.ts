import { type ServerOptions, SignalingServer } from './server.js';

/**
 * Runs a server until `signal` aborts, then closes it. `onListening` gets the real URL once bound.
 */
export async function runServer(
  options: ServerOptions,
  signal: AbortSignal,
  onListening: (server: SignalingServer) => void,
): Promise<void> {
  const server = await SignalingServer.start(options);
  try {
    onListening(server);
    if (!signal.aborted)
      await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
  } finally {
    await server.close();
  }
}
