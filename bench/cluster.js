/**
 * The cluster phase of bench/signaling.js: the same load against one in-memory engage instance, one
 * instance on Redis, and two instances on Redis (each room's members spread over both), in one run, with
 * the turns interleaved (A B C, C B A, ...) so the noise of a shared machine falls on all three alike.
 * Two loads: a fixed rate (open loop: delivered msgs/s, relay latency) and saturation (closed loop, a
 * bounded window in flight: the most each setup delivers). For the Redis setups it reads INFO before and
 * after each measured window: Redis CPU, commands (top level, and by name including those run inside
 * scripts) and network bytes, per relayed message.
 */
import { performance } from 'node:perf_hooks';
import { Fleet } from './load.js';
import { RedisProcess, redisDelta } from './redis-process.js';
import { ServerProcess } from './server-process.js';

export const SETUPS = [
  { name: 'memory', label: 'in-memory, 1 instance', instances: 0 },
  { name: 'redis1', label: 'Redis, 1 instance', instances: 1 },
  { name: 'redis2', label: 'Redis, 2 instances', instances: 2 },
];

/** High enough never to refuse; the token bucket is still taken on every frame. */
const UNLIMITED_RATE = 1e9;

/** Busy CPU seconds of the whole machine (Linux /proc/stat); null elsewhere. */
async function machineBusyS() {
  try {
    const { readFile } = await import('node:fs/promises');
    const [, ...fields] = (await readFile('/proc/stat', 'utf8')).split('\n', 1)[0].trim().split(/\s+/);
    const [user, nice, system, , , irq = 0, softirq = 0, steal = 0] = fields.map(Number);
    return (user + nice + system + irq + softirq + steal) / 100;
  } catch {
    return null;
  }
}

async function startSide(setup, redis, config, log) {
  const servers = [];
  const count = Math.max(1, setup.instances);
  for (let i = 0; i < count; i++) {
    const options = {
      rate: UNLIMITED_RATE,
      ...(setup.instances > 0 ? { redis: { url: redis.url, instanceId: `bench-${setup.name}-${i}` } } : {}),
    };
    servers.push(await ServerProcess.start('engage', options));
  }
  const fleet = new Fleet(
    servers.map((s) => s.url),
    { rooms: config.clusterRooms, perRoom: config.clusterPerRoom, sdpBytes: config.sdpBytes },
  );
  const side = { setup, servers, fleet, turns: { fixed: [], saturation: [] } };
  side.join = await fleet.join();
  log(`cluster ${setup.name}: ${fleet.clients.length} clients joined in ${side.join.totalMs.toFixed(0)} ms`);
  return side;
}

/**
 * Marks every process of the side (and Redis) at the start of the measured window and reads them at its
 * end: the servers' CPU summed, Redis's counters, and what the rest of the machine used meanwhile.
 */
function windowOf(side, redis) {
  const out = {};
  // Every reading at once, so they bracket (nearly) the same interval.
  const mark = async () => {
    out.at = performance.now();
    out.client = process.cpuUsage();
    const [info, busyS] = await Promise.all([
      redis.info(),
      machineBusyS(),
      ...side.servers.map((s) => s.request('mark')),
    ]);
    out.redis = info;
    out.busyS = busyS;
  };
  const onWindow = async (edge) => {
    if (edge === 'start' || !out.marked) out.marked = mark();
    if (edge === 'start') return;
    await out.marked;
    const [redisNow, busyS, ...usage] = await Promise.all([
      redis.info(),
      machineBusyS(),
      ...side.servers.map((s) => s.request('usage')),
    ]);
    const client = process.cpuUsage(out.client);
    const wallS = (performance.now() - out.at) / 1000;
    const serversS = usage.reduce((a, u) => a + (u.userMs + u.systemMs) / 1000, 0);
    const redisUse = redisDelta(out.redis, redisNow);
    out.result = {
      wallS,
      serversCpuS: serversS,
      clientCpuS: (client.user + client.system) / 1e6,
      redis: redisUse,
      othersCores:
        busyS === null || out.busyS === null
          ? null
          : Math.max(
              0,
              (busyS - out.busyS - serversS - (client.user + client.system) / 1e6 - redisUse.cpuS) / wallS,
            ),
    };
  };
  return { onWindow, out };
}

function run(side, mode, config, durationMs, onWindow) {
  const warmupMs = config.warmup * 1000;
  return mode === 'fixed'
    ? side.fleet.fixedRate({ rate: config.clusterRate, warmupMs, durationMs, onWindow })
    : side.fleet.saturate({ window: config.window, warmupMs, durationMs, onWindow });
}

const sum = (xs, f) => xs.reduce((a, x) => a + f(x), 0);

function sideResult(side, mode) {
  const turns = side.turns[mode];
  const total = side.fleet.phaseResult();
  const delivered = (total.deliveredPerSec * total.measuredMs) / 1000;
  const wallS = sum(turns, (t) => t.wallS);
  const serversCpuS = sum(turns, (t) => t.serversCpuS);
  const result = {
    ...total,
    bestTurnPerSec: Math.max(...turns.map((t) => t.deliveredPerSec)),
    serversCpuCores: serversCpuS / wallS,
    serversCpuUsPerMsg: (serversCpuS * 1e6) / delivered,
    clientCpuCores: sum(turns, (t) => t.clientCpuS) / wallS,
    othersCoresMax: Math.max(0, ...turns.map((t) => t.othersCores ?? 0)),
  };
  if (side.setup.instances > 0) {
    const calls = {};
    for (const t of turns) for (const [k, n] of Object.entries(t.redis.calls)) calls[k] = (calls[k] ?? 0) + n;
    const redisCpuS = sum(turns, (t) => t.redis.cpuS);
    // Each relayed offer is one EVALSHA of the send script: counted by the same INFO readings as the CPU
    // and the bytes, it divides them exactly (the few heartbeat scripts a second are in it too).
    const relays = calls.evalsha ?? 0;
    const perMsg = (n) => n / relays;
    result.redis = {
      relays,
      cpuCores: redisCpuS / wallS,
      cpuUsPerMsg: (redisCpuS * 1e6) / relays,
      commandsPerMsg: perMsg(sum(turns, (t) => t.redis.commands)),
      callsPerMsg: Object.fromEntries(
        Object.entries(calls)
          .sort(([, a], [, b]) => b - a)
          .map(([k, n]) => [k, perMsg(n)]),
      ),
      netInBytesPerMsg: perMsg(sum(turns, (t) => t.redis.netInBytes)),
      netOutBytesPerMsg: perMsg(sum(turns, (t) => t.redis.netOutBytes)),
    };
  }
  return result;
}

/** Runs the whole cluster phase; every process it starts is closed on the way out. */
export async function clusterPhase(config, log) {
  const redis = await RedisProcess.start();
  const sides = [];
  try {
    for (const setup of SETUPS) sides.push(await startSide(setup, redis, config, log));
    const results = { redisVersion: redis.version, setups: {} };
    for (const side of sides) results.setups[side.setup.name] = { join: side.join };
    for (const mode of ['fixed', 'saturation']) {
      const totalS = mode === 'fixed' ? config.clusterDuration : config.clusterSatDuration;
      // Saturation turns of at least 1 s: the readings at a turn's edges take a few ms on a busy machine.
      const sliceS = Math.min(mode === 'fixed' ? config.slice : Math.max(1, config.satSlice), totalS);
      const turns = Math.ceil(totalS / sliceS);
      log(
        `cluster ${mode}: ${mode === 'fixed' ? `${config.clusterRate} msgs/s` : `${config.window} in flight`}, ` +
          `${totalS} s per setup in ${sliceS} s turns`,
      );
      for (const side of sides) {
        // An unmeasured turn, so no setup is measured while its code is still cold.
        side.fleet.startPhase(0);
        await run(side, mode, config, 1000);
        const expected = mode === 'fixed' ? config.clusterRate * totalS * 1.2 : 100_000 * totalS;
        side.fleet.startPhase(Math.min(Math.ceil(expected) + 1024, 4_000_000));
      }
      for (let t = 0; t < turns; t++) {
        const durationMs = Math.min(sliceS, totalS - t * sliceS) * 1000;
        for (const side of t % 2 === 0 ? sides : [...sides].reverse()) {
          const { onWindow, out } = windowOf(side, redis);
          const turn = await run(side, mode, config, durationMs, onWindow);
          side.turns[mode].push({ ...turn, ...out.result });
        }
      }
      for (const side of sides) results.setups[side.setup.name][mode] = sideResult(side, mode);
    }
    return results;
  } finally {
    for (const side of sides) {
      await side.fleet.close();
      for (const s of side.servers) await s.close();
    }
    await redis.stop();
  }
}

// ---- report --------------------------------------------------------------------------------------------

const missing = (v) => v === null || v === undefined || Number.isNaN(v);
const fmtInt = (v) => (missing(v) ? '-' : Math.round(v).toLocaleString('en-US'));
const fmtMs = (v) => (missing(v) ? '-' : v < 10 ? v.toFixed(2) : v.toFixed(1));
const fmt1 = (v) => (missing(v) ? '-' : v.toFixed(1));
const fmt2 = (v) => (missing(v) ? '-' : v.toFixed(2));
const ratio = (a, b) => (missing(a) || missing(b) || b === 0 ? '-' : `${(a / b).toFixed(2)}x`);

/** The cluster phase as a table: one column per setup, ratios to in-memory in the cells. */
export function clusterTable(config, results) {
  const s = results.setups;
  const names = SETUPS.map((x) => x.name);
  const rows = [];
  const row = (label, f, withRatio) =>
    rows.push([
      label,
      ...names.map((n, i) => {
        const v = f(s[n]);
        const shown = typeof v === 'number' ? fmtInt(v) : v;
        return withRatio && i > 0 ? `${shown} (${ratio(withRatio(s[n]), withRatio(s.memory))})` : shown;
      }),
    ]);
  const section = (label) => rows.push([label, ...names.map(() => '')]);
  const counts = (x) => `${x.lost} / ${x.errorCount} / ${x.misrouted}`;
  section(`fixed rate: ${fmtInt(config.clusterRate)} msgs/s offered, ${config.clusterDuration} s per setup`);
  row(
    '  delivered msgs/s',
    (x) => x.fixed.deliveredPerSec,
    (x) => x.fixed.deliveredPerSec,
  );
  row(
    '  relay latency p50 ms',
    (x) => fmtMs(x.fixed.latencyMs.p50),
    (x) => x.fixed.latencyMs.p50,
  );
  row(
    '  relay latency p99 ms',
    (x) => fmtMs(x.fixed.latencyMs.p99),
    (x) => x.fixed.latencyMs.p99,
  );
  row(
    '  servers CPU us per msg',
    (x) => fmt1(x.fixed.serversCpuUsPerMsg),
    (x) => x.fixed.serversCpuUsPerMsg,
  );
  row('  Redis CPU us per msg', (x) => (x.fixed.redis ? fmt1(x.fixed.redis.cpuUsPerMsg) : '-'));
  row('  other load on the machine, cores (max)', (x) => fmt2(x.fixed.othersCoresMax));
  row('  lost / errors / misrouted', (x) => counts(x.fixed));
  section(`saturation: ${config.window} in flight, ${config.clusterSatDuration} s per setup`);
  row(
    '  delivered msgs/s',
    (x) => x.saturation.deliveredPerSec,
    (x) => x.saturation.deliveredPerSec,
  );
  row('  best turn msgs/s', (x) => x.saturation.bestTurnPerSec);
  row(
    '  relay latency p50 / p99 ms',
    (x) => `${fmtMs(x.saturation.latencyMs.p50)} / ${fmtMs(x.saturation.latencyMs.p99)}`,
  );
  row('  servers CPU, cores (all instances)', (x) => fmt2(x.saturation.serversCpuCores));
  row(
    '  servers CPU us per msg',
    (x) => fmt1(x.saturation.serversCpuUsPerMsg),
    (x) => x.saturation.serversCpuUsPerMsg,
  );
  row('  Redis CPU, cores', (x) => (x.saturation.redis ? fmt2(x.saturation.redis.cpuCores) : '-'));
  row('  load generator CPU, cores', (x) => fmt2(x.saturation.clientCpuCores));
  row('  Redis CPU us per msg', (x) => (x.saturation.redis ? fmt1(x.saturation.redis.cpuUsPerMsg) : '-'));
  row('  other load on the machine, cores (max)', (x) => fmt2(x.saturation.othersCoresMax));
  row('  lost / errors / misrouted', (x) => counts(x.saturation));

  const header = ['', ...SETUPS.map((x) => x.label)];
  const widths = header.map((_, i) => Math.max(...[header, ...rows].map((r) => r[i].length)));
  const line = (r) =>
    r
      .map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i])))
      .join('   ')
      .trimEnd();
  const out = [
    `cluster: ${config.clusterRooms} rooms x ${config.clusterPerRoom} clients, offers with a ${(config.sdpBytes / 1000).toFixed(1)} kB SDP; ` +
      `redis-server ${results.redisVersion} on loopback; with 2 instances member m of room r is on instance (r + m) mod 2; ` +
      '(ratio) = to in-memory',
    '',
    line(header),
    widths.map((w) => '-'.repeat(w)).join('   '),
    ...rows.map(line),
  ];
  for (const name of ['redis1', 'redis2']) {
    const r = s[name].saturation.redis;
    if (!r) continue;
    const calls = Object.entries(r.callsPerMsg)
      .filter(([, n]) => n >= 0.05)
      .map(([k, n]) => `${k} ${fmt2(n)}`)
      .join(', ');
    out.push(
      `Redis per relayed message (${SETUPS.find((x) => x.name === name).label}, saturation, per EVALSHA): ` +
        `${fmt1(r.cpuUsPerMsg)} us CPU, ${fmt2(r.commandsPerMsg)} commands (those inside scripts included), ` +
        `${fmtInt(r.netInBytesPerMsg)} B in / ${fmtInt(r.netOutBytesPerMsg)} B out; by command: ${calls}`,
    );
  }
  for (const mode of ['fixed', 'saturation']) {
    for (const x of SETUPS) {
      const errors = Object.entries(s[x.name][mode].errors);
      if (errors.length === 0) continue;
      out.push(
        `errors (${x.label}, ${mode}): ${errors.map(([code, n]) => `${code} ${n}`).join(', ')}: ` +
          'refused to the sender with that code, never delivered (the bench counts each refusal and each delivery)',
      );
    }
  }
  const others = Math.max(
    ...names.flatMap((n) => [s[n].fixed.othersCoresMax, s[n].saturation.othersCoresMax]),
  );
  if (others >= 0.25) {
    out.push(
      `note: other processes used up to ${fmt2(others)} cores during the cluster turns: every setup shared the ` +
        'machine with them, and the Redis setups need three processes (instance, Redis, instance) scheduled per ' +
        'message; trust the per-message costs and the counts more than the msgs/s and the latency tails.',
    );
  }
  out.push(
    'note: every process here shares the same cores: two instances cannot beat one on this machine; the ' +
      "ratios are costs, not a cluster's capacity (docs/cluster-sizing.md).",
  );
  return out.join('\n');
}
