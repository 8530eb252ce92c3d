/**
 * bench:loadtest-cost — what a plain `engage loadtest` (no --net) costs the generator in this build
 * against another build of engage (an older commit), measured in the same run on the same machine, for
 * the same work.
 *
 * Both builds run the same plan against the same `engage serve` (started once here, so no run pays for a
 * server), alternating base, this, base, this… so that load from other work on the machine falls on
 * both alike. The figure is the generator's CPU (user+system of the loadtest process: main thread and
 * its worker threads; the server is another process) over a steady-state window: --settle seconds
 * after the run's start (the report's run.startedAt) until --window seconds later. Every bot has
 * joined within bots/ramp seconds and the plan holds until after the window ends; a run counts only
 * when its report shows every link connected at least 5 s before the window opens and still connected
 * through it, and video flowing in every flow. Within the window both builds then carry the same flows
 * of the same clip for the same time: equal work, whatever either build's connection setup took. (A
 * build that meshes faster carries more media in a fixed run, so whole-run CPU compares unequal work.)
 *
 * CPU is read from /proc/PID/stat (utime+stime, all threads) every 200 ms and interpolated at the
 * window's edges. Beside it:
 * - traffic in the window: the per-second time series' received video+audio kbps (the sum over live
 *   links of each link's latest 5 s sample), integrated over the window — the same reading in both
 *   builds, a check that the work was equal, and CPU ms per Mbit received over the window;
 * - µs per received packet: the window's CPU difference spread over the packets the clip sends in the
 *   window (the light clip's packet rate × directed flows × window seconds: an estimate from the clip,
 *   not a count — the base build's report has no packet count);
 * - setup: CPU from process start until the time-series point where every link was connected, per link
 *   (process start-up and the media already flowing on early links included);
 * - whole-run CPU (/usr/bin/time), unequal work when the builds mesh at different speeds;
 * - other work on the machine during the window: the machine's busy CPU (/proc/stat) less this
 *   loadtest's and the server's, in cores; a run where others took more than --max-others cores
 *   (default 0.3) is contaminated and left out, as is one whose 1-minute load average went above
 *   --max-load (default 4, on this 2-core machine). Before each run the bench waits (up to
 *   --quiet-wait seconds, default 120) for the machine to be quiet (under --max-others busy cores for
 *   3 s), so that runs land between other benches rather than on top of them.
 *
 *   npm run build && (cd OLD && npm ci && npm run build)
 *   node bench/loadtest-cost.js --base OLD [--bots 20] [--ramp 10] [--settle 25] [--window 20] [--runs 3]
 *     [--max-others 0.3] [--max-load 4] [--quiet-wait 120]
 *
 * Exit code 0 when the bench ran, 1 when it could not (or no comparable run of one build). A shared
 * machine is noisy: read the ratios with the spread of the pairs beside them.
 */
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { machineBusySeconds, numberFlag, table } from './shared.js';

const HERE = fileURLToPath(new URL('..', import.meta.url));
const log = (msg) => process.stderr.write(`[bench:loadtest-cost] ${msg}\n`);
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
/** The mesh must be whole this long before the window opens (first keyframes, PLIs and retransmissions settle). */
const MESH_MARGIN_S = 5;

const FLAGS = {
  bots: { default: 20, min: 2, max: 50 },
  ramp: { default: 10, min: 1, max: 100 },
  settle: { default: 25, min: 5, max: 300 },
  window: { default: 20, min: 5, max: 300 },
  runs: { default: 3, min: 1, max: 10 },
  'max-load': { default: 4, min: 0.5, max: 100 },
  'max-others': { default: 0.3, min: 0, max: 64 },
  'quiet-wait': { default: 120, min: 0, max: 3600 },
};

function parseConfig() {
  const { values } = parseArgs({
    options: {
      base: { type: 'string' },
      json: { type: 'boolean', default: false },
      ...Object.fromEntries(Object.keys(FLAGS).map((k) => [k, { type: 'string' }])),
    },
  });
  if (!values.base)
    throw new Error('--base DIR (a built checkout of the commit to compare with) is required');
  const n = Object.fromEntries(Object.entries(FLAGS).map(([k, f]) => [k, numberFlag(k, f, values[k])]));
  if (!Number.isInteger(n.bots) || !Number.isInteger(n.runs))
    throw new Error('--bots and --runs are integers');
  const joinedS = n.bots / n.ramp;
  // The hold counts from the last join; 3 s more so the window ends before anyone leaves.
  const durationS = Math.ceil(n.settle + n.window - joinedS + 3);
  return {
    base: resolve(values.base),
    bots: n.bots,
    ramp: n.ramp,
    settleS: n.settle,
    windowS: n.window,
    runs: n.runs,
    maxLoad: n['max-load'],
    maxOthers: n['max-others'],
    quietWaitS: n['quiet-wait'],
    durationS,
    json: values.json,
  };
}

async function startServer() {
  const child = spawn(
    process.execPath,
    [join(HERE, 'bin/engage.js'), 'serve', '--port', '0', '--max-room-size', '100', '--log-level', 'warn'],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const [line] = await once(createInterface({ input: child.stdout }), 'line');
  const url = /(ws:\/\/\S+)/.exec(line)?.[1] ?? line.trim().replace(/^http/, 'ws');
  return { url, pid: child.pid, close: () => child.kill('SIGTERM') };
}

/** CPU seconds (user+system, every thread) of a process so far, or undefined once it is gone. */
function cpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / CLK_TCK;
  } catch {
    return undefined;
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Waits until the machine has been under `maxCores` busy for 3 s in a row, or `limitS` passed; the seconds waited. */
async function untilQuiet(maxCores, limitS) {
  const t0 = Date.now();
  let quiet = 0;
  let last = machineBusySeconds();
  while (quiet < 3 && Date.now() - t0 < limitS * 1000) {
    await sleep(1000);
    const now = machineBusySeconds();
    quiet = now - last < maxCores ? quiet + 1 : 0;
    last = now;
  }
  return Math.round((Date.now() - t0) / 1000);
}

const loadAverage = () => Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);

/** The only child of /usr/bin/time: the loadtest's node process. */
function childPid(pid) {
  try {
    const first = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(' ')[0];
    return first ? Number(first) : undefined;
  } catch {
    return undefined;
  }
}

/** CPU seconds at epoch ms `at`, interpolated between the readings around it. */
function cpuAt(samples, at, field = 'cpuS') {
  const i = samples.findIndex((s) => s.at >= at);
  if (i <= 0) return undefined;
  const a = samples[i - 1];
  const b = samples[i];
  return a[field] + ((b[field] - a[field]) * (at - a.at)) / (b.at - a.at);
}

/** One loadtest run of `dir`'s build: its CPU over the window, its setup, and whether it is comparable. */
async function run(dir, config, server, tmp, i) {
  const { url } = server;
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
      `${config.durationS}s`,
      '--ramp',
      String(config.ramp),
      '--json',
      json,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  const samples = [];
  const loads = [];
  let pid;
  const poll = setInterval(() => {
    pid ??= childPid(child.pid);
    if (pid === undefined) return;
    const cpuS = cpuSeconds(pid);
    if (cpuS !== undefined) {
      const at = Date.now();
      // The machine's and the server's CPU on the same clock: what others did is the rest.
      samples.push({ at, cpuS, machineS: machineBusySeconds(), serverS: cpuSeconds(server.pid) ?? 0 });
    }
    loads.push({ at: Date.now(), load: loadAverage() });
  }, 200);
  const [code] = await once(child, 'exit');
  clearInterval(poll);
  const m = /TIME ([\d.]+) ([\d.]+) ([\d.]+)/.exec(stderr);
  if (!m) throw new Error(`no timing from run ${i} (exit ${code}):\n${stderr.slice(-2000)}`);
  const r = JSON.parse(await readFile(json, 'utf8'));
  const c = r.metrics.counters;
  const startedAt = Date.parse(r.run.startedAt);
  const from = startedAt + config.settleS * 1000;
  const to = from + config.windowS * 1000;
  const points = r.timeSeries;
  const meshS = points.find((p) => p.links === c.links_expected)?.t;
  const inWindow = points.filter((p) => p.t > config.settleS && p.t <= config.settleS + config.windowS);
  const held = inWindow.length >= config.windowS - 1 && inWindow.every((p) => p.links === c.links_expected);
  const windowMbit = inWindow.reduce((n, p) => n + p.videoKbps + p.audioKbps, 0) / 1000;
  const cpuFrom = cpuAt(samples, from);
  const cpuTo = cpuAt(samples, to);
  const machineS = (cpuAt(samples, to, 'machineS') ?? 0) - (cpuAt(samples, from, 'machineS') ?? 0);
  const serverS = (cpuAt(samples, to, 'serverS') ?? 0) - (cpuAt(samples, from, 'serverS') ?? 0);
  const othersCores =
    cpuFrom === undefined || cpuTo === undefined
      ? Number.NaN
      : Math.round(((machineS - serverS - (cpuTo - cpuFrom)) / config.windowS) * 100) / 100;
  const cpuMesh = meshS === undefined ? undefined : cpuAt(samples, startedAt + meshS * 1000);
  const windowLoad = loads.filter((l) => l.at >= from && l.at <= to).map((l) => l.load);
  const maxLoad = windowLoad.length ? Math.max(...windowLoad) : loadAverage();
  const why = [];
  if (c.links_connected !== c.links_expected) why.push('not every link connected');
  if (c.video_flows !== 2 * c.links_expected) why.push('some video flow stalled');
  if (meshS === undefined || meshS > config.settleS - MESH_MARGIN_S) why.push(`mesh at ${meshS ?? '-'} s`);
  if (!held) why.push('mesh not held through the window');
  if (cpuFrom === undefined || cpuTo === undefined) why.push('no CPU reading at the window edges');
  if (maxLoad > config.maxLoad) why.push(`load ${maxLoad}`);
  if (!(othersCores <= config.maxOthers)) why.push(`others ${othersCores} cores`);
  return {
    code,
    totalCpuS: Number(m[1]) + Number(m[2]),
    wallS: Number(m[3]),
    windowCpuS: cpuFrom === undefined || cpuTo === undefined ? Number.NaN : cpuTo - cpuFrom,
    windowMbit,
    meshS,
    setupCpuMsPerLink: cpuMesh === undefined ? Number.NaN : (1000 * cpuMesh) / c.links_expected,
    links: `${c.links_connected}/${c.links_expected}`,
    flows: c.video_flows,
    maxLoad,
    othersCores,
    excluded: why.join(', '),
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
const r3 = (x) => Math.round(x * 1000) / 1000;
/** Median with the range of the values: "1.02 (0.98–1.07)". */
const spread = (v, digits = 3) =>
  v.length === 0
    ? '-'
    : `${median(v).toFixed(digits)} (${Math.min(...v).toFixed(digits)}–${Math.max(...v).toFixed(digits)})`;

/** A figure of both builds: medians over comparable runs, their ratio, and the ratios of comparable pairs. */
function compare(pairs, pick) {
  const base = pairs.map(([b]) => pick(b));
  const mine = pairs.map(([, t]) => pick(t));
  return {
    base: median(base),
    this: median(mine),
    ratio: r3(median(mine) / median(base)),
    pairRatios: pairs.map(([b, t]) => r3(pick(t) / pick(b))),
  };
}

async function main() {
  const config = parseConfig();
  const server = await startServer();
  const tmp = await mkdtemp(join(tmpdir(), 'engage-cost-'));
  const results = { base: [], this: [] };
  try {
    log(
      `server ${server.url}; ${config.runs} pair(s) of ${config.bots}-bot runs (ramp ${config.ramp}/s, hold ${config.durationS} s), ` +
        `window ${config.settleS}–${config.settleS + config.windowS} s after the start`,
    );
    let i = 0;
    for (let k = 0; k < config.runs; k++) {
      for (const [name, dir] of [
        ['base', config.base],
        ['this', HERE],
      ]) {
        const waited = await untilQuiet(config.maxOthers, config.quietWaitS);
        if (waited > 3) log(`waited ${waited} s for a quiet machine`);
        const r = await run(dir, config, server, tmp, i++);
        results[name].push(r);
        log(
          `${name} run ${k + 1}: window ${r.windowCpuS.toFixed(2)} CPU s, ${r.windowMbit.toFixed(0)} Mbit; ` +
            `whole ${r.totalCpuS.toFixed(2)} CPU s; mesh at ${r.meshS} s; others ${r.othersCores} cores; load ≤${r.maxLoad}; exit ${r.code}` +
            (r.excluded ? `; left out: ${r.excluded}` : ''),
        );
      }
    }
  } finally {
    server.close();
    await rm(tmp, { recursive: true, force: true });
  }
  // Pairs (base k, this k) where both runs are comparable: ratios per pair show the spread.
  const pairs = results.base
    .map((b, k) => [b, results.this[k]])
    .filter(([b, t]) => !b.excluded && !t.excluded);
  if (pairs.length === 0) {
    log('no pair where both runs are comparable (mesh whole before the window, load within bounds)');
    process.exitCode = 1;
  }
  const pps = await packetsPerFlowSecond();
  const flows = config.bots * (config.bots - 1);
  const packets = pps * flows * config.windowS;
  const window = compare(pairs, (r) => r.windowCpuS);
  const traffic = compare(pairs, (r) => r.windowMbit);
  const perMbit = compare(pairs, (r) => (1000 * r.windowCpuS) / r.windowMbit);
  const setup = compare(pairs, (r) => r.setupCpuMsPerLink);
  const whole = compare(pairs, (r) => r.totalCpuS);
  const summary = {
    bots: config.bots,
    ramp: config.ramp,
    holdS: config.durationS,
    windowS: [config.settleS, config.settleS + config.windowS],
    pairs: config.runs,
    comparablePairs: pairs.length,
    windowCpu: window,
    windowTraffic: traffic,
    windowCpuMsPerMbit: perMbit,
    setupCpuMsPerLink: setup,
    wholeRunCpu: whole,
    packetsPerFlowSecond: Math.round(pps * 10) / 10,
    windowPacketsEstimated: Math.round(packets),
    extraUsPerPacket: Math.round(((window.this - window.base) * 1e6 * 100) / packets) / 100,
    runs: results,
  };
  if (config.json) {
    process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
    return;
  }
  const rows = results.base.flatMap((b, k) =>
    [
      ['base', b],
      ['this', results.this[k]],
    ].map(([name, r]) => [
      name,
      k + 1,
      r.windowCpuS.toFixed(2),
      r.windowMbit.toFixed(0),
      ((1000 * r.windowCpuS) / r.windowMbit).toFixed(1),
      r.meshS ?? '-',
      r.setupCpuMsPerLink.toFixed(1),
      r.totalCpuS.toFixed(2),
      r.links,
      r.flows,
      r.othersCores,
      r.maxLoad,
      r.excluded ? `left out: ${r.excluded}` : '',
    ]),
  );
  process.stdout.write(
    `${table(
      [
        'build',
        'pair',
        'window CPU s',
        'window Mbit',
        'CPU ms/Mbit',
        'mesh at s',
        'setup CPU ms/link',
        'whole-run CPU s',
        'links',
        'video flows',
        'others cores',
        'load',
        '',
      ],
      rows,
      [0, 12],
    )}\n`,
  );
  if (pairs.length === 0) {
    process.stdout.write(
      `0 of ${config.runs} pair(s) comparable: no figure (see why each run was left out)\n`,
    );
    return;
  }
  const line = (label, f, digits = 2) =>
    `${label}: base ${f.base.toFixed(digits)}, this ${f.this.toFixed(digits)}, ratio ${f.ratio} (pairs ${spread(f.pairRatios)})\n`;
  process.stdout.write(
    `${pairs.length} of ${config.runs} pair(s) comparable; window ${config.settleS}–${config.settleS + config.windowS} s, medians:\n` +
      line('  window CPU s (equal work)', window) +
      line('  window traffic Mbit (equal work check)', traffic, 0) +
      line('  window CPU ms per Mbit received', perMbit, 1) +
      line('  setup CPU ms per link (start to mesh whole)', setup, 1) +
      line('  whole-run CPU s (unequal work if meshing differs)', whole) +
      `  ≈${summary.windowPacketsEstimated} packets in the window (clip: ${summary.packetsPerFlowSecond}/s × ${flows} flows × ${config.windowS} s): ` +
      `${summary.extraUsPerPacket} µs more CPU per received packet\n`,
  );
}

main().catch((err) => {
  log(err.stack ?? String(err));
  process.exit(1);
});
