/**
 * bench/bots: K bots in one mesh room, all in one process (K = 8, 16, 24), for each media profile.
 *
 *   npm run bench:bots [-- --k 8,16,24 --profiles builtin-light,none --window 8 --json --help]
 *
 * Each (profile, K) runs in a fresh child process (bench/bots-child.js) holding the signaling server and
 * the K bots, so CPU and RSS are that configuration's alone. Loopback only. Per configuration it prints the
 * time from the first join to a full mesh, CPU (% of one core) and RSS in total and per bot, the delivered
 * video fps per directed flow (min/avg/max over the K*(K-1) receiver<-sender flows) and the event-loop lag
 * p99 over a steady window. Then the ratios against baselines measured in the same run:
 *   - scaling: per-bot CPU, RSS and setup time at K over K=2 of the same profile;
 *   - media cost: CPU and RSS of a media profile over 'none' (signaling + data channel only) at the same K;
 *   - light profile: 'builtin-light' over 'builtin' at the same K (what the load-test profile saves);
 *   - a linear projection of 20 bots (190 connections) in one process, against 2 cores;
 *   - per packet: CPU microseconds per RTP packet through the mesh (sent by one bot and received by
 *     another, both in the process) against a FLOOR measured in the same run at the same K
 *     (bench/bots-floor.js: the same feeds, only SRTP protect/unprotect with Node's crypto and a UDP send and
 *     receive on loopback per packet), and the ratio of the two.
 * Every child has a timeout and is killed when it passes it; configurations that would overrun the total
 * budget are skipped (and said so). Exit code 0 when the bench ran (failed configurations are reported);
 * 1 only when it could not run.
 */
import { fork } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { numberFlag, table } from './shared.js';

const CHILD = fileURLToPath(new URL('./bots-child.js', import.meta.url));
const FLOOR_CHILD = fileURLToPath(new URL('./bots-floor.js', import.meta.url));
const PROFILES = ['builtin', 'builtin-light', 'none'];
const FLOOR_CIPHERS = ['gcm', 'cm'];
/** Issue 4: about 20 bots in one process on a 2-core machine. */
const TARGET = { bots: 20, cores: 2 };
/** Other processes' CPU (% of one core) in a window above which its numbers are flagged as contaminated. */
const NOISY_NEIGHBOUR_PCT = 15;

const FLAGS = {
  window: { default: 8, min: 1, max: 120, help: 'measured steady seconds per configuration' },
  settle: { default: 2, min: 0, max: 60, help: 'seconds after the full mesh before measuring' },
  stagger: { default: 0, min: 0, max: 5000, help: 'ms between joins (0: all bots join at once)' },
  timeout: { default: 120, min: 5, max: 600, help: 'seconds per configuration before its child is killed' },
  budget: {
    default: 600,
    min: 10,
    max: 3600,
    help: 'total seconds; configurations that would overrun are skipped',
  },
  top: {
    default: 12,
    min: 1,
    max: 100,
    help: 'with --cpu-prof: self-time functions listed per configuration',
  },
};

function usage() {
  const opt = (flag, help) => `  ${flag}`.padEnd(24) + help;
  return [
    'usage: node bench/bots.js [options]',
    opt('--k <list>', 'bots per room, comma-separated (default 8,16,24)'),
    opt(
      '--profiles <list>',
      `media profiles, comma-separated subset of ${PROFILES.join(',')} (default: builtin-light, the load test's)`,
    ),
    opt(
      '--floor-cipher <list>',
      `SRTP of the floor, subset of ${FLOOR_CIPHERS.join(',')} (default gcm: what werift peers negotiate)`,
    ),
    opt('--no-floor', 'skip the floor runs'),
    ...Object.entries(FLAGS).map(([name, f]) => opt(`--${name} <n>`, `${f.help} (default ${f.default})`)),
    opt(
      '--cpu-prof <dir>',
      'sample the steady window with the V8 profiler; write profiles to <dir> and list',
    ),
    opt('', 'the top self-time functions (the profiler costs CPU: read ratios from a run without it)'),
    opt('--alloc-prof <dir>', 'sample what the steady window allocates (collected objects included: what'),
    opt('', 'feeds the GC); write .heapprofile files to <dir> and list the top allocation sites'),
    opt('--json', 'print the results as JSON on stdout (progress stays on stderr)'),
    opt('--help', 'print this help'),
  ].join('\n');
}

function parseConfig() {
  const options = {
    json: { type: 'boolean' },
    help: { type: 'boolean' },
    k: { type: 'string' },
    profiles: { type: 'string' },
    'floor-cipher': { type: 'string' },
    'no-floor': { type: 'boolean' },
    'cpu-prof': { type: 'string' },
    'alloc-prof': { type: 'string' },
  };
  for (const name of Object.keys(FLAGS)) options[name] = { type: 'string' };
  const { values } = parseArgs({ options, allowPositionals: false });
  if (values.help) {
    process.stdout.write(`${usage()}\n`);
    process.exit(0);
  }
  const ks = (values.k ?? '8,16,24').split(',').filter(Boolean).map(Number);
  for (const k of ks) {
    if (!Number.isInteger(k) || k < 2 || k > 50)
      throw new Error(`--k: each K must be an integer in 2..50, got ${k}`);
  }
  const profiles = (values.profiles ?? 'builtin-light').split(',').filter(Boolean);
  for (const p of profiles) if (!PROFILES.includes(p)) throw new Error(`--profiles: unknown profile ${p}`);
  const floorCiphers = values['no-floor'] ? [] : (values['floor-cipher'] ?? 'gcm').split(',').filter(Boolean);
  for (const c of floorCiphers)
    if (!FLOOR_CIPHERS.includes(c)) throw new Error(`--floor-cipher: unknown ${c}`);
  const config = {
    json: Boolean(values.json),
    ks: [...new Set(ks)].sort((a, b) => a - b),
    profiles: [...new Set(profiles)],
    floorCiphers: [...new Set(floorCiphers)],
    cpuProfileDir: values['cpu-prof'] ? path.resolve(values['cpu-prof']) : undefined,
    allocProfileDir: values['alloc-prof'] ? path.resolve(values['alloc-prof']) : undefined,
  };
  for (const [name, f] of Object.entries(FLAGS)) config[name] = numberFlag(name, f, values[name]);
  return config;
}

const log = (msg) => process.stderr.write(`[bench:bots] ${msg}\n`);

// ---- one configuration in a child process -----------------------------------------------------------------

const children = new Set();

/** A floor run: the same feeds and K, nothing but SRTP and UDP (bench/bots-floor.js). */
function runFloor(config, profile, k, cipher) {
  const childCfg = { profile, k, cipher, windowS: config.window, settleS: config.settle };
  return runChild(FLOOR_CHILD, childCfg, config.timeout, `floor ${cipher} ${profile} K=${k}`);
}

function runConfig(config, profile, k) {
  const childCfg = {
    profile,
    k,
    windowS: config.window,
    settleS: config.settle,
    staggerMs: config.stagger,
    // The mesh must be up with time left for the window and the close inside the child's timeout.
    setupTimeoutMs: Math.max(5000, (config.timeout - config.window - config.settle - 10) * 1000),
    cpuProfileDir: config.cpuProfileDir ?? null,
    cpuProfileTop: config.top,
    allocProfileDir: config.allocProfileDir ?? null,
  };
  return runChild(CHILD, childCfg, config.timeout, `${profile} K=${k}`);
}

function runChild(file, childCfg, timeoutS, label) {
  return new Promise((resolve) => {
    const child = fork(file, [JSON.stringify(childCfg)], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    children.add(child);
    let outcome;
    const timer = setTimeout(() => {
      outcome ??= { error: `timed out after ${timeoutS} s; child killed` };
      child.kill('SIGKILL');
    }, timeoutS * 1000);
    child.on('message', (m) => {
      if (m.type === 'progress') log(`  ${label}: ${m.text}`);
      else if (m.type === 'result') outcome ??= { result: m.result };
      else if (m.type === 'error') outcome ??= { error: m.message };
    });
    child.on('error', (err) => {
      outcome ??= { error: `child: ${err.message}` };
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      children.delete(child);
      resolve(outcome ?? { error: `child exited (${code ?? signal}) without a result` });
    });
  });
}

function killChildren() {
  for (const c of children) c.kill('SIGKILL');
}
process.on('SIGINT', () => {
  killChildren();
  process.exit(130);
});
process.on('exit', killChildren);

// ---- derived numbers ------------------------------------------------------------------------------------

const MB = 1024 * 1024;

/**
 * CPU microseconds per RTP packet through the mesh: one packet sent by one bot and received by another,
 * both in the measured process (so it holds the sender's and the receiver's cost together).
 */
const usPerPacket = (r) => (r.packetsReceived > 0 ? r.cpuUs / r.packetsReceived : Number.NaN);

/** Per (profile, K): engage's cost per packet against the floor of the same profile and K, per cipher. */
function perPacket(results, floors) {
  const rows = [];
  for (const r of results) {
    if (!(r.packetsReceived > 0)) continue;
    const mine = floors.filter((f) => f.profile === r.profile && f.k === r.k);
    for (const floor of mine.length > 0 ? mine : [undefined]) {
      rows.push({
        profile: r.profile,
        k: r.k,
        packetsPerS: r.packetsReceived / r.windowS,
        sentPerS: r.packetsSent / r.windowS,
        cpuPct: r.cpuPct,
        usPerPacket: usPerPacket(r),
        floorCipher: floor?.cipher,
        floorPacketsPerS: floor ? floor.packetsReceived / floor.windowS : undefined,
        floorCpuPct: floor?.cpuPct,
        floorUsPerPacket: floor ? usPerPacket(floor) : undefined,
        ratio: floor ? usPerPacket(r) / usPerPacket(floor) : undefined,
        srtp: Object.keys(r.srtpProfiles ?? {}).join(','),
      });
    }
  }
  return rows;
}
const connections = (k) => (k * (k - 1)) / 2;

function derive(r) {
  const video = r.sources.find((s) => s.kind === 'video');
  const sentFps = video ? video.framesSent / r.windowS : 0;
  return {
    ...r,
    connections: connections(r.k),
    cpuPerBot: r.cpuPct / r.k,
    rssPerBotBytes: (r.rssBytes - r.baseRssBytes) / r.k,
    sentFps,
    deliveredRatio: sentFps > 0 ? r.fps.avg / sentFps : undefined,
  };
}

function ratios(results, config) {
  const find = (profile, k) => results.find((r) => r.profile === profile && r.k === k);
  const out = { scaling: [], media: [], light: [], projection: [] };
  const kBase = config.ks[0];
  for (const profile of config.profiles) {
    const base = find(profile, kBase);
    if (!base) continue;
    for (const k of config.ks) {
      const r = find(profile, k);
      if (!r || k === kBase) continue;
      out.scaling.push({
        profile,
        k,
        baseK: kBase,
        cpuPerBot: r.cpuPerBot / base.cpuPerBot,
        // A mesh bot has K-1 links: per-bot cost linear in links grows by (K-1)/(baseK-1).
        linksPerBot: (k - 1) / (kBase - 1),
        rssPerBot: r.rssPerBotBytes / base.rssPerBotBytes,
        setup: r.setupMs / base.setupMs,
      });
    }
  }
  for (const k of config.ks) {
    const none = find('none', k);
    const full = find('builtin', k);
    for (const profile of ['builtin', 'builtin-light']) {
      const r = find(profile, k);
      if (!r || !none) continue;
      out.media.push({
        profile,
        k,
        cpu: r.cpuPct / none.cpuPct,
        rss: r.rssBytes / none.rssBytes,
        mediaCpuPerFlow: (r.cpuPct - none.cpuPct) / (k * (k - 1)),
      });
    }
    const light = find('builtin-light', k);
    if (full && light) {
      out.light.push({
        k,
        cpu: light.cpuPct / full.cpuPct,
        rss: light.rssBytes / full.rssBytes,
        mediaCpu: none ? (light.cpuPct - none.cpuPct) / (full.cpuPct - none.cpuPct) : undefined,
        setup: light.setupMs / full.setupMs,
      });
    }
  }
  // Linear projection in connections: the line through the two largest K measured (so fixed costs, the
  // server and the clip readers, stay fixed), or proportional to connections when only one K ran.
  const [kPrev, kMax] = config.ks.length > 1 ? config.ks.slice(-2) : [undefined, config.ks[0]];
  for (const profile of config.profiles) {
    const r = find(profile, kMax);
    if (!r) continue;
    const p = kPrev === undefined ? undefined : find(profile, kPrev);
    const conns = connections(TARGET.bots);
    const cpuSlope = p ? (r.cpuPct - p.cpuPct) / (r.connections - p.connections) : r.cpuPct / r.connections;
    const rssSlope = p
      ? (r.rssBytes - p.rssBytes) / (r.connections - p.connections)
      : (r.rssBytes - r.baseRssBytes) / r.connections;
    const cpuPct = p ? r.cpuPct + cpuSlope * (conns - r.connections) : cpuSlope * conns;
    out.projection.push({
      profile,
      fromK: p ? `${kPrev},${kMax}` : `${kMax}`,
      bots: TARGET.bots,
      connections: conns,
      cpuPerConnection: cpuSlope,
      rssPerConnectionBytes: rssSlope,
      cpuPct,
      ofCores: cpuPct / (TARGET.cores * 100),
      rssBytes: p ? r.rssBytes + rssSlope * (conns - r.connections) : r.baseRssBytes + rssSlope * conns,
    });
  }
  return out;
}

// ---- printing ---------------------------------------------------------------------------------------------

/** A text table; the columns listed in `left` are aligned left, the others (numbers) right. */

const f0 = (n) => n.toFixed(0);
const f1 = (n) => n.toFixed(1);
const f2 = (n) => (n === undefined || !Number.isFinite(n) ? '-' : n.toFixed(2));
const x2 = (n) => (n === undefined || !Number.isFinite(n) ? '-' : `${n.toFixed(2)}x`);

function printReport(config, results, failures, rat) {
  const out = [];
  out.push(
    `bench:bots  ${os.cpus().length} cores (${os.cpus()[0]?.model.trim()}), node ${process.version}; ` +
      `window ${config.window} s after ${config.settle} s settle; joins ${config.stagger ? `${config.stagger} ms apart` : 'all at once'}; ` +
      `signaling server in the same child process as the bots; load average at start ${config.loadAtStart}`,
  );
  out.push(
    'CPU = % of one core for the whole child (server + K bots, both ends of every link); RSS/bot = (RSS - RSS ' +
      'before the bots joined) / K; fps per directed flow (receiver<-sender); lag = event-loop delay p99 ' +
      'beyond the 5 ms sampling interval; src drop = media the shared clip readers skipped after event-loop stalls; ' +
      'ELU = event-loop utilisation (busy share of wall time; far above CPU % = starved of CPU); others = CPU of ' +
      'every other process on the machine in the window (/proc/stat).',
  );
  out.push('');
  out.push(
    table(
      [
        'profile',
        'K',
        'conns',
        'setup ms',
        'conn p50/max ms',
        'CPU %',
        'CPU/bot',
        'RSS MB',
        'base MB',
        'RSS/bot MB',
        'fps min/avg/max',
        'sent fps',
        'kbps/flow',
        'audio pps',
        'lag p99 ms',
        'src drop ms',
        'ELU %',
        'others CPU %',
        'links ok',
      ],
      results.map((r) => [
        r.profile,
        r.k,
        r.connections,
        f0(r.setupMs),
        `${f0(r.connectMs.p50)}/${f0(r.connectMs.max)}`,
        f1(r.cpuPct),
        f1(r.cpuPerBot),
        f0(r.rssBytes / MB),
        f0(r.baseRssBytes / MB),
        f1(r.rssPerBotBytes / MB),
        `${f1(r.fps.min)}/${f1(r.fps.avg)}/${f1(r.fps.max)}`,
        f1(r.sentFps),
        f0(r.videoKbps.avg),
        f1(r.audioPps.avg),
        f1(r.loopLagMs.p99),
        f0(r.sources.reduce((a, x) => Math.max(a, x.droppedLagMs), 0)),
        f0(r.elu * 100),
        r.otherCpuPct === undefined ? '-' : f0(r.otherCpuPct),
        `${r.stillConnected}/${r.k * (r.k - 1)}`,
      ]),
    ),
  );
  const noisy = results.filter((r) => r.otherCpuPct > NOISY_NEIGHBOUR_PCT);
  if (noisy.length > 0) {
    out.push(
      `WARNING: other processes used more than ${NOISY_NEIGHBOUR_PCT}% of a core during the window of ` +
        `${noisy.map((r) => `${r.profile} K=${r.k}`).join(', ')}: those numbers are contaminated; run again on a quiet machine.`,
    );
  }
  for (const f of failures) out.push(`FAILED ${f.profile} K=${f.k}: ${f.error.split('\n')[0]}`);
  for (const s of config.skipped) out.push(`SKIPPED ${s.profile} K=${s.k}: ${s.why}`);

  if (rat.scaling.length > 0) {
    out.push('', `Scaling vs K=${config.ks[0]} (same profile; a bot's links grow as K-1):`);
    out.push(
      table(
        ['profile', 'K', 'links/bot x', 'CPU/bot x', 'RSS/bot x', 'setup x'],
        rat.scaling.map((s) => [
          s.profile,
          s.k,
          x2(s.linksPerBot),
          x2(s.cpuPerBot),
          x2(s.rssPerBot),
          x2(s.setup),
        ]),
      ),
    );
  }
  if (rat.media.length > 0) {
    out.push('', "Media cost vs 'none' (signaling + data channel only) at the same K:");
    out.push(
      table(
        ['profile', 'K', 'CPU x', 'RSS x', 'media CPU %/flow'],
        rat.media.map((m) => [m.profile, m.k, x2(m.cpu), x2(m.rss), m.mediaCpuPerFlow.toFixed(2)]),
      ),
    );
  }
  if (rat.light.length > 0) {
    out.push('', "'builtin-light' vs 'builtin' at the same K (below 1x = light saves):");
    out.push(
      table(
        ['K', 'CPU x', 'media CPU x', 'RSS x', 'setup x'],
        rat.light.map((l) => [l.k, x2(l.cpu), x2(l.mediaCpu), x2(l.rss), x2(l.setup)]),
      ),
    );
  }
  if (rat.projection.length > 0) {
    out.push(
      '',
      `Linear projection to ${TARGET.bots} bots (${connections(TARGET.bots)} connections) in one process: the line ` +
        `through the two largest K, in connections; budget ${TARGET.cores} cores = ${TARGET.cores * 100}% ` +
        '(one process uses one core for JS: above 0.50x its event loop saturates first):',
    );
    out.push(
      table(
        ['profile', 'from K', 'CPU %/conn', 'MB/conn', 'CPU %', 'of budget', 'RSS MB'],
        rat.projection.map((p) => [
          p.profile,
          p.fromK,
          p.cpuPerConnection.toFixed(2),
          f1(p.rssPerConnectionBytes / MB),
          f0(p.cpuPct),
          x2(p.ofCores),
          f0(p.rssBytes / MB),
        ]),
      ),
    );
  }
  if (rat.perPacket.length > 0) {
    out.push(
      '',
      'Per packet: CPU us per RTP packet through the mesh (sent by one bot, received by another, both in the ' +
        'process; total process CPU in the window / packets received), against the FLOOR at the same K ' +
        '(same feeds: SRTP protect + UDP send + receive + SRTP unprotect per packet, nothing else), ' +
        `measured in this run. Load average ${config.loadAtStart} at start, ${config.loadAtEnd} at the end.`,
    );
    out.push(
      table(
        [
          'profile',
          'K',
          'pkt/s',
          'CPU %',
          'us/pkt',
          'links SRTP',
          'floor',
          'floor pkt/s',
          'floor CPU %',
          'floor us/pkt',
          'ratio',
        ],
        rat.perPacket.map((p) => [
          p.profile,
          p.k,
          f0(p.packetsPerS),
          f1(p.cpuPct),
          f2(p.usPerPacket),
          p.srtp || '-',
          p.floorCipher ?? '-',
          p.floorPacketsPerS === undefined ? '-' : f0(p.floorPacketsPerS),
          p.floorCpuPct === undefined ? '-' : f1(p.floorCpuPct),
          f2(p.floorUsPerPacket),
          x2(p.ratio),
        ]),
      ),
    );
  }
  if (results.length > 0) {
    out.push(
      '',
      'Memory at the end of the window, above the base taken before the bots joined (server and feeds loaded): ' +
        'per bot, and per link (each bot holds K-1 links: one werift peer connection each). RSS splits into the ' +
        "V8 heap in use (JS objects: werift's connections, transceivers, SCTP, stats), external memory " +
        '(Buffers: packets, retransmission history, recorder queues) and the rest (V8 heap reserve, code, ' +
        'native: OpenSSL contexts, sockets, libuv).',
    );
    out.push(
      table(
        [
          'profile',
          'K',
          'links',
          'RSS MB',
          'RSS/bot MB',
          'RSS/link MB',
          'heap/link MB',
          'external/link MB',
          'other/link MB',
          'old space MB',
          'new space MB',
          'code MB',
        ],
        results.map((r) => {
          const links = r.k * (r.k - 1);
          const d = (key) => (r.memory[key] - r.baseMemory[key]) / MB;
          const rss = d('rss');
          const heap = d('heapUsed');
          const external = d('external');
          const spaces = r.memory.heapSpaces;
          return [
            r.profile,
            r.k,
            links,
            f0(r.rssBytes / MB),
            f1(rss / r.k),
            f2(rss / links),
            f2(heap / links),
            f2(external / links),
            f2((rss - heap - external) / links),
            f0((spaces.old_space ?? 0) / MB),
            f0((spaces.new_space ?? 0) / MB),
            f0((spaces.code_space ?? 0) / MB),
          ];
        }),
      ),
    );
  }
  for (const r of results) {
    if (!r.cpuProfile) continue;
    const p = r.cpuProfile;
    out.push(
      '',
      `CPU profile, ${r.profile} K=${r.k}: ${f0(p.busyMs)} ms busy in the window, idle ${f1(p.idlePct)}% (${p.file})`,
    );
    out.push(
      table(
        ['% busy', 'inclusive (overlapping)'],
        p.buckets.map((b) => [f1(b.pctOfBusy), b.name]),
        [1],
      ).replace(/^/gm, '  '),
    );
    out.push(
      table(
        ['% busy', 'self ms', 'top self time'],
        p.top.map((t) => [f1(t.pctOfBusy), f0(t.ms), t.fn]),
        [2],
      ).replace(/^/gm, '  '),
    );
  }
  for (const r of results) {
    if (!r.allocationProfile) continue;
    const a = r.allocationProfile;
    const rate = (bytes) => f1(bytes / a.seconds / MB);
    out.push(
      '',
      `Allocations, ${r.profile} K=${r.k}: ${rate(a.totalBytes)} MB/s sampled in the window (${a.file})`,
    );
    out.push(
      table(
        ['MB/s', '% of bytes', 'allocation site'],
        a.top.map((t) => [rate(t.bytes), f1((100 * t.bytes) / (a.totalBytes || 1)), t.site]),
        [2],
      ).replace(/^/gm, '  '),
    );
  }
  if (config.cpuProfileDir || config.allocProfileDir)
    out.push(
      '',
      'NOTE: profiled run: the V8 profiler inflates CPU; take ratios from a run without --cpu-prof or --alloc-prof.',
    );
  process.stdout.write(`${out.join('\n')}\n`);
}

// ---- main -------------------------------------------------------------------------------------------------

async function main() {
  let config;
  try {
    config = parseConfig();
  } catch (err) {
    log(`${err.message}\n${usage()}`);
    process.exit(2);
  }
  if (config.cpuProfileDir) mkdirSync(config.cpuProfileDir, { recursive: true });
  if (config.allocProfileDir) mkdirSync(config.allocProfileDir, { recursive: true });
  config.skipped = [];
  config.loadAtStart = os.loadavg()[0].toFixed(2);
  const plan = config.ks.flatMap((k) => config.profiles.map((profile) => ({ profile, k })));
  const t0 = performance.now();
  const results = [];
  const failures = [];
  const floors = [];
  for (const { profile, k } of plan) {
    const elapsedS = (performance.now() - t0) / 1000;
    // A rough cost: node start + setup (grows with the handshakes) + settle + window + close.
    const estimateS = 3 + connections(k) * 0.15 + config.settle + config.window;
    if (elapsedS + estimateS > config.budget) {
      config.skipped.push({ profile, k, why: `would overrun the ${config.budget} s budget` });
      log(`skip ${profile} K=${k}: would overrun the ${config.budget} s budget`);
      continue;
    }
    log(`run ${profile} K=${k} (${connections(k)} connections)`);
    const started = performance.now();
    const outcome = await runConfig(config, profile, k);
    const tookS = (performance.now() - started) / 1000;
    if (outcome.result) {
      const r = derive(outcome.result);
      results.push(r);
      log(
        `  ${profile} K=${k}: setup ${f0(r.setupMs)} ms, CPU ${f1(r.cpuPct)}%, RSS ${f0(r.rssBytes / MB)} MB, ` +
          `fps avg ${f1(r.fps.avg)} (${tookS.toFixed(1)} s)`,
      );
    } else {
      failures.push({ profile, k, error: outcome.error });
      log(`  ${profile} K=${k} FAILED: ${outcome.error}`);
    }
    if (profile === 'none') continue;
    for (const cipher of config.floorCiphers) {
      log(`floor ${cipher} ${profile} K=${k}`);
      const floor = await runFloor(config, profile, k, cipher);
      if (floor.result) {
        floors.push({ profile, ...floor.result });
        log(`  floor ${cipher} ${profile} K=${k}: ${f2(usPerPacket(floor.result))} us/packet`);
      } else {
        failures.push({ profile: `floor ${cipher} ${profile}`, k, error: floor.error });
        log(`  floor ${cipher} ${profile} K=${k} FAILED: ${floor.error}`);
      }
    }
  }
  const rat = ratios(results, config);
  rat.perPacket = perPacket(results, floors);
  config.loadAtEnd = os.loadavg()[0].toFixed(2);
  const totalS = (performance.now() - t0) / 1000;
  log(`done in ${totalS.toFixed(0)} s`);
  if (config.json) {
    const { skipped, ...settings } = config;
    process.stdout.write(
      `${JSON.stringify(
        {
          machine: { cores: os.cpus().length, cpu: os.cpus()[0]?.model.trim(), node: process.version },
          settings,
          results,
          floors,
          failures,
          skipped,
          ratios: rat,
          totalS,
        },
        null,
        2,
      )}\n`,
    );
  } else {
    printReport(config, results, failures, rat);
  }
}

main().catch((err) => {
  log(err?.stack ?? String(err));
  process.exitCode = 1;
});
