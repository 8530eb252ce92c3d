import { existsSync } from 'node:fs';
import { expect, it } from 'vitest';
import { machineBusyPct, readMachineCpu } from '../../src/loadtest/metrics/machine-cpu.js';

it('reads the machine-wide CPU counters where /proc/stat exists', () => {
  const cpu = readMachineCpu();
  if (!existsSync('/proc/stat')) return expect(cpu).toBeUndefined();
  expect(cpu!.total).toBeGreaterThan(0);
  expect(cpu!.busy).toBeGreaterThanOrEqual(0);
  expect(cpu!.busy).toBeLessThanOrEqual(cpu!.total);
});

it('gives the busy share of all cores as % of one core', () => {
  expect(machineBusyPct({ busy: 100, total: 1000 }, { busy: 400, total: 1400 }, 2)).toBe(150);
  expect(machineBusyPct({ busy: 5, total: 10 }, { busy: 5, total: 10 }, 2)).toBeUndefined();
});
