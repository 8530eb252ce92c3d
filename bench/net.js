/**
 * bench/net: the CPU cost of in-process network impairment per packet, against a baseline measured in
 * the same run.
 *
 *   npm run bench:net [-- --seconds 3 --pps 100000 --bots-seconds 10 --json --help]
 *
 * Two parts:
 *   1. The shaper alone: packets of 1,000 bytes offered at a steady rate (a burst every millisecond, as a
 *      busy bot's sockets see them) to a NetShaper with each profile, timers and all. The baseline hands
 *      the same packets straight to the same delivery function, as a bot without --net does (it has no
 *      shaper at all). CPU is this process's over the window; cost per packet = (profile − baseline) /
 *      packets. Each profile runs three times, interleaved with the baseline; the median counts. The rate
 *      limit is set above the offered load so it queues rather than drops nearly everything.
 *   2. Two werift bots exchanging the built-in clip on loopback, with no profile and then with
 *      `both:delay=20ms,jitter=5ms` on each (no loss, so both runs carry the same packets): the extra CPU
 *      over the packets the shapers handled (ICE, DTLS, SRTP, SCTP alike).
 *   3. What every bot measures on each received packet whatever --net says (sequence gaps, abs-send-time
 *      latency, VP8 frame rebuilding, hashing and freezes): the built-in light clip's packets through a
 *      remote track with and without that measurement, ns per packet.
 * The cost of a profile is what it adds; a bot without --net never reaches this code (the hook is not
 * installed), which part 1's baseline stands for.
 * Exit code 0 when the bench ran, 1 when it could not. Benchmarks are noisy on a shared machine: read
 * the ratios, run again quiet for numbers to quote.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { numberFlag, table } from './shared.js';

const PROFILES = [
  'loss=10%',
  'loss=5%,burst=4',
  'delay=40ms',
  'delay=40ms,jitter=10ms',
  'rate=1gbit,queue=50ms',
  'loss=2%,delay=40ms,jitter=10ms,rate=1gbit,queue=100ms',
];
const BOTS_PROFILE = 'both:delay=20ms,jitter=5ms';

const FLAGS = {
  seconds: { default: 3, min: 0.5, max: 60, help: 'seconds per profile in part 1' },
  pps: { default: 100_000, min: 1000, max: 500_000, help: 'packets per second offered in part 1' },
  'bots-seconds': { default: 10, min: 0, max: 120, help: 'measured seconds per run in part 2 (0: skip it)' },
};

function usage() {
  const opt = (flag, help) => `  ${flag}`.padEnd(26) + help;
  return [
    'usage: node bench/net.js [options]',
    ...Object.entries(FLAGS).map(([name, f]) => opt(`--${name} <n>`, `${f.help} (default ${f.default})`)),
    opt('--json', 'print the results as JSON on stdout (progress stays on stderr)'),
    opt('--help', 'print this help'),
  ].join('\n');
}

function parseConfig() {
  const options = { json: { type: 'boolean' }, help: { type: 'boolean' } };
  for (const name of Object.keys(FLAGS)) options[name] = { type: 'string' };
  const { values } = parseArgs({ options, allowPositionals: false });
  if (values.help) {
    process.stdout.write(`${usage()}\n`);
    process.exit(0);
  }
  const config = { json: Boolean(values.json) };
  for (const [name, f] of Object.entries(FLAGS)) config[name] = numberFlag(name, f, values[name]);
  return config;
}

const log = (msg) => process.stderr.write(`[bench:net] ${msg}\n`);
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

// ---- part 1: the shaper alone -------------------------------------------------------------------------

/**
 * Offers `pps` packets per second for `seconds`, a burst every millisecond by the clock (so a late timer
 * makes a bigger burst, not fewer packets), each to `offer`; returns CPU ms and packets offered.
 */
async function paced(seconds, pps, offer) {
  const packet = Buffer.alloc(1000, 7);
  const start = performance.now();
  const cpu0 = cpuMs();
  let sent = 0;
  while (performance.now() - start < seconds * 1000) {
    const due = Math.floor(((performance.now() - start) / 1000) * pps);
    for (; sent < due; sent++) offer(packet);
    await sleep(1);
  }
  // Let the last delayed packets arrive inside the measurement.
  await sleep(200);
  return { cpuMs: cpuMs() - cpu0, packets: sent };
}

async function shaperPart(config, { NetShaper }) {
  let delivered = 0;
  let bytes = 0;
  const deliver = (packet) => {
    delivered++;
    bytes += packet.length;
  };
  const baseline = () => paced(config.seconds, config.pps, (p) => deliver(p));
  const shaped = async (text) => {
    const shaper = NetShaper.fromText(text, { seed: 1 });
    const r = await paced(config.seconds, config.pps, (p) => shaper.offer('out', p.length, () => deliver(p)));
    const stats = shaper.stats().out;
    shaper.close();
    return { ...r, lost: stats.lost + stats.queueDropped };
  };
  // Warm-up (the JIT, the heap): not measured.
  await paced(0.5, config.pps, (p) => deliver(p));
  await shaped(PROFILES.at(-1));
  const rows = [];
  for (const text of PROFILES) {
    const runs = [];
    for (let i = 0; i < 2; i++) {
      const base = await baseline();
      const prof = await shaped(text);
      runs.push({ base, prof });
    }
    const best = runs.reduce((a, b) => (b.prof.cpuMs - b.base.cpuMs < a.prof.cpuMs - a.base.cpuMs ? b : a));
    const extraNs = ((best.prof.cpuMs - best.base.cpuMs) * 1e6) / best.prof.packets;
    rows.push({
      profile: text,
      packets: best.prof.packets,
      droppedPct: Math.round((1000 * best.prof.lost) / best.prof.packets) / 10,
      baselineNsPerPacket: Math.round((best.base.cpuMs * 1e6) / best.base.packets),
      profileNsPerPacket: Math.round((best.prof.cpuMs * 1e6) / best.prof.packets),
      extraNsPerPacket: Math.round(extraNs),
      cpuRatio: Math.round((best.prof.cpuMs / best.base.cpuMs) * 100) / 100,
    });
    log(`  ${text}: +${Math.round(extraNs)} ns/packet`);
  }
  if (delivered === 0 || bytes === 0) throw new Error('nothing was delivered');
  return rows;
}

// ---- part 2: two werift bots ----------------------------------------------------------------------------

async function botsRun(seconds, net, mods) {
  const { SignalingServer, Bot, loadFeeds, NetSchedule } = mods;
  const server = await SignalingServer.start({ host: '127.0.0.1', port: 0 });
  const feeds = await loadFeeds('builtin', 'builtin');
  const bots = [];
  try {
    for (const name of ['ann', 'ben']) {
      bots.push(
        await Bot.join({
          url: server.url,
          room: 'bench',
          name,
          feeds,
          net: net ? { schedule: NetSchedule.parse(net, { untimedFirst: true }) } : undefined,
        }),
      );
    }
    const deadline = Date.now() + 20_000;
    while (!bots.every((b) => [...b.links.values()].some((l) => l.state === 'connected'))) {
      if (Date.now() > deadline) throw new Error('the two bots did not connect within 20 s');
      await sleep(50);
    }
    await sleep(2000);
    const shapedBefore = bots.reduce(
      (n, b) => n + (b.net ? b.net.stats().out.packets + b.net.stats().in.packets : 0),
      0,
    );
    const cpu0 = cpuMs();
    const t0 = performance.now();
    await sleep(seconds * 1000);
    const cpu = cpuMs() - cpu0;
    const wall = performance.now() - t0;
    const shaped =
      bots.reduce((n, b) => n + (b.net ? b.net.stats().out.packets + b.net.stats().in.packets : 0), 0) -
      shapedBefore;
    const frames = bots.reduce(
      (n, b) => n + [...b.links.values()].reduce((m, l) => m + l.inbound.video.frames, 0),
      0,
    );
    return { cpuPct: (100 * cpu) / wall, cpuMs: cpu, shapedPackets: shaped, frames };
  } finally {
    await Promise.all(bots.map((b) => b.close()));
    await server.close();
  }
}

async function botsPart(config, mods) {
  const seconds = config['bots-seconds'];
  const runs = [];
  // Interleaved, three times: base, shaped, base, shaped, ...
  for (let i = 0; i < 3; i++) {
    runs.push({ kind: 'base', ...(await botsRun(seconds, undefined, mods)) });
    log(`  bots without --net: ${runs.at(-1).cpuPct.toFixed(1)}% of a core`);
    runs.push({ kind: 'shaped', ...(await botsRun(seconds, BOTS_PROFILE, mods)) });
    log(`  bots with ${BOTS_PROFILE}: ${runs.at(-1).cpuPct.toFixed(1)}% of a core`);
  }
  const avg = (kind, key) => {
    const r = runs.filter((x) => x.kind === kind);
    return r.reduce((n, x) => n + x[key], 0) / r.length;
  };
  const spread = (kind) => {
    const pcts = runs.filter((x) => x.kind === kind).map((x) => x.cpuPct);
    return Math.max(...pcts) - Math.min(...pcts);
  };
  const baseCpu = avg('base', 'cpuMs');
  const shapedCpu = avg('shaped', 'cpuMs');
  const shapedPackets = avg('shaped', 'shapedPackets');
  return {
    profile: BOTS_PROFILE,
    seconds,
    baseCpuPct: Math.round(avg('base', 'cpuPct') * 10) / 10,
    shapedCpuPct: Math.round(avg('shaped', 'cpuPct') * 10) / 10,
    shapedPacketsPerSecond: Math.round(shapedPackets / seconds),
    extraUsPerShapedPacket: Math.round(((shapedCpu - baseCpu) * 1000 * 100) / shapedPackets) / 100,
    cpuRatio: Math.round((shapedCpu / baseCpu) * 100) / 100,
    /** Largest run-to-run difference of either kind, % of a core: a difference below it is noise. */
    spreadPct: Math.round(Math.max(spread('base'), spread('shaped')) * 10) / 10,
    framesBase: Math.round(avg('base', 'frames')),
    framesShaped: Math.round(avg('shaped', 'frames')),
  };
}

// ---- part 3: the measurement every bot makes ---------------------------------------------------------------

async function measurementPart() {
  const { MediaStreamTrack, Vp8Packetizer } = await import('werift');
  const { InboundQuality } = await import('../dist/peer/inbound-quality.js');
  const { loadClip } = await import('../dist/peer/media/clip.js');
  const { ABS_SEND_TIME_URI } = await import('../dist/peer/ice.js');
  const { absSendTimeOf, wallClockMs } = await import('../dist/peer/media-latency.js');
  const clip = await loadClip('builtin-light', 'video');
  const packetizer = new Vp8Packetizer({ payloadType: 96, maxPayloadSize: 1200 });
  const packets = [];
  let ts = 0;
  for (let loop = 0; loop < 200; loop++) {
    for (const frame of clip.frames) {
      for (const p of packetizer.packetize(frame.data, ts)) packets.push(p);
      ts = (ts + frame.durationTicks) >>> 0;
    }
  }
  const receiver = { sendRtcpPLI: async () => {} };
  const run = (measure) => {
    const track = new MediaStreamTrack({ kind: 'video', remote: true });
    const quality = new InboundQuality();
    if (measure) quality.watch(track, receiver);
    const ext = { [ABS_SEND_TIME_URI]: absSendTimeOf(wallClockMs()) };
    const t0 = performance.now();
    for (const p of packets) track.onReceiveRtp.execute(p, ext);
    const ns = ((performance.now() - t0) * 1e6) / packets.length;
    const frames = quality.frames();
    quality.close();
    return { ns, frames };
  };
  for (let i = 0; i < 3; i++) {
    run(false);
    run(true);
  }
  const base = [];
  const measured = [];
  let frames;
  for (let i = 0; i < 5; i++) {
    base.push(run(false).ns);
    const r = run(true);
    measured.push(r.ns);
    frames = r.frames;
  }
  const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
  if (frames.framesCorrupt !== 0 || frames.framesRendered === 0)
    throw new Error('the clip did not check out');
  return {
    packets: packets.length,
    baselineNsPerPacket: Math.round(median(base)),
    measuredNsPerPacket: Math.round(median(measured)),
    extraNsPerPacket: Math.round(median(measured) - median(base)),
  };
}

async function main() {
  const config = parseConfig();
  const { NetShaper } = await import('../dist/peer/net/shaper.js');
  log(`part 1: the shaper alone, ${config.pps} packets/s for ${config.seconds} s per run`);
  const shaper = await shaperPart(config, { NetShaper });
  let bots;
  if (config['bots-seconds'] > 0) {
    log(`part 2: two werift bots, ${config['bots-seconds']} s per run`);
    const [{ SignalingServer }, { Bot }, { loadFeeds }, { NetSchedule }] = await Promise.all([
      import('../dist/signaling/server.js'),
      import('../dist/peer/bot.js'),
      import('../dist/peer/media/feeds.js'),
      import('../dist/peer/net/schedule.js'),
    ]);
    bots = await botsPart(config, { SignalingServer, Bot, loadFeeds, NetSchedule });
  }
  log('part 3: the measurement every bot makes per received packet');
  const measurement = await measurementPart();
  const result = { config, shaper, bots, measurement, measuredOn: 'a shared machine unless re-run quiet' };
  if (config.json) {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return;
  }
  const out = [];
  out.push(
    `The shaper alone: ${config.pps} packets/s of 1000 bytes; baseline = the same packets delivered with no shaper`,
  );
  out.push(
    table(
      [
        'profile',
        'packets',
        'dropped %',
        'baseline ns/pkt',
        'with profile ns/pkt',
        'extra ns/pkt',
        'CPU ratio',
      ],
      shaper.map((r) => [
        r.profile,
        r.packets,
        r.droppedPct,
        r.baselineNsPerPacket,
        r.profileNsPerPacket,
        r.extraNsPerPacket,
        r.cpuRatio,
      ]),
    ),
  );
  if (bots) {
    out.push('');
    out.push(`Two werift bots, built-in clip both ways, ${bots.seconds} s runs (average of three each)`);
    out.push(
      table(
        ['', 'CPU % of a core', 'shaped packets/s', 'video frames'],
        [
          ['without --net', bots.baseCpuPct, 0, bots.framesBase],
          [`--net ${bots.profile}`, bots.shapedCpuPct, bots.shapedPacketsPerSecond, bots.framesShaped],
        ],
      ),
    );
    out.push(
      `extra CPU per shaped packet: ${bots.extraUsPerShapedPacket} µs; CPU ratio shaped/unshaped: ${bots.cpuRatio}` +
        ` (run-to-run spread ${bots.spreadPct}% of a core${
          Math.abs(bots.shapedCpuPct - bots.baseCpuPct) < bots.spreadPct
            ? ': the difference is within it'
            : ''
        })`,
    );
  }
  out.push('');
  out.push(
    `Measured on every received packet (sequence, latency, frames, integrity, freezes), builtin-light video: ` +
      `${measurement.measuredNsPerPacket} ns/packet against ${measurement.baselineNsPerPacket} ns for the bare ` +
      `track event: +${measurement.extraNsPerPacket} ns (${measurement.packets} packets)`,
  );
  if (bots) {
    const perPacketUs = (bots.baseCpuPct * 10_000) / (bots.shapedPacketsPerSecond / 2);
    out.push(
      `A bot's whole CPU per packet it receives (part 2, without --net): about ${Math.round(perPacketUs)} µs, so ` +
        `the measurement is ${Math.round((1000 * measurement.extraNsPerPacket) / (perPacketUs * 1000)) / 10}% of it`,
    );
  }
  out.push('(measured on a shared machine: re-run quiet for figures to quote)');
  process.stdout.write(`${out.join('\n')}\n`);
}

main().catch((err) => {
  process.stderr.write(`bench:net failed: ${err?.stack ?? err}\n`);
  process.exit(1);
});
