import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const BIN = fileURLToPath(new URL('../../bin/engage.js', import.meta.url));

describe('engage (CLI)', () => {
  it('exits 0 quietly when the reader of its stdout is gone (engage join --help | head -1)', async () => {
    const child = spawn(process.execPath, [BIN, 'join', '--help'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    // Close our end before the help is written, as `head -1` has once it read its line: the write meets EPIPE.
    child.stdout.destroy();
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(stderr).not.toContain('EPIPE');
    expect(code).toBe(0);
  });
});
