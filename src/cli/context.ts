/** What a command gets from main: the interrupt signal and the only ways it talks to the terminal. */
export interface CommandContext {
  /** Aborts on the first SIGINT/SIGTERM. */
  signal: AbortSignal;
  stdout(line: string): void;
  /** Throws a usage error (exit 2). */
  usage(message: string): never;
}
