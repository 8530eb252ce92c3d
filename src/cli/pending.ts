import type { Command } from 'commander';
import { EngageError, EXIT } from '../util/errors.js';

/** Commands whose issue has not landed yet: their help describes them, running them says so (exit 2). */
export function registerPending(program: Command, name: string, summary: string, usage: string): void {
  program
    .command(name)
    .summary(summary)
    .description(`${summary}\n\nUsage once available: ${usage}`)
    .allowUnknownOption()
    .allowExcessArguments()
    .action(() => {
      throw new EngageError(`engage ${name} is not yet available in this version`, EXIT.usage);
    });
}
