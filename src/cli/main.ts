import { CommanderError } from 'commander';
import { EngageError, EXIT, UsageError } from '../util/errors.js';
import { buildProgram } from './program.js';

/** The only place that exits the process. */
async function main(argv: string[]): Promise<number> {
  const interrupt = new AbortController();
  let interrupts = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    interrupts++;
    if (interrupts > 1) {
      process.stderr.write(`engage: second ${sig}, forcing exit\n`);
      process.exit(EXIT.interrupted);
    }
    interrupt.abort(sig);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // A reader that went away (`engage join --help | head`) is not a failure of ours: the command carries
  // on (a run still writes its report files) and only what was meant for stdout is dropped.
  let stdoutGone = false;
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') throw err;
      if (stream === process.stdout) stdoutGone = true;
    });
  }

  const program = buildProgram({
    signal: interrupt.signal,
    stdout: (line) => {
      if (!stdoutGone) process.stdout.write(`${line}\n`);
    },
    usage: (message) => {
      throw new UsageError(message);
    },
  });
  try {
    await program.parseAsync(argv);
    return EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version are successes; everything else commander rejects is a usage error.
      return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (err instanceof EngageError) {
      process.stderr.write(`engage: ${err.message}\n`);
      return err.exitCode;
    }
    process.stderr.write(`engage: internal error: ${(err as Error)?.stack ?? String(err)}\n`);
    return EXIT.internal;
  }
}

main(process.argv).then(
  (code) => {
    // Let stdout drain before exiting; pending timers must not hold a finished run.
    process.exitCode = code;
    setImmediate(() => process.exit(code)).unref();
  },
  (err) => {
    process.stderr.write(`engage: ${String(err)}\n`);
    process.exit(EXIT.internal);
  },
);
