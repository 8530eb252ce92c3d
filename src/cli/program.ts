import { createRequire } from 'node:module';
import { Command } from 'commander';
import type { CommandContext } from './context.js';
import { registerJoin } from './join.js';
import { registerLoadtest } from './loadtest.js';
import { registerReport } from './report.js';
import { registerServe } from './serve.js';

const { version } = createRequire(import.meta.url)('../../package.json') as { version: string };

export function buildProgram(ctx: CommandContext): Command {
  const program = new Command('engage')
    .version(version)
    .description('Run, probe and stress mesh WebRTC meeting rooms.')
    .showHelpAfterError('(run with --help for usage)')
    // Set before the commands are added so they inherit it: only main() may exit the process.
    .exitOverride();
  registerServe(program, ctx);
  registerJoin(program, ctx);
  registerLoadtest(program, ctx);
  registerReport(program, ctx);
  return program;
}
