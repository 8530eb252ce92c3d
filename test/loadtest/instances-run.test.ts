import { afterEach, describe, expect, it } from 'vitest';
import { runLoadtest } from '../../src/loadtest/runner.js';
import { SignalingServer } from '../../src/signaling/server.js';

const servers: SignalingServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

describe('loadtest --url A --url B', () => {
  it('spreads bots over the instances and reads each one, summing their counts', async () => {
    // Two separate servers: rooms of one bot each need nothing shared, so this shows the spreading and the
    // per-instance accounting on real servers (the Redis cluster test is test/e2e/loadtest-cluster.test.ts).
    for (let i = 0; i < 2; i++) servers.push(await SignalingServer.start({ host: '127.0.0.1', port: 0 }));
    const urls = servers.map((s) => s.url);
    const { summary, failedThresholds } = await runLoadtest(
      {
        bots: 6,
        rooms: 6,
        urls,
        // Long enough for the once-a-second sampling to see every socket open.
        durationMs: 2500,
        rampPerS: 50,
        graceMs: 5000,
        signalingOnly: true,
        video: 'none',
        audio: 'none',
        thresholds: ['bots_failed:count==0'],
        workers: 0,
      },
      { signal: new AbortController().signal },
    );
    expect(failedThresholds).toBe(0);
    expect(summary.run.urls).toEqual(urls);
    expect(summary.run.url).toBe(urls[0]);
    const [a, b] = summary.server.instances!;
    // Room i's only member goes to instance i % 2.
    for (const [i, inst] of [a!, b!].entries()) {
      expect(inst).toMatchObject({
        url: urls[i],
        bots: 3,
        botsJoined: 3,
        botsFailed: 0,
        signalErrors: 0,
        source: 'remote',
        peakSockets: 3,
        errors: {},
      });
      // Each bot says new-join once (and close when it leaves).
      expect(inst.messagesIn).toBeGreaterThanOrEqual(3);
    }
    expect(summary.server.source).toBe('remote');
    expect(summary.server.messagesIn).toBe(a!.messagesIn! + b!.messagesIn!);
    expect(summary.server.messagesOut).toBe(a!.messagesOut! + b!.messagesOut!);
    expect(summary.server.peakSockets).toBe(6);
  }, 60_000);

  it('reports an instance whose /metrics is gone, and sums the others', async () => {
    servers.push(await SignalingServer.start({ host: '127.0.0.1', port: 0 }));
    const other = await SignalingServer.start({ host: '127.0.0.1', port: 0 });
    servers.push(other);
    const urls = servers.map((s) => s.url);
    const run = runLoadtest(
      {
        bots: 2,
        rooms: 2,
        urls,
        durationMs: 2500,
        rampPerS: 50,
        graceMs: 3000,
        signalingOnly: true,
        video: 'none',
        audio: 'none',
        thresholds: [],
        workers: 0,
      },
      { signal: new AbortController().signal },
    );
    // The second instance goes away mid-run: its bot loses signaling, and its /metrics cannot be read.
    setTimeout(() => {
      other.close().catch(() => {});
    }, 1500);
    const { summary } = await run;
    const [a, b] = summary.server.instances!;
    expect(a).toMatchObject({ source: 'remote', bots: 1, botsJoined: 1 });
    expect(b).toMatchObject({ source: 'unavailable', bots: 1, botsJoined: 1 });
    expect(b!.note).toMatch(/no engage_ metrics at http:\/\/127\.0\.0\.1:\d+\/metrics at the end/);
    expect(summary.server.source).toBe('remote');
    expect(summary.server.messagesIn).toBe(a!.messagesIn);
    // (A busy machine may add that a latency quantile passed the largest bucket.)
    expect(
      summary.server.note!.startsWith(
        `the totals cover 1 of 2 instances: no engage_ metrics from ${urls[1]}`,
      ),
    ).toBe(true);
  }, 60_000);
});
