import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';

/** The built CLI, as users run it (tests build first: `npm test` runs `npm run build`). */
export const ENGAGE_BIN = fileURLToPath(new URL('../../bin/engage.js', import.meta.url));

export interface EngageExit {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface EngageProcess {
  child: ChildProcess;
  exited: Promise<EngageExit>;
  /** What it wrote to stderr so far (progress lines arrive while it runs). */
  stderr(): string;
}

/** Starts `engage ARGS` in its own process, stdout and stderr collected. */
export function startEngage(args: string[], env: NodeJS.ProcessEnv = {}): EngageProcess {
  const child = spawn(process.execPath, [ENGAGE_BIN, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => {
    stdout += d;
  });
  child.stderr!.on('data', (d) => {
    stderr += d;
  });
  const exited = once(child, 'exit').then(([code]) => ({ code: code as number | null, stdout, stderr }));
  return { child, exited, stderr: () => stderr };
}

/** Runs `engage ARGS` to its end. */
export function runEngage(args: string[], env: NodeJS.ProcessEnv = {}): Promise<EngageExit> {
  return startEngage(args, env).exited;
}

/** The JSON report schema (schema/loadtest-report.schema.json), compiled once. */
export const validateReport = new Ajv({ allErrors: true }).compile(
  JSON.parse(readFileSync(new URL('../../schema/loadtest-report.schema.json', import.meta.url), 'utf8')),
);
