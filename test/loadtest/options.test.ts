import { describe, expect, it } from 'vitest';
import { type LoadtestOptions, resolveSettings } from '../../src/loadtest/plan/options.js';
import { UsageError } from '../../src/util/errors.js';

const base: LoadtestOptions = {
  bots: 2,
  rooms: 1,
  durationMs: 1000,
  rampPerS: 5,
  graceMs: 1000,
  signalingOnly: false,
  video: 'builtin-light',
  audio: 'builtin-light',
  thresholds: [],
};

const refused = (change: Partial<LoadtestOptions>) => {
  try {
    resolveSettings({ ...base, ...change });
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return (err as Error).message;
  }
  throw new Error(`accepted ${JSON.stringify(change)}`);
};

describe('run settings', () => {
  it('fills in the defaults: 5 s intervals, media sent unless signaling only', () => {
    expect(resolveSettings(base)).toMatchObject({
      mode: 'media',
      video: 'builtin-light',
      chatIntervalMs: 5000,
      sampleIntervalMs: 5000,
      workers: undefined,
    });
    expect(resolveSettings({ ...base, signalingOnly: true })).toMatchObject({
      mode: 'signaling-only',
      video: 'none',
      audio: 'none',
    });
  });

  it('refuses zero, negative and too-short intervals as usage errors naming the flag', () => {
    expect(refused({ sampleIntervalMs: 0 })).toMatch(/^--sample-interval must be a positive duration/);
    expect(refused({ sampleIntervalMs: -5000 })).toMatch(/^--sample-interval must be a positive/);
    expect(refused({ chatIntervalMs: 0 })).toMatch(/^--chat-interval must be a positive duration/);
    expect(refused({ chatIntervalMs: Number.NaN })).toMatch(/^--chat-interval/);
    expect(refused({ sampleIntervalMs: 1 })).toBe('--sample-interval must be at least 100ms, got 1 ms');
    expect(resolveSettings({ ...base, sampleIntervalMs: 100, chatIntervalMs: 100 })).toMatchObject({
      sampleIntervalMs: 100,
      chatIntervalMs: 100,
    });
  });

  it('refuses negative durations and workers that are not a whole number; zero hold and grace are fine', () => {
    expect(refused({ durationMs: -1 })).toMatch(/^--duration must not be negative/);
    expect(refused({ graceMs: -1 })).toMatch(/^--grace must not be negative/);
    expect(refused({ workers: -1 })).toMatch(/^--workers/);
    expect(refused({ workers: 1.5 })).toMatch(/^--workers/);
    expect(refused({ workers: Number.NaN })).toMatch(/^--workers/);
    expect(resolveSettings({ ...base, durationMs: 0, graceMs: 0, workers: 0 })).toMatchObject({
      durationMs: 0,
      graceMs: 0,
      workers: 0,
    });
  });
});
