import { describe, expect, it } from 'vitest';
import { redacted, resolveRedisOptions } from '../../../src/signaling/engine/redis-options.js';
import { UsageError } from '../../../src/util/errors.js';

describe('Redis engine options', () => {
  const url = 'redis://127.0.0.1:6379';

  it('fills defaults that keep the liveness rule', () => {
    const o = resolveRedisOptions({ url });
    expect(o.commandTimeoutMs + o.heartbeatMs).toBeLessThan(o.instanceTtlMs);
    expect(o.prefix).toBe('engage:');
  });

  it('refuses what would break the cluster, with usage errors that name the option', () => {
    const cases: Array<[Parameters<typeof resolveRedisOptions>[0], RegExp]> = [
      [{ url: 'not a url' }, /--redis/],
      [{ url: 'http://127.0.0.1:6379' }, /redis:\/\//],
      [{ url, instanceId: 'has space' }, /--instance-id/],
      [{ url, prefix: 'a{b}' }, /prefix/],
      [{ url, heartbeatMs: 0 }, /heartbeatMs/],
      [{ url, heartbeatMs: 1000, commandTimeoutMs: 2000, instanceTtlMs: 3000 }, /instanceTtlMs must exceed/],
    ];
    for (const [options, message] of cases) {
      expect(() => resolveRedisOptions(options)).toThrow(UsageError);
      expect(() => resolveRedisOptions(options)).toThrow(message);
    }
  });

  it('keeps the password out of messages', () => {
    expect(redacted('redis://user:secret@host:6379/0')).not.toContain('secret');
  });
});
