import { describe, expect, it } from 'vitest';
import { runLoadtest } from '../../src/loadtest/runner.js';

describe('signaling-only load', () => {
  it('1,000 clients in 100 rooms complete the whole dance with no errors', async () => {
    const { summary, failedThresholds } = await runLoadtest(
      {
        bots: 1000,
        rooms: 100,
        // Long enough for the last room to finish its dance on a busy CI machine.
        durationMs: 5000,
        rampPerS: 500,
        graceMs: 10_000,
        signalingOnly: true,
        video: 'none',
        audio: 'none',
        thresholds: ['bots_failed:count==0', 'signal_errors:count==0'],
      },
      { signal: new AbortController().signal },
    );
    const c = summary.metrics.counters;
    expect(failedThresholds).toBe(0);
    expect(c.bots_joined).toBe(1000);
    expect(c.links_expected).toBe(4500);
    expect(c.links_connected).toBe(4500);
    expect(c.links_failed).toBe(0);
    expect(summary.metrics.trends.mesh_ready_ms.count).toBe(1000);
    // Every client but the first of each room found members there.
    expect(summary.metrics.trends.join_mesh_ms.count).toBe(900);
    for (const b of summary.parts.flatMap((p) => p.bots))
      if (b.joinMeshMs !== undefined) expect(b.joinMeshMs, b.bot).toBeLessThanOrEqual(b.meshReadyMs!);
    expect(summary.server.peakSockets).toBe(1000);
    expect(summary.server.errors).toEqual({});
    // Each client: a join and one message per pair it is in; the server delivered far more than it got.
    expect(summary.server.messagesIn).toBeGreaterThanOrEqual(1000 + 2 * 4500);
    expect(summary.run.interrupted).toBe(false);
  }, 60_000);
});
