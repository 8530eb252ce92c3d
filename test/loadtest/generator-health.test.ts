import { describe, expect, it } from 'vitest';
import { diagnoseGenerator, type HealthInput } from '../../src/loadtest/metrics/generator-health.js';

const gauge = (avg: number) => ({ avg, min: avg, max: avg, last: avg });
const calm: HealthInput = {
  cores: 2,
  generatorCpu: gauge(60),
  lagPerSecondMs: Array.from({ length: 20 }, () => 10),
  machineCpuPct: 70,
  serverCpuPct: 5,
};

describe('generator health', () => {
  it('is quiet when CPU and lag are fine', () => {
    expect(diagnoseGenerator(calm)).toEqual([]);
  });

  it("judges saturation on the generator's own CPU: a busy embedded server does not make it saturated", () => {
    // 171% of 200% is over 85% of both cores.
    expect(diagnoseGenerator({ ...calm, generatorCpu: gauge(171) })[0]).toMatch(
      /^generator CPU averaged 171% of 200%: the generator itself was saturated/,
    );
    // The generator at 100% and the server at 90%: the machine was full, the generator was not.
    expect(
      diagnoseGenerator({ ...calm, generatorCpu: gauge(100), serverCpuPct: 90, machineCpuPct: 195 }),
    ).toEqual([]);
  });

  it("takes the lag's p90 over the run's seconds with k6's percentile", () => {
    // 20 seconds, the worst two at 1000 ms: p90 at rank 17.1 lies between 10 and 1000 → 109 ms: fine.
    const twoSlow = [...Array.from({ length: 18 }, () => 10), 1000, 1000];
    expect(diagnoseGenerator({ ...calm, lagPerSecondMs: twoSlow })).toEqual([]);
    // The worst three: rank 17.1 lies between 1000 and 1000 → 1000 ms: lagging.
    const threeSlow = [...Array.from({ length: 17 }, () => 10), 1000, 1000, 1000];
    expect(diagnoseGenerator({ ...calm, lagPerSecondMs: threeSlow })[0]).toBe(
      "event-loop lag exceeded 200 ms in over a tenth of the run's seconds (worst 1000 ms): timings include the generator's own delays",
    );
  });

  it('says who had the cores when the generator lagged without using them', () => {
    const lagging = { ...calm, lagPerSecondMs: Array.from({ length: 20 }, () => 500) };
    expect(diagnoseGenerator({ ...lagging, serverCpuPct: 80, machineCpuPct: 150 })).toEqual([
      expect.stringMatching(/^event-loop lag/),
      'the embedded server used 80% CPU on the same 2 cores: test a server on another machine (--url) to give the generator all of them',
    ]);
    expect(diagnoseGenerator({ ...lagging, serverCpuPct: 5, machineCpuPct: 180 })).toEqual([
      expect.stringMatching(/^event-loop lag/),
      'other processes used 115% CPU during the run, leaving the generator short of its 2 cores',
    ]);
    expect(diagnoseGenerator({ ...lagging, serverCpuPct: undefined, machineCpuPct: 70 })[1]).toMatch(
      /yet lagged, and the machine was not busy either/,
    );
    expect(diagnoseGenerator({ ...lagging, machineCpuPct: undefined })).toHaveLength(1);
  });
});
