/** Exit codes shared by every command (../shared/design.md, house rule 2). */
export const EXIT = { ok: 0, internal: 1, usage: 2, thresholds: 99, interrupted: 130 } as const;

/** An error that knows the exit code it should end the process with; only the CLI's main exits. */
export class EngageError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.internal,
  ) {
    super(message);
    this.name = 'EngageError';
  }
}

/** Bad flags or configuration: the user can fix it, exit code 2. */
export class UsageError extends EngageError {
  constructor(message: string) {
    super(message, EXIT.usage);
    this.name = 'UsageError';
  }
}
