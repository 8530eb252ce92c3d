import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  CLOSE_CODES,
  ERROR_CODES,
  FRAME_SHAPE,
  STANDARD_CLOSE_CODES,
} from '../../src/signaling/constants.js';
import { DEFAULTS, MIN_AUTH_SECRET_BYTES } from '../../src/signaling/options.js';

const doc = readFileSync(new URL('../../docs/protocol.md', import.meta.url), 'utf8');
const section = (title: string) => {
  const start = doc.indexOf(`## ${title}\n`);
  expect(start, title).toBeGreaterThanOrEqual(0);
  const end = doc.indexOf('\n## ', start + 1);
  return doc.slice(start, end < 0 ? undefined : end);
};
const n = (x: number) => x.toLocaleString('en-US');

describe('docs/protocol.md, the contract, says what the code does', () => {
  it('lists every error code, with its close code where the socket is closed', () => {
    const table = section('Error codes');
    for (const code of ERROR_CODES) expect(table, code).toContain(`| \`${code}\` |`);
    for (const [code, close] of Object.entries(CLOSE_CODES)) {
      expect(table).toMatch(new RegExp(`\\| \`${code}\` \\|[^\\n]*\\| closed, ${close} \\|`));
    }
  });

  it('lists every close code the server uses', () => {
    const table = section('Close codes');
    for (const close of [...Object.values(CLOSE_CODES), ...Object.values(STANDARD_CLOSE_CODES)])
      expect(table, String(close)).toContain(`| ${close} |`);
  });

  it("lists every limit with the code's default", () => {
    const table = section('Limits');
    expect(table).toContain(`${n(DEFAULTS.maxMessageBytes)} bytes`);
    expect(table).toContain(`${n(DEFAULTS.maxBroadcastBytes)} bytes`);
    expect(table).toContain(`${FRAME_SHAPE.maxDepth} levels`);
    expect(table).toContain(`| ${n(FRAME_SHAPE.maxValues)} |`);
    expect(table).toContain(`${DEFAULTS.rate} /s per socket, burst ${DEFAULTS.rate * 2}`);
    expect(table).toContain(`${DEFAULTS.broadcastRate} /s per socket, burst ${DEFAULTS.broadcastRate * 2}`);
    expect(table).toContain(`${DEFAULTS.maxRoomSize} named members`);
    expect(table).toContain(`${n(DEFAULTS.maxSockets)} (members and pending)`);
    expect(table).toContain(`${DEFAULTS.joinTimeoutMs / 1000} s`);
    expect(table).toContain(`${DEFAULTS.maxBufferedBytes / (1024 * 1024)} MiB`);
    expect(table).toContain(`ping every ${DEFAULTS.heartbeatIntervalMs / 1000} s`);
    expect(table).toContain(`for ${DEFAULTS.heartbeatTimeoutMs / 1000} s`);
    expect(table).toContain(`at least ${MIN_AUTH_SECRET_BYTES} bytes`);
  });
});
