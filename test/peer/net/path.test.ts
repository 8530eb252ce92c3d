import { describe, expect, it } from 'vitest';
import { BernoulliLoss, GilbertElliottLoss } from '../../../src/peer/net/loss.js';
import { IP_UDP_OVERHEAD_BYTES, LOST, PathModel, QUEUE_FULL } from '../../../src/peer/net/path.js';
import { parseNetProfile } from '../../../src/peer/net/profile.js';
import { seededRandom } from '../../../src/peer/net/random.js';

const out = (text: string) => parseNetProfile(text).out;

describe('loss models', () => {
  it('random loss: the share asked for, independently', () => {
    const loss = new BernoulliLoss(10, seededRandom(1));
    let lost = 0;
    for (let i = 0; i < 100_000; i++) if (loss.lose()) lost++;
    expect(lost / 1000).toBeCloseTo(10, 0);
  });

  it('Gilbert-Elliott: the same long-run loss, in bursts of the mean length asked for', () => {
    const loss = new GilbertElliottLoss(10, 5, seededRandom(2));
    let lost = 0;
    const bursts: number[] = [];
    let run = 0;
    for (let i = 0; i < 200_000; i++) {
      if (loss.lose()) {
        lost++;
        run++;
      } else if (run > 0) {
        bursts.push(run);
        run = 0;
      }
    }
    expect(lost / 2000).toBeCloseTo(10, 0);
    const mean = bursts.reduce((a, b) => a + b, 0) / bursts.length;
    expect(mean).toBeGreaterThan(4.7);
    expect(mean).toBeLessThan(5.3);
  });
});

describe('path model (pure: loss, then rate queue, then delay)', () => {
  it('a clear profile passes packets at once', () => {
    const m = new PathModel(out('none'), seededRandom(1));
    expect(m.admit(100, 1200)).toBe(100);
  });

  it('delay without jitter is exact; with jitter it stays within ±jitter and keeps the order', () => {
    const fixed = new PathModel(out('delay=50ms'), seededRandom(1));
    expect(fixed.admit(10, 100)).toBe(60);
    const m = new PathModel(out('delay=40ms,jitter=10ms'), seededRandom(3));
    let last = 0;
    for (let i = 0; i < 10_000; i++) {
      const now = i * 0.5;
      const t = m.admit(now, 100);
      expect(t).toBeGreaterThanOrEqual(last);
      last = t;
      // Keeping the order can only hold a packet back behind an earlier one, never below delay - jitter.
      expect(t - now).toBeGreaterThanOrEqual(30);
      expect(t - now).toBeLessThanOrEqual(50);
    }
  });

  it('with reorder, jitter may let a packet overtake the one before', () => {
    const m = new PathModel(out('delay=40ms,jitter=10ms,reorder'), seededRandom(3));
    let overtaken = 0;
    let last = 0;
    for (let i = 0; i < 1000; i++) {
      const t = m.admit(i, 100);
      if (t < last) overtaken++;
      last = t;
    }
    expect(overtaken).toBeGreaterThan(100);
  });

  it('the rate limit serialises packets at the rate, headers counted, and tail-drops past the queue bound', () => {
    // 100 kbit/s: a 1222-byte payload + 28 header bytes = 10,000 bits = 100 ms on the wire.
    const m = new PathModel(out('rate=100kbit,queue=250ms'), seededRandom(1));
    const size = 1250 - IP_UDP_OVERHEAD_BYTES;
    expect(m.admit(0, size)).toBeCloseTo(100, 6);
    expect(m.admit(0, size)).toBeCloseTo(200, 6); // waited 100 ms
    expect(m.admit(0, size)).toBeCloseTo(300, 6); // 200 ms
    expect(m.admit(0, size)).toBe(QUEUE_FULL); // would wait 300 ms
  });

  it('drops at the tail when the wait would pass the queue bound, then accepts again once drained', () => {
    const m = new PathModel(out('rate=100kbit,queue=150ms'), seededRandom(1));
    const size = 1250 - IP_UDP_OVERHEAD_BYTES;
    expect(m.admit(0, size)).toBeCloseTo(100, 6); // waits 0
    expect(m.admit(0, size)).toBeCloseTo(200, 6); // waits 100
    expect(m.admit(0, size)).toBe(QUEUE_FULL); // would wait 200
    expect(m.counters).toMatchObject({ packets: 3, queueDropped: 1, lost: 0 });
    expect(m.counters.queueDelayMs).toBeCloseTo(100, 6);
    expect(m.admit(150, size)).toBeCloseTo(300, 6); // waits 50
  });

  it('a long run offered at twice the rate delivers the rate and drops about half', () => {
    const m = new PathModel(out('rate=200kbit,queue=50ms'), seededRandom(1));
    const size = 1000;
    const bitsPerPacket = (size + IP_UDP_OVERHEAD_BYTES) * 8;
    // 400 kbit/s offered for 10 s.
    const interval = (bitsPerPacket / 400_000) * 1000;
    let delivered = 0;
    let lastArrival = 0;
    for (let now = 0; now < 10_000; now += interval) {
      const t = m.admit(now, size);
      if (t >= 0) {
        delivered++;
        lastArrival = t;
        expect(t - now).toBeLessThanOrEqual(50 + (bitsPerPacket / 200_000) * 1000 + 1e-6);
      }
    }
    const kbps = (delivered * bitsPerPacket) / lastArrival;
    expect(kbps).toBeGreaterThan(195);
    expect(kbps).toBeLessThanOrEqual(200.001);
    expect(m.counters.queueDropped / m.counters.packets).toBeCloseTo(0.5, 1);
  });

  it('loss comes first: a lost packet takes no room on the link', () => {
    const m = new PathModel(out('loss=100%,rate=100kbit'), seededRandom(1));
    expect(m.admit(0, 1000)).toBe(LOST);
    m.setProfile(out('rate=100kbit'));
    expect(m.admit(0, 1222)).toBeCloseTo(100, 6);
  });
});
