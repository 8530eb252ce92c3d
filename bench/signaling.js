/**
 * bench/signaling: `engage serve` against a minimal unchecked ws relay (the ceiling), in the same run.
 *
 *   npm run bench:signaling [-- --json] [-- --help]
 *
 * Each server runs in a child process of its own (bench/server-child.js); the clients run here. Phases:
 *   1. idle memory, each server fresh: RSS and V8 heap, after forced GCs, measured in the server process
 *      before and after opening N idle named connections -> bytes per idle connection;
 *   2. fixed rate: both servers up, rooms x clients do the join dance on each, then offers at a fixed
 *      aggregate rate (open loop), each stamped with performance.now() -> delivered msgs/s, relay latency;
 *   3. saturation: both servers up again, closed loop with a bounded window of offers in flight -> max
 *      delivered msgs/s and the engage/ceiling ratio.
 *   4. cluster (bench/cluster.js): the same load against one in-memory engage instance, one on Redis and two
 *      on Redis (a real redis-server on loopback), fixed rate and saturation -> delivered msgs/s, relay
 *      latency and their ratio to in-memory, and Redis's CPU, commands and bytes per relayed message.
 * In phases 2 to 4 the load alternates between the servers in short slices (A B B A A B ...), so the
 * noise of a shared, 2-core machine falls on each alike and the ratios compare like with like.
 * Every loop and wait is bounded; sockets and children are closed at the end. Exit code 0 even when a goal
 * fails (the FAIL is printed); 1 only when the bench itself could not run.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { clusterPhase, clusterTable } from './cluster.js';
import { closeSockets, Fleet, openSocket, pool } from './load.js';
import { killChildren, ServerProcess, withServer } from './server-process.js';
import { numberFlag } from './shared.js';

const GOALS = {
  /** engage's delivered msgs/s at saturation over the ceiling's. */
  throughputRatio: 0.9,
  /** p99 relay latency at the fixed rate (the issue: 5,000 msgs/s). */
  p99Ms: 10,
  /** RSS per idle connection, bytes. */
  bytesPerIdleConnection: 20_000,
};

/** engage serve's default per-socket limit; the fixed-rate phase keeps to it when the load fits. */
const ENGAGE_DEFAULT_RATE = 50;
/** For the saturation phase: high enough never to refuse; the token bucket is still taken on every frame. */
const ENGAGE_SATURATION_RATE = 1e9;

/** Other load on the machine, in cores, above which a phase's numbers are flagged as disturbed. */
const DISTURBED_CORES = 0.25;

const KINDS = ['engage', 'ceiling'];
const PHASES = ['memory', 'fixed', 'saturation', 'cluster'];

const FLAGS = {
  rooms: { default: 100, min: 1, max: 10_000, help: 'rooms in the load phases' },
  'per-room': { default: 4, min: 2, max: 50, help: 'clients per room' },
  rate: { default: 5000, min: 1, max: 1_000_000, help: 'fixed rate: offers/s, all clients together' },
  duration: { default: 10, min: 1, max: 120, help: 'fixed rate: measured seconds per server' },
  slice: { default: 2, min: 0.1, max: 60, help: 'fixed rate: seconds per turn of one server' },
  'sat-duration': { default: 5, min: 0.5, max: 60, help: 'saturation: measured seconds per server' },
  'sat-slice': { default: 0.5, min: 0.1, max: 60, help: 'saturation: seconds per turn of one server' },
  window: { default: 400, min: 1, max: 100_000, help: 'saturation: offers in flight' },
  warmup: { default: 0.25, min: 0, max: 30, help: 'unmeasured seconds of load at the start of each turn' },
  idle: { default: 2000, min: 10, max: 15_000, help: 'idle connections for the memory phase' },
  'cluster-rooms': { default: 100, min: 1, max: 10_000, help: 'cluster: rooms per setup' },
  'cluster-per-room': { default: 5, min: 2, max: 50, help: 'cluster: clients per room' },
  'cluster-rate': { default: 2000, min: 1, max: 1_000_000, help: 'cluster: fixed rate, offers/s' },
  'cluster-duration': { default: 6, min: 1, max: 120, help: 'cluster: fixed rate, measured s per setup' },
  'cluster-sat-duration': {
    default: 4,
    min: 0.5,
    max: 60,
    help: 'cluster: saturation, measured s per setup',
  },
  'sdp-bytes': { default: 4096, min: 200, max: 60_000, help: 'synthetic SDP size in each offer/answer' },
};

function usage() {
  const opt = (flag, help) => `  ${flag}`.padEnd(22) + help;
  const envName = (name) => `BENCH_${name.toUpperCase().replace('-', '_')}`;
  return [
    'usage: node --expose-gc bench/signaling.js [options]',
    ...Object.entries(FLAGS).map(([name, f]) =>
      opt(`--${name} <n>`, `${f.help} (default ${f.default}; env ${envName(name)})`),
    ),
    opt('--only <server>', 'engage or ceiling: run one server only (no ratios)'),
    opt('--phases <list>', `comma-separated subset of ${PHASES.join(',')} (default: all)`),
    opt('--profile <dir>', 'write a V8 CPU profile of each server process to <dir>/<server>/'),
    opt('--json', 'print the results as JSON on stdout (progress stays on stderr)'),
    opt('--help', 'print this help'),
    'env BENCH_SERVER_NODE_ARGS: extra node flags for the server processes, e.g. --trace-gc',
    'env BENCH_ENGAGE_MODULE: path of another build of signaling/server.js to measure instead of dist/',
  ].join('\n');
}

function parseConfig() {
  const options = {
    json: { type: 'boolean' },
    help: { type: 'boolean' },
    only: { type: 'string' },
    phases: { type: 'string' },
    profile: { type: 'string' },
  };
  for (const name of Object.keys(FLAGS)) options[name] = { type: 'string' };
  const { values } = parseArgs({ options, allowPositionals: false });
  if (values.help) {
    process.stdout.write(`${usage()}\n`);
    process.exit(0);
  }
  const phases = (values.phases ?? PHASES.join(',')).split(',').filter(Boolean);
  for (const p of phases) if (!PHASES.includes(p)) throw new Error(`--phases: unknown phase ${p}`);
  if (values.only !== undefined && !KINDS.includes(values.only)) {
    throw new Error(`--only must be engage or ceiling, got ${values.only}`);
  }
  const config = {
    json: Boolean(values.json),
    kinds: values.only ? [values.only] : KINDS,
    phases,
    profile: values.profile && path.resolve(values.profile),
  };
  for (const [name, f] of Object.entries(FLAGS)) {
    const raw = values[name] ?? process.env[`BENCH_${name.toUpperCase().replace('-', '_')}`];
    config[name.replace(/-(.)/g, (_, c) => c.toUpperCase())] = numberFlag(name, f, raw);
  }
  if (typeof global.gc !== 'function') throw new Error('run with node --expose-gc (npm run bench:signaling)');
  return config;
}

const log = (msg) => process.stderr.write(`[bench] ${msg}\n`);

// ---- server processes -----------------------------------------------------------------------------------

/** A CPU / event-loop window in this (the load generator's) process. */
function clientWindow() {
  let mark;
  return {
    start() {
      const delay = monitorEventLoopDelay({ resolution: 2 });
      delay.enable();
      mark = {
        cpu: process.cpuUsage(),
        elu: performance.eventLoopUtilization(),
        at: performance.now(),
        delay,
      };
    },
    stop() {
      const cpu = process.cpuUsage(mark.cpu);
      mark.delay.disable();
      return {
        loopDelayP99Ms: mark.delay.percentile(99) / 1e6,
        loopDelayMaxMs: mark.delay.max / 1e6,
        userMs: cpu.user / 1000,
        systemMs: cpu.system / 1000,
        wallMs: performance.now() - mark.at,
        elu: performance.eventLoopUtilization(mark.elu).utilization,
      };
    },
  };
}

/** Busy and total CPU time of the whole machine, in seconds (Linux /proc/stat); null elsewhere. */
function machineCpu() {
  try {
    const [, ...fields] = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0].trim().split(/\s+/);
    const [user, nice, system, idle, iowait = 0, irq = 0, softirq = 0, steal = 0] = fields.map(Number);
    const busy = user + nice + system + irq + softirq + steal;
    return { busyS: busy / 100, totalS: (busy + idle + iowait) / 100, at: performance.now() };
  } catch {
    return null;
  }
}

/**
 * onWindow for the fleet: marks both processes (and the machine) at the start of the measured window and
 * reads them at its end. `others` is the CPU the rest of the machine used meanwhile, in cores: another
 * workload on a shared machine shows up there.
 */
function usageWindow(server) {
  const client = clientWindow();
  const out = {};
  const onWindow = async (edge) => {
    if (edge === 'start' || !out.marked) {
      client.start();
      out.machine = machineCpu();
      out.marked = server.request('mark');
    }
    if (edge === 'start') return;
    await out.marked;
    const now = machineCpu();
    out.client = client.stop();
    out.server = await server.request('usage');
    if (now && out.machine) {
      const wallS = (now.at - out.machine.at) / 1000;
      const oursS =
        (out.client.userMs + out.client.systemMs + out.server.userMs + out.server.systemMs) / 1000;
      out.othersCores = Math.max(0, (now.busyS - out.machine.busyS - oursS) / wallS);
    }
    delete out.machine;
  };
  return { onWindow, out };
}

// ---- phases --------------------------------------------------------------------------------------------

const tag = () => Math.random().toString(36).slice(2, 8);

/** Opens `n` named sockets in rooms of 20 (under engage's default room size of 50); sends nothing. */
async function openIdle(url, n, prefix) {
  const t = tag();
  const sockets = new Array(n);
  await pool(
    Array.from({ length: n }, (_, i) => i),
    100,
    async (i) => {
      const ws = await openSocket(
        `${url}/room/${prefix}-${t}-${Math.floor(i / 20)}/?username=${prefix}-${i}`,
      );
      ws.on('error', () => {});
      sockets[i] = ws;
    },
  );
  return sockets;
}

async function memoryPhase(kind, config) {
  return withServer(kind, {}, undefined, async (server) => {
    // Warm-up: connect, join and leave once, so code compiled on first use is in the baseline.
    const warm = await openIdle(server.url, 100, 'warm');
    warm.forEach((ws, i) => {
      ws.send(JSON.stringify({ peer: `warm-${i}`, action: 'new-join', keyword: {} }));
    });
    await sleep(200);
    await closeSockets(warm);
    await server.waitSockets(0);
    const before = await server.request('mem');
    const idle = await openIdle(server.url, config.idle, 'idle');
    await server.waitSockets(config.idle);
    await sleep(300);
    const after = await server.request('mem');
    await closeSockets(idle);
    const per = (k) => (after[k] - before[k]) / config.idle;
    delete before.id;
    delete after.id;
    return {
      connections: config.idle,
      before,
      after,
      rssPerConnection: per('rss'),
      heapPerConnection: per('heapUsed'),
      externalPerConnection: per('external'),
    };
  });
}

/** Server options for a load phase, and the line that says so in the output. */
function serverSetup(kind, mode, config) {
  if (kind !== 'engage') return { options: {}, note: undefined };
  if (mode === 'saturation') {
    return {
      options: { rate: ENGAGE_SATURATION_RATE },
      note: `rate limit raised to ${ENGAGE_SATURATION_RATE.toExponential(0)} msgs/s/socket (still taken per frame)`,
    };
  }
  const perSocket = config.rate / (config.rooms * config.perRoom);
  // Keep to the default limit unless the offered load per socket does not fit in it.
  const rate = perSocket <= ENGAGE_DEFAULT_RATE * 0.8 ? ENGAGE_DEFAULT_RATE : Math.ceil(perSocket * 2);
  const which = rate === ENGAGE_DEFAULT_RATE ? 'the default' : 'raised';
  return {
    options: { rate },
    note: `rate limit ${rate} msgs/s/socket (${which}), burst ${rate * 2}; offered ${perSocket.toFixed(1)}/socket`,
  };
}

const sumUsage = (list) => ({
  userMs: list.reduce((a, u) => a + u.userMs, 0),
  systemMs: list.reduce((a, u) => a + u.systemMs, 0),
  wallMs: list.reduce((a, u) => a + u.wallMs, 0),
  elu: list.reduce((a, u) => a + u.elu * u.wallMs, 0) / list.reduce((a, u) => a + u.wallMs, 0),
  loopDelayP99Ms: median(list.map((u) => u.loopDelayP99Ms)),
  loopDelayMaxMs: Math.max(...list.map((u) => u.loopDelayMaxMs)),
});

/**
 * Starts every server for `mode` ('fixed' or 'saturation'), joins a fleet of clients to each, runs one
 * unmeasured turn on each, then alternates measured turns (A B, B A, A B, ...) until each server has had
 * its measured seconds.
 */
async function loadPhase(mode, config) {
  const sides = [];
  const totalS = mode === 'fixed' ? config.duration : config.satDuration;
  const sliceS = Math.min(mode === 'fixed' ? config.slice : config.satSlice, totalS);
  const turns = Math.ceil(totalS / sliceS);
  const warmupMs = config.warmup * 1000;
  const run = (side, durationMs, onWindow) =>
    mode === 'fixed'
      ? side.fleet.fixedRate({ rate: config.rate, warmupMs, durationMs, onWindow })
      : side.fleet.saturate({ window: config.window, warmupMs, durationMs, onWindow });
  try {
    for (const kind of config.kinds) {
      const { options, note } = serverSetup(kind, mode, config);
      const server = await ServerProcess.start(kind, options, config.profile);
      const fleet = new Fleet(server.url, {
        rooms: config.rooms,
        perRoom: config.perRoom,
        sdpBytes: config.sdpBytes,
      });
      const side = { kind, note, server, fleet, turns: [] };
      sides.push(side);
      side.join = await fleet.join();
      log(`${kind}: ${fleet.clients.length} clients joined in ${side.join.totalMs.toFixed(0)} ms`);
      // An unmeasured turn, so neither server is measured while its code is still cold.
      fleet.startPhase(0);
      await run(side, 1000);
      const expected = mode === 'fixed' ? config.rate * totalS * 1.2 : 200_000 * totalS;
      fleet.startPhase(Math.min(Math.ceil(expected) + 1024, 4_000_000));
    }
    for (let t = 0; t < turns; t++) {
      const durationMs = Math.min(sliceS, totalS - t * sliceS) * 1000;
      for (const side of t % 2 === 0 ? sides : [...sides].reverse()) {
        const { onWindow, out } = usageWindow(side.server);
        const turn = await run(side, durationMs, onWindow);
        const cpu = (out.server.userMs + out.server.systemMs) / out.server.wallMs;
        side.turns.push({
          ...turn,
          serverCpuShare: cpu,
          server: out.server,
          client: out.client,
          othersCores: out.othersCores,
        });
      }
    }
    const results = {};
    for (const side of sides) {
      // Turns during which the rest of the machine stayed (nearly) idle.
      const quiet = side.turns.filter((t) => (t.othersCores ?? 0) < DISTURBED_CORES);
      const quietLatencyMs = { turns: quiet.length, of: side.turns.length, ...side.fleet.latencyOf(quiet) };
      const total = side.fleet.phaseResult();
      const server = sumUsage(side.turns.map((t) => t.server));
      const serverCpuSeconds = (server.userMs + server.systemMs) / 1000;
      const delivered = (total.deliveredPerSec * total.measuredMs) / 1000;
      results[side.kind] = {
        note: side.note,
        join: side.join,
        ...total,
        quietLatencyMs,
        turns: side.turns.map(({ durationMs, deliveredPerSec, sentPerSec, serverCpuShare, othersCores }) => ({
          durationMs,
          sentPerSec,
          deliveredPerSec,
          serverCpuShare,
          othersCores,
        })),
        othersCores: median(side.turns.map((t) => t.othersCores)),
        othersCoresMax: Math.max(0, ...side.turns.map((t) => t.othersCores ?? 0)),
        bestTurnPerSec: Math.max(...side.turns.map((t) => t.deliveredPerSec)),
        medianTurnPerSec: median(side.turns.map((t) => t.deliveredPerSec)),
        usage: { server, client: sumUsage(side.turns.map((t) => t.client)) },
        serverCpuShare: (server.userMs + server.systemMs) / server.wallMs,
        serverCpuUsPerMsg: (serverCpuSeconds * 1e6) / delivered,
        deliveredPerServerCpuSecond: delivered / serverCpuSeconds,
      };
    }
    return results;
  } finally {
    for (const side of sides) {
      await side.fleet.close();
      await side.server.close();
    }
  }
}

// ---- report --------------------------------------------------------------------------------------------

const missing = (v) => v === null || v === undefined || Number.isNaN(v);
const fmtInt = (v) => (missing(v) ? '-' : Math.round(v).toLocaleString('en-US'));
const fmtMs = (v) => (missing(v) ? '-' : v < 10 ? v.toFixed(2) : v.toFixed(1));
const fmtBytes = (v) => (missing(v) ? '-' : `${(v / 1000).toFixed(1)} kB`);
const fmtPct = (v) => (missing(v) ? '-' : `${(v * 100).toFixed(0)}%`);
const fmtCores = (v) => (missing(v) ? '-' : v.toFixed(2));
const fmtRatio = (v) => (missing(v) || !Number.isFinite(v) ? '-' : `${v.toFixed(2)}x`);
function median(xs) {
  const s = xs.filter((x) => !missing(x)).sort((a, b) => a - b);
  if (s.length === 0) return null;
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

function analyse(config, results) {
  const e = results.engage;
  const c = results.ceiling;
  const ratio = (a, b) => (missing(a) || missing(b) || b === 0 ? null : a / b);
  const ratios = {
    fixedDelivered: ratio(e?.fixed?.deliveredPerSec, c?.fixed?.deliveredPerSec),
    p99AtFixedRate: ratio(e?.fixed?.latencyMs.p99, c?.fixed?.latencyMs.p99),
    maxThroughput: ratio(e?.saturation?.deliveredPerSec, c?.saturation?.deliveredPerSec),
    bestTurn: ratio(e?.saturation?.bestTurnPerSec, c?.saturation?.bestTurnPerSec),
    perServerCpuSecond: ratio(
      e?.saturation?.deliveredPerServerCpuSecond,
      c?.saturation?.deliveredPerServerCpuSecond,
    ),
    rssPerIdleConnection: ratio(e?.memory?.rssPerConnection, c?.memory?.rssPerConnection),
  };
  const goals = [];
  if (e?.saturation && c?.saturation) {
    goals.push({
      goal: `engage max throughput >= ${GOALS.throughputRatio}x ceiling (saturation, turns interleaved)`,
      value: `${fmtRatio(ratios.maxThroughput)} (per server CPU-second: ${fmtRatio(ratios.perServerCpuSecond)})`,
      pass: ratios.maxThroughput >= GOALS.throughputRatio,
    });
  }
  if (e?.fixed) {
    const f = e.fixed;
    goals.push({
      goal: `engage p99 relay latency < ${GOALS.p99Ms} ms at ${fmtInt(config.rate)} msgs/s`,
      value: `${fmtMs(f.latencyMs.p99)} ms`,
      pass: !missing(f.latencyMs.p99) && f.latencyMs.p99 < GOALS.p99Ms,
    });
    goals.push({
      goal: 'engage delivers the fixed rate in full (>= 99% of sent, none lost, no errors, no misroutes)',
      value: `${fmtInt(f.deliveredPerSec)} of ${fmtInt(f.sentPerSec)} msgs/s, ${f.lost} lost, ${f.errorCount} errors`,
      pass:
        f.deliveredPerSec >= 0.99 * f.sentPerSec && f.lost === 0 && f.errorCount === 0 && f.misrouted === 0,
    });
  }
  if (e?.memory) {
    goals.push({
      goal: `engage RSS per idle connection < ${fmtBytes(GOALS.bytesPerIdleConnection)}`,
      value: fmtBytes(e.memory.rssPerConnection),
      pass: e.memory.rssPerConnection < GOALS.bytesPerIdleConnection,
    });
  }
  const notes = [];
  const gen = c?.saturation?.usage.client;
  if (gen && gen.elu > 0.95) {
    notes.push(
      `the load generator's event loop was ${fmtPct(gen.elu)} busy during the ceiling's saturation turns: ` +
        'that max may be bounded by the clients, so the ratio may be too kind to engage.',
    );
  }
  if (e?.fixed && c?.fixed && c.fixed.latencyMs.p99 >= GOALS.p99Ms) {
    notes.push(
      `the ceiling, which does almost nothing per message, misses the p99 goal too (${fmtMs(c.fixed.latencyMs.p99)} ms): ` +
        "the tail is this machine's scheduling (see the loop delays and the noise line), not the relay code.",
    );
  }
  for (const phase of ['fixed', 'saturation']) {
    const worst = Math.max(0, ...[e, c].map((r) => r?.[phase]?.othersCoresMax ?? 0));
    if (worst >= DISTURBED_CORES) {
      notes.push(
        `other processes used up to ${fmtCores(worst)} of the ${os.availableParallelism()} cores during the ${phase} ` +
          'phase: its numbers are disturbed; rerun on a quiet machine before trusting a FAIL or a PASS.',
      );
    }
  }
  if (results.noise.maxGapMs >= GOALS.p99Ms / 2) {
    notes.push(
      `this machine stalls runnable processes: a 1 s busy loop saw ${results.noise.stalls} stalls > 1 ms, ` +
        `the longest ${fmtMs(results.noise.maxGapMs)} ms; relay tail latencies include such stalls of either process.`,
    );
  }
  return { ratios, goals, notes };
}

function table(config, results, analysis) {
  const kinds = config.kinds;
  const rows = [];
  const row = (label, fn, ratio) => rows.push([label, ...kinds.map((k) => fn(results[k])), ratio ?? '']);
  const section = (label) => rows.push([label, ...kinds.map(() => ''), '']);
  const delays = (u) => `${fmtMs(u?.loopDelayP99Ms)} / ${fmtMs(u?.loopDelayMaxMs)}`;
  const counts = (x) => `${x.lost} / ${x.errorCount} / ${x.misrouted}`;
  const others = (x) =>
    missing(x.othersCores) ? '-' : `${fmtCores(x.othersCores)} (max ${fmtCores(x.othersCoresMax)})`;
  const { ratios } = analysis;
  if (config.phases.includes('fixed')) {
    const f = (r) => r.fixed;
    section(`join dance: ${config.rooms * config.perRoom} joins, rooms in parallel`);
    row('  total ms', (r) => fmtMs(f(r).join.totalMs));
    row(
      '  per join p50 / p99 ms',
      (r) => `${fmtMs(f(r).join.perJoin.p50)} / ${fmtMs(f(r).join.perJoin.p99)}`,
    );
    section(
      `fixed rate: ${fmtInt(config.rate)} msgs/s offered, ${config.duration} s per server in ${config.slice} s turns`,
    );
    row('  sent msgs/s', (r) => fmtInt(f(r).sentPerSec));
    row('  delivered msgs/s', (r) => fmtInt(f(r).deliveredPerSec), fmtRatio(ratios.fixedDelivered));
    row('  latency p50 ms', (r) => fmtMs(f(r).latencyMs.p50));
    row('  latency p99 ms', (r) => fmtMs(f(r).latencyMs.p99), fmtRatio(ratios.p99AtFixedRate));
    row('  latency p99.9 / max ms', (r) => `${fmtMs(f(r).latencyMs.p999)} / ${fmtMs(f(r).latencyMs.max)}`);
    row('  latency p99 ms, quiet turns only', (r) => {
      const q = f(r).quietLatencyMs;
      return q.samples ? `${fmtMs(q.p99)} (${q.turns} of ${q.of})` : `- (0 of ${q.of})`;
    });
    row('  server CPU (of one core)', (r) => fmtPct(f(r).serverCpuShare));
    row('  server loop delay p99 / max ms', (r) => delays(f(r).usage.server));
    row('  load gen. loop delay p99 / max ms', (r) => delays(f(r).usage.client));
    row('  other load on the machine, cores', (r) => others(f(r)));
    row('  lost / errors / misrouted', (r) => counts(f(r)));
  }
  if (config.phases.includes('saturation')) {
    const s = (r) => r.saturation;
    section(
      `saturation: ${config.window} in flight, ${config.satDuration} s per server in ${config.satSlice} s turns`,
    );
    row(
      '  max delivered msgs/s (all turns)',
      (r) => fmtInt(s(r).deliveredPerSec),
      fmtRatio(ratios.maxThroughput),
    );
    row(
      '  best / median turn msgs/s',
      (r) => `${fmtInt(s(r).bestTurnPerSec)} / ${fmtInt(s(r).medianTurnPerSec)}`,
    );
    row('  server CPU us per msg', (r) => fmtMs(s(r).serverCpuUsPerMsg));
    row(
      '  msgs per server CPU-second',
      (r) => fmtInt(s(r).deliveredPerServerCpuSecond),
      fmtRatio(ratios.perServerCpuSecond),
    );
    row(
      '  server CPU / loop busy',
      (r) => `${fmtPct(s(r).serverCpuShare)} / ${fmtPct(s(r).usage.server.elu)}`,
    );
    row('  load gen. loop busy', (r) => fmtPct(s(r).usage.client.elu));
    row('  other load on the machine, cores', (r) => others(s(r)));
    row('  latency p50 / p99 ms', (r) => `${fmtMs(s(r).latencyMs.p50)} / ${fmtMs(s(r).latencyMs.p99)}`);
    row('  lost / errors / misrouted', (r) => counts(s(r)));
  }
  if (config.phases.includes('memory')) {
    section(`idle connections: ${fmtInt(config.idle)}, named, in rooms of 20`);
    row(
      '  RSS per connection',
      (r) => fmtBytes(r.memory.rssPerConnection),
      fmtRatio(ratios.rssPerIdleConnection),
    );
    row('  V8 heap per connection', (r) => fmtBytes(r.memory.heapPerConnection));
    row('  external per connection', (r) => fmtBytes(r.memory.externalPerConnection));
  }

  const header = [
    '',
    ...kinds.map((k) => (k === 'engage' ? 'engage serve' : 'ceiling relay')),
    kinds.length > 1 ? 'engage/ceiling' : '',
  ];
  const widths = header.map((_, i) => Math.max(...[header, ...rows].map((r) => r[i].length)));
  const line = (r) =>
    r
      .map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i])))
      .join('   ')
      .trimEnd();
  const out = [
    `engage signaling bench: ${config.rooms} rooms x ${config.perRoom} clients = ${config.rooms * config.perRoom} ` +
      `sockets per server, offers carry a ${(config.sdpBytes / 1000).toFixed(1)} kB SDP; node ${process.version}, ` +
      `${os.availableParallelism()} CPUs; each server in its own process, the clients in this one, loopback`,
    `machine noise: a 1 s busy loop saw ${results.noise.stalls} stalls > 1 ms, longest ${fmtMs(results.noise.maxGapMs)} ms`,
  ];
  if (results.engage) {
    out.push(
      'engage serve: every check on (envelope and SDP validation, identity binding, room isolation, size limit, ' +
        'per-socket token bucket, backpressure check, Prometheus metrics)',
    );
    if (results.engage.fixed) out.push(`  fixed rate: ${results.engage.fixed.note}`);
    if (results.engage.saturation) out.push(`  saturation: ${results.engage.saturation.note}`);
  }
  if (results.ceiling) {
    out.push(
      'ceiling relay: minimal ws relay, same routing and receiver_channel_name rewrite, no checks ' +
        '(bench/ceiling-relay.js)',
    );
  }
  out.push('', line(header), widths.map((w) => '-'.repeat(w)).join('   '));
  for (const r of rows) out.push(line(r));
  out.push('', 'goals');
  for (const g of analysis.goals) out.push(`  ${g.pass ? 'PASS' : 'FAIL'}  ${g.goal}: ${g.value}`);
  for (const n of analysis.notes) out.push(`note: ${n}`);
  return out.join('\n');
}

// ---- main ----------------------------------------------------------------------------------------------

/** How often, and how long, this machine stops a runnable process: a busy loop noting gaps > 1 ms. */
function measureNoise(ms = 1000) {
  const end = performance.now() + ms;
  let last = performance.now();
  let stalls = 0;
  let maxGapMs = 0;
  for (let now = last; now < end; now = performance.now()) {
    const gap = now - last;
    if (gap > 1) stalls++;
    if (gap > maxGapMs) maxGapMs = gap;
    last = now;
  }
  return { stalls, maxGapMs };
}

async function main() {
  let config;
  try {
    config = parseConfig();
  } catch (err) {
    process.stderr.write(`bench: ${err.message}\n${usage()}\n`);
    process.exit(2);
  }
  const { kinds } = config;
  const has = (phase) => config.phases.includes(phase);
  // A bound on the whole run, in case something hangs despite every per-step timeout.
  const turns = (total, slice) => Math.ceil(total / Math.min(slice, total));
  const budgetS =
    60 +
    kinds.length *
      (30 +
        config.duration +
        config.satDuration +
        (turns(config.duration, config.slice) + turns(config.satDuration, config.satSlice)) *
          (config.warmup + 4)) +
    (has('cluster')
      ? 3 *
        (40 +
          config.clusterDuration +
          config.clusterSatDuration +
          (turns(config.clusterDuration, config.slice) + turns(config.clusterSatDuration, config.satSlice)) *
            (config.warmup + 4))
      : 0);
  const watchdog = setTimeout(() => {
    log(`gave up after ${budgetS} s`);
    killChildren();
    process.exit(1);
  }, budgetS * 1000);
  watchdog.unref();

  const started = performance.now();
  const results = { noise: measureNoise() };
  for (const kind of kinds) results[kind] = {};
  if (has('memory')) {
    for (const kind of kinds) {
      log(`${kind}: idle memory, ${config.idle} connections`);
      results[kind].memory = await memoryPhase(kind, config);
    }
  }
  if (has('fixed')) {
    log(`fixed rate: ${config.rate} msgs/s, ${config.duration} s per server in ${config.slice} s turns`);
    const r = await loadPhase('fixed', config);
    for (const kind of kinds) results[kind].fixed = r[kind];
  }
  if (has('saturation')) {
    log(
      `saturation: ${config.window} in flight, ${config.satDuration} s per server in ${config.satSlice} s turns`,
    );
    const r = await loadPhase('saturation', config);
    for (const kind of kinds) results[kind].saturation = r[kind];
  }
  if (has('cluster')) results.cluster = await clusterPhase(config, log);
  const analysis = analyse(config, results);
  const runtimeS = (performance.now() - started) / 1000;
  log(`done in ${runtimeS.toFixed(1)} s`);
  if (config.json) {
    const { json: _json, ...cfg } = config;
    const doc = { config: cfg, goals: GOALS, node: process.version, runtimeS, results, ...analysis };
    process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
  } else {
    const others = config.phases.some((p) => p !== 'cluster');
    if (others) process.stdout.write(`${table(config, results, analysis)}\n`);
    if (results.cluster)
      process.stdout.write(`${others ? '\n' : ''}${clusterTable(config, results.cluster)}\n`);
  }
  clearTimeout(watchdog);
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`bench failed: ${err?.stack ?? err}\n`);
    killChildren();
    process.exit(1);
  },
);
