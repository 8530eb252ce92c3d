/**
 * bench:loadtest-cost — what a plain `engage loadtest` (no --net) costs the generator in this build
 * against another build of engage (an older commit), measured in the same run on the same machine.
 *
 * Both builds run the same plan against the same `engage serve` (started once here, so no run pays for a
 * server), alternating base, this, base, this… so that load from other work on the machine falls on
 * both alike. Each run's generator CPU is the loadtest process's own user+system time from
 * /usr/bin/time (main thread and workers; the server is another process). The ratio of medians is the
 * figure; per received packet it is spread over the packets the plan delivers (the light clip's packet
 * rate × directed flows × seconds held, an estimate from the clip, not a count).
 *
 *   npm run build && (cd OLD && npm ci && npm run build)
 *   node bench/loadtest-cost.js --base OLD [--bots 20] [--duration 20s] [--runs 3]
 *
 * Exit code 0 when the bench ran, 1 when it could not. A shared machine is noisy: read the ratio with
 * the spread of the runs beside it.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { table } from './shared.js';

const HERE = fileURLToPath(new URL('..', import.meta.url));
const log = (msg) => process.stderr.write(`[bench:loadtest-cost] ${msg}\n`);

function parseConfig() {
  const { values } = parseArgs({
    options: {
      base: { type: 'string' },
      bots: { type: 'string', default: '20' },
      duration: { type: 'string', default: '20s' },
      runs: { type: 'string', default: '3' },
      json: { type: 'boolean', default: false },
    },
  });
  if (!values.base)
    throw new Error('--base DIR (a built checkout of the commit to compare with) is required');
  const bots = Number(values.bots);
  const runs = Number(values.runs);
  if (!(Number.isInteger(bots) && bots >= 2 && bots <= 50)) throw new Error('--bots is 2..50');
  if (!(Number.isInteger(runs) && runs >= 1 && runs <= 10)) throw new Error('--runs is 1..10');
  return { base: resolve(values.base), bots, runs, duration: values.duration, json: values.json };
}

async function startServer() {
  const child = spawn(
    process.execPath,
    [join(HERE, 'bin/engage.js'), 'serve', '--port', '0', '--max-room-size', '100', '--log-level', 'warn'],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const [line] = await once(createInterface({ input: child.stdout }), 'line');
  const url = /(ws:\/\/\S+)/.exec(line)?.[1] ?? line.trim().replace(/^http/, 'ws');
  return { url, close: () => child.kill('SIGTERM') };
}

/** One loadtest run of `dir`'s build; its own CPU seconds and what its report says it carried. */
async function run(dir, config, url, tmp, i) {
  const json = join(tmp, `run-${i}.json`);
  const child = spawn(
    '/usr/bin/time',
    [
      '-f',
      'TIME %U %S %e',
      process.execPath,
      join(dir, 'bin/engage.js'),
      'loadtest',
      '-n',
      String(config.bots),
      '--url',
      url,
      '--duration',
      config.duration,
      '--ramp',
      '10',
      '--json',
      json,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  const [code] = await once(child, 'exit');
  const m = /TIME ([\d.]+) ([\d.]+) ([\d.]+)/.exec(stderr);
  if (!m) throw new Error(`no timing from run ${i} (exit ${code}):\n${stderr.slice(-2000)}`);
  const r = JSON.parse(await readFile(json, 'utf8'));
  const c = r.metrics.counters;
  const t = r.metrics.trends;
  // What arrived, from the per-link samples (5 s each): kbit/s × samples × 5 s. Under load a run can
  // deliver less (late links, starved flows); CPU per megabit received compares the work done.
  const receivedMbit =
    ((t.video_bitrate_kbps.avg * t.video_bitrate_kbps.count +
      t.audio_bitrate_kbps.avg * t.audio_bitrate_kbps.count) *
      5) /
    1000;
  return {
    receivedMbit,
    cpuS: Number(m[1]) + Number(m[2]),
    wallS: Number(m[3]),
    code,
    links: `${c.links_connected}/${c.links_expected}`,
    // A run that did not mesh (a machine too busy for ICE to finish) did less work: not comparable.
    complete: c.links_connected === c.links_expected && c.video_flows === 2 * c.links_expected,
    holdS: r.plan.durationS,
    videoKbpsP50: r.metrics.trends.video_bitrate_kbps.p50,
    fpsP50: r.metrics.trends.video_fps.p50,
    flows: c.video_flows,
  };
}

/** Packets a second one directed flow carries with the light load profile (video + audio), from the clips. */
async function packetsPerFlowSecond() {
  const { Vp8Packetizer } = await import('werift');
  const { loadClip } = await import('../dist/peer/media/clip.js');
  const video = await loadClip('builtin-light', 'video');
  const audio = await loadClip('builtin-light', 'audio');
  const packetizer = new Vp8Packetizer({ payloadType: 96, maxPayloadSize: 1200 });
  let packets = 0;
  let ts = 0;
  for (const frame of video.frames) {
    packets += packetizer.packetize(frame.data, ts).length;
    ts = (ts + frame.durationTicks) >>> 0;
  }
  const seconds = (clip) => clip.frames.reduce((n, f) => n + f.durationTicks, 0) / clip.clockRate;
  return packets / seconds(video) + audio.frames.length / seconds(audio);
}

const median = (v) => {
  const s = [...v].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
};

async function main() {
  const config = parseConfig();
  const server = await startServer();
  const tmp = await mkdtemp(join(tmpdir(), 'engage-cost-'));
  const results = { base: [], this: [] };
  try {
    log(`server ${server.url}; ${config.runs} pair(s) of ${config.bots}-bot runs, ${config.duration} each`);
    let i = 0;
    for (let k = 0; k < config.runs; k++) {
      for (const [name, dir] of [
        ['base', config.base],
        ['this', HERE],
      ]) {
        const r = await run(dir, config, server.url, tmp, i++);
        results[name].push(r);
        log(
          `${name} run ${k + 1}: ${r.cpuS.toFixed(2)} CPU s in ${r.wallS} s, links ${r.links}, exit ${r.code}`,
        );
      }
    }
  } finally {
    server.close();
    await rm(tmp, { recursive: true, force: true });
  }
  const pps = await packetsPerFlowSecond();
  const flows = config.bots * (config.bots - 1);
  const hold = results.this[0].holdS;
  const packets = pps * flows * hold;
  const complete = {
    base: results.base.filter((r) => r.complete),
    this: results.this.filter((r) => r.complete),
  };
  const excluded = results.base.length + results.this.length - complete.base.length - complete.this.length;
  if (complete.base.length === 0 || complete.this.length === 0) {
    log(
      'no complete run of one build (every link connected, video in every flow): the machine was too busy to compare',
    );
    process.exitCode = 1;
  }
  const base = median(complete.base.map((r) => r.cpuS));
  const mine = median(complete.this.map((r) => r.cpuS));
  const perMbit = (r) => (r.receivedMbit > 0 ? (1000 * r.cpuS) / r.receivedMbit : Number.NaN);
  const baseMs = median(complete.base.map(perMbit));
  const mineMs = median(complete.this.map(perMbit));
  const summary = {
    bots: config.bots,
    duration: config.duration,
    runs: config.runs,
    baseCpuS: results.base.map((r) => r.cpuS),
    thisCpuS: results.this.map((r) => r.cpuS),
    baseMedianCpuS: base,
    thisMedianCpuS: mine,
    excludedRuns: excluded,
    ratio: Math.round((mine / base) * 1000) / 1000,
    baseCpuMsPerMbit: Math.round(baseMs * 10) / 10,
    thisCpuMsPerMbit: Math.round(mineMs * 10) / 10,
    ratioPerMbit: Math.round((mineMs / baseMs) * 1000) / 1000,
    packetsPerFlowSecond: Math.round(pps * 10) / 10,
    packetsEstimated: Math.round(packets),
    extraUsPerPacket: Math.round(((mine - base) * 1e6 * 100) / packets) / 100,
    runs_detail: results,
  };
  if (config.json) {
    process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
    return;
  }
  const rows = ['base', 'this'].flatMap((name) =>
    results[name].map((r, k) => [
      name,
      k + 1,
      r.cpuS.toFixed(2),
      r.wallS,
      r.links,
      Math.round(r.receivedMbit),
      perMbit(r).toFixed(1),
      r.videoKbpsP50,
      r.fpsP50,
      r.flows,
      r.complete ? '' : 'left out',
    ]),
  );
  process.stdout.write(
    `${table(['build', 'run', 'CPU s', 'wall s', 'links', 'Mbit in', 'CPU ms/Mbit', 'video kbps p50', 'fps p50', 'video flows', ''], rows, [0])}\n`,
  );
  process.stdout.write(
    `${excluded} run(s) left out (not every link connected or some video flow stalled)\n` +
      `median CPU: base ${base.toFixed(2)} s, this ${mine.toFixed(2)} s, ratio ${summary.ratio}; ` +
      `≈${summary.packetsEstimated} packets received (${summary.packetsPerFlowSecond}/s × ${flows} flows × ${hold} s): ` +
      `${summary.extraUsPerPacket} µs more per received packet\n` +
      `median CPU per Mbit received: base ${summary.baseCpuMsPerMbit} ms, this ${summary.thisCpuMsPerMbit} ms, ratio ${summary.ratioPerMbit}\n`,
  );
}

main().catch((err) => {
  log(err.stack ?? String(err));
  process.exit(1);
});
