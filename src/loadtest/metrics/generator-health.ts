import { percentileOf } from '../../util/trend.js';
import type { GaugeStats } from './gauge.js';

/** Share of all cores the generator may average before its figures are its own, not the server's. */
export const SATURATION_CPU = 0.85;
/** Event-loop lag that delays every timestamp a bot takes. */
export const SATURATION_LAG_MS = 200;
/** One slow second (workers starting, a burst of DTLS handshakes) is not saturation; a tenth of the run is. */
export const SATURATION_LAG_PERCENTILE = 90;
/** CPU of the server or of other processes worth naming as the cause of a lag, as a share of all cores. */
const NOTABLE_SHARE = 0.15;

export interface HealthInput {
  cores: number;
  /** The generator's own CPU (main thread and workers), % of one core. */
  generatorCpu: GaugeStats;
  /** Event-loop lag p99 of each second of the run (the worst of the main thread and the workers). */
  lagPerSecondMs: number[];
  /** The whole machine's busy CPU over the run, % of one core; undefined where it cannot be read. */
  machineCpuPct: number | undefined;
  /** The embedded server process's average CPU, % of one core; undefined with --url. */
  serverCpuPct: number | undefined;
  /** The browser participants' Chromium, average % of one core (--browsers): part of the generator. */
  browserCpuPct?: number;
}

/**
 * Whether the generator itself was saturated, so that its measurements understate what the server and
 * peers can do; every warning says why. Judged on the generator's own CPU only: the embedded server runs
 * in its own process, and its CPU is named as a cause when it took the cores the generator needed.
 */
export function diagnoseGenerator(h: HealthInput): string[] {
  const allCores = h.cores * 100;
  const warnings: string[] = [];
  const browsers = h.browserCpuPct ?? 0;
  // Browser participants are load the generator makes: their Chromium's CPU is the generator's.
  const generatorCpu = h.generatorCpu.avg + browsers;
  const cpuSaturated = generatorCpu > SATURATION_CPU * allCores;
  if (cpuSaturated) {
    const of =
      h.browserCpuPct === undefined ? '' : ` (${Math.round(browsers)}% of it the browsers' Chromium)`;
    warnings.push(
      `generator CPU averaged ${Math.round(generatorCpu)}% of ${allCores}%${of}: the generator itself was saturated, so its measurements understate what the server and peers can do`,
    );
  }
  const lagP90 = percentileOf(h.lagPerSecondMs, SATURATION_LAG_PERCENTILE);
  if (lagP90 <= SATURATION_LAG_MS) return warnings;
  const worst = Math.round(Math.max(0, ...h.lagPerSecondMs));
  warnings.push(
    `event-loop lag exceeded ${SATURATION_LAG_MS} ms in over a tenth of the run's seconds (worst ${worst} ms): timings include the generator's own delays`,
  );
  // Lagging without using its cores means the cores were not there to use: say who had them.
  if (cpuSaturated || h.machineCpuPct === undefined) return warnings;
  const server = h.serverCpuPct ?? 0;
  const others = Math.max(0, h.machineCpuPct - generatorCpu - server);
  if (server > NOTABLE_SHARE * allCores) {
    warnings.push(
      `the embedded server used ${Math.round(server)}% CPU on the same ${h.cores} cores: test a server on another machine (--url) to give the generator all of them`,
    );
  }
  if (others > NOTABLE_SHARE * allCores) {
    warnings.push(
      `other processes used ${Math.round(others)}% CPU during the run, leaving the generator short of its ${h.cores} cores`,
    );
  }
  if (server <= NOTABLE_SHARE * allCores && others <= NOTABLE_SHARE * allCores) {
    warnings.push(
      `the generator used ${Math.round(generatorCpu)}% of ${allCores}% CPU yet lagged, and the machine was not busy either: its cores were not available (a virtual machine's host or a CPU quota)`,
    );
  }
  return warnings;
}
