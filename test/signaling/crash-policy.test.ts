import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The policy is for a whole process, so it is tried in one of its own (built: npm test builds first).
const POLICY = new URL('../../dist/signaling/crash-policy.js', import.meta.url).href;

const SCRIPT = `
import { installCrashPolicy } from ${JSON.stringify(POLICY)};
import pino from 'pino';
const log = pino({ level: 'info' }, pino.destination({ fd: 2, sync: true }));
const seen = [];
installCrashPolicy(log, (kind) => seen.push(kind));
setTimeout(() => { throw new Error('thrown from a timer'); }, 10);
setTimeout(() => { Promise.reject(new Error('rejected, never handled')); }, 20);
setTimeout(() => { process.stdout.write(JSON.stringify(seen) + '\\n'); }, 100);
`;

describe('the serve process crash policy', () => {
  it('logs an uncaught exception and an unhandled rejection loudly, counts them, and keeps running', async () => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', SCRIPT], {
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const [code] = await once(child, 'exit');
    expect(code, stderr).toBe(0);
    // It outlived both errors and counted each once.
    expect(JSON.parse(stdout)).toEqual(['exception', 'rejection']);
    const lines = stderr
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toHaveLength(2);
    for (const [line, kind] of [
      [lines[0], 'exception'],
      [lines[1], 'rejection'],
    ] as const) {
      expect(line.level).toBe(60); // fatal
      expect(line.kind).toBe(kind);
      expect(line.msg).toMatch(/UNCAUGHT .*bug in engage serve.*keeps serving/);
      expect(line.err.stack).toMatch(/thrown from a timer|rejected, never handled/);
    }
  });
});
