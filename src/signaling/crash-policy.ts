import type { Logger } from '../util/log.js';

export type UncaughtKind = 'exception' | 'rejection';

/**
 * The `engage serve` process's policy for an error that escaped every handler: log it loudly and keep
 * serving (docs/protocol.md, "When the server itself fails").
 *
 * Why not exit, as Node does by default: every path a client can reach (upgrade, frame, close, heartbeat,
 * HTTP request) already catches its own exceptions and answers them, so an error that gets here is a bug
 * in a path nobody guarded, most likely one a client can trigger again. Exiting would turn that bug into
 * a switch that stops every room on the server; the state such an exception can leave half-updated is
 * one socket's, which the heartbeat and the socket's own close clean up. The server counts these errors
 * (`engage_uncaught_errors_total`) and `/healthz` reports `degraded`, so an operator restarts it when it
 * suits the rooms, not when an attacker chooses.
 *
 * Returns a function that removes the handlers again.
 */
export function installCrashPolicy(log: Logger, onError: (kind: UncaughtKind) => void): () => void {
  const report = (kind: UncaughtKind, err: unknown) => {
    try {
      onError(kind);
    } catch {
      // Counting must never be the thing that fails here.
    }
    const message = `UNCAUGHT ${kind.toUpperCase()}: this is a bug in engage serve; it keeps serving (see /healthz)`;
    if (log.isLevelEnabled('fatal')) log.fatal({ err, kind }, message);
    else process.stderr.write(`engage serve: ${message}: ${(err as Error)?.stack ?? String(err)}\n`);
  };
  const onException = (err: Error) => report('exception', err);
  const onRejection = (reason: unknown) => report('rejection', reason);
  process.on('uncaughtException', onException);
  process.on('unhandledRejection', onRejection);
  return () => {
    process.off('uncaughtException', onException);
    process.off('unhandledRejection', onRejection);
  };
}
