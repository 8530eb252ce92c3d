/**
 * One configuration of bench/bots (forked by bench/bots.js): K bots in one room of a signaling server, all
 * in this process, so CPU and RSS are this configuration's alone. argv[2] is a JSON config:
 *   {profile: 'builtin' | 'builtin-light' | 'none', k, windowS, settleS, staggerMs, setupTimeoutMs,
 *    cpuProfileDir?: string | null, cpuProfileTop?: number, allocProfileDir?: string | null}
 *
 * Steps: start the signaling server (here, in this process: it is cheap, and its share is measured in the
 * 'none' baseline as well), load the shared feeds, take a base RSS; join the K bots (all at once, or
 * staggerMs apart) and time first join -> full mesh (every bot has a connected link to every other); let
 * it settle; measure a steady window: CPU of this process (% of one core), RSS, event-loop delay, and per
 * directed flow (receiver <- sender) the delivered video fps, kbps and audio packets/s; close every bot.
 * With cpuProfileDir, the window is also sampled by the V8 profiler (inspector), the profile written there
 * and its top self-time functions reported (the profiler costs CPU: those runs are not for the ratios).
 *
 * IPC: sends {type: 'progress', text} now and then, then one {type: 'result', ...} or {type: 'error',
 * message}, then exits. It exits too when the parent goes away, so nothing outlives the bench.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import v8 from 'node:v8';
import { machineBusySeconds, snapshotFlows, summarize } from './shared.js';

const cfg = JSON.parse(process.argv[2] ?? '{}');
const LOOP_RESOLUTION_MS = 5;

process.on('disconnect', () => process.exit(0));

/** Resolves once the message is handed to the IPC channel. */
const send = (m) => new Promise((resolve) => (process.send ? process.send(m, () => resolve()) : resolve()));
const progress = (text) => void send({ type: 'progress', text });

function fullMeshMissing(bots) {
  let missing = 0;
  for (const b of bots) {
    for (const o of bots) {
      if (o !== b && b.links.get(o.name)?.state !== 'connected') missing++;
    }
  }
  return missing;
}

/** How many of the K*(K-1) links are in each state, `absent` for links not created yet. */
function linkStates(bots) {
  const counts = {};
  for (const b of bots) {
    for (const o of bots) {
      if (o === b) continue;
      const state = b.links.get(o.name)?.state ?? 'absent';
      counts[state] = (counts[state] ?? 0) + 1;
    }
  }
  return Object.entries(counts)
    .map(([state, n]) => `${state} ${n}`)
    .join(', ');
}

/** Every directed flow: the link of `receiver` to `sender`, and what has arrived on it so far. */

const quantile = (sorted, q) =>
  sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];

/** Where a call frame is, shortened: `werift/lib/index.mjs:86`, `dist/peer/media/source.js:171`, or none. */
function place(f) {
  if (!f.url) return '';
  const short = f.url.replace(/^.*\/node_modules\//, '').replace(/^file:\/\/.*?\/(dist|bench)\//, '$1/');
  return `${short}:${f.lineNumber + 1}`;
}

/**
 * Inclusive buckets: time with a matching frame anywhere on the stack, as a share of busy (non-idle) time.
 * They overlap (the clip fan-out includes SRTP encryption and UDP sends, the receive path decryption).
 */
const BUCKETS = [
  ['clip fan-out (sendFrame: writeRtp to every link)', (f) => f.functionName === 'sendFrame'],
  ['receive path (datagramReceived)', (f) => f.functionName === 'datagramReceived'],
  ['SRTP encrypt (encryptRtp)', (f) => f.functionName === 'encryptRtp'],
  ['SRTP decrypt (decryptRtp)', (f) => f.functionName === 'decryptRtp'],
  ['new cipher per packet (createCipherBase)', (f) => f.functionName === 'createCipherBase'],
  ['UDP send (dgram doSend)', (f) => f.functionName === 'doSend'],
  ['RTP/RTCP parse (deSerialize)', (f) => f.functionName === 'deSerialize'],
  ['RTCP reports (runRtcp)', (f) => f.functionName === 'runRtcp'],
  ['garbage collector', (f) => f.functionName === '(garbage collector)'],
];

/** Self time per function, inclusive buckets and the idle share, from a V8 CPU profile. */
function summarizeProfile(profile, top) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const selfUs = new Map();
  const bucketUs = BUCKETS.map(() => 0);
  let totalUs = 0;
  let idleUs = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i];
    const dt = profile.timeDeltas[i] ?? 0;
    totalUs += dt;
    const leaf = byId.get(id)?.callFrame;
    if (!leaf) continue;
    if (leaf.functionName === '(idle)') {
      idleUs += dt;
      continue;
    }
    selfUs.set(id, (selfUs.get(id) ?? 0) + dt);
    const hit = BUCKETS.map(() => false);
    for (let n = id; n !== undefined; n = parent.get(n)) {
      const f = byId.get(n).callFrame;
      BUCKETS.forEach(([, match], b) => {
        if (!hit[b] && match(f)) hit[b] = true;
      });
    }
    hit.forEach((h, b) => {
      if (h) bucketUs[b] += dt;
    });
  }
  const busyUs = totalUs - idleUs || 1;
  const byFunction = new Map();
  for (const [id, us] of selfUs) {
    const f = byId.get(id).callFrame;
    const key = `${f.functionName || '(anonymous)'} ${place(f) || '(native)'}`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + us);
  }
  return {
    busyMs: busyUs / 1000,
    idlePct: (100 * idleUs) / (totalUs || 1),
    top: [...byFunction.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([fn, us]) => ({ fn, ms: us / 1000, pctOfBusy: (100 * us) / busyUs })),
    buckets: BUCKETS.map(([name], b) => ({ name, pctOfBusy: (100 * bucketUs[b]) / busyUs })),
  };
}

/** Busy CPU time of the whole machine in ms (see machineBusySeconds). */
function machineBusyMs() {
  const s = machineBusySeconds();
  return s === undefined ? undefined : s * 1000;
}

/** V8's heap spaces in use, by name (where the JS heap of the bots goes: new space, old space, code...). */
function heapSpaces() {
  return Object.fromEntries(v8.getHeapSpaceStatistics().map((h) => [h.space_name, h.space_used_size]));
}

/**
 * Allocation sampling over the window, objects the GC has already collected included: what feeds the
 * garbage collector, by allocation site (a retained-only heap profile would miss per-packet garbage).
 */
async function startAllocationProfile() {
  const { Session } = await import('node:inspector/promises');
  const session = new Session();
  session.connect();
  await session.post('HeapProfiler.enable');
  await session.post('HeapProfiler.startSampling', {
    samplingInterval: 8192,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
  return async () => {
    const { profile } = await session.post('HeapProfiler.stopSampling');
    session.disconnect();
    return profile;
  };
}

/** Bytes allocated per site (function and place), largest first. */
function summarizeAllocations(profile, top) {
  const bySite = new Map();
  let total = 0;
  const walk = (node) => {
    const f = node.callFrame;
    const key = `${f.functionName || '(anonymous)'} ${place(f) || '(native)'}`;
    bySite.set(key, (bySite.get(key) ?? 0) + node.selfSize);
    total += node.selfSize;
    for (const c of node.children ?? []) walk(c);
  };
  walk(profile.head);
  return {
    totalBytes: total,
    top: [...bySite.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([site, bytes]) => ({ site, bytes })),
  };
}

async function startCpuProfile() {
  const { Session } = await import('node:inspector/promises');
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 1000 });
  await session.post('Profiler.start');
  return async () => {
    const { profile } = await session.post('Profiler.stop');
    session.disconnect();
    return profile;
  };
}

/** RTP packets every bot's senders have sent and its links have received so far (media only, no RTCP). */
function packetTotals(bots) {
  let sent = 0;
  let received = 0;
  for (const b of bots) {
    for (const link of b.links.values()) {
      received += link.inbound.audio.packets + link.inbound.video.packets;
      for (const t of link.pc.getTransceivers()) sent += t.sender.packetCount ?? 0;
    }
  }
  return { sent, received };
}

/** The SRTP profiles the links negotiated (werift's name), e.g. {SRTP_AEAD_AES_128_GCM: 56}. */
function srtpProfiles(bots) {
  const names = { 1: 'SRTP_AES128_CM_HMAC_SHA1_80', 7: 'SRTP_AEAD_AES_128_GCM' };
  const out = {};
  for (const b of bots) {
    for (const link of b.links.values()) {
      const id = link.pc.getTransceivers()[0]?.sender.dtlsTransport?.dtls?.srtp?.srtpProfile;
      const name = names[id] ?? String(id);
      out[name] = (out[name] ?? 0) + 1;
    }
  }
  return out;
}

async function run() {
  const { sweepBuffersOnOwnThread } = await import('../dist/loadtest/execute/gc.js');
  // As the load test's workers do: per-packet Buffers are freed on this thread.
  sweepBuffersOnOwnThread();
  const { SignalingServer } = await import('../dist/signaling/server.js');
  const { Bot } = await import('../dist/peer/bot.js');
  const { loadFeeds } = await import('../dist/peer/media/feeds.js');

  const server = await SignalingServer.start({ host: '127.0.0.1', port: 0 });
  const feeds = await loadFeeds(cfg.profile, cfg.profile);
  // Let module loading and the server settle before the base reading.
  await sleep(200);
  const baseMemory = process.memoryUsage();
  const baseRss = baseMemory.rss;

  const room = 'bench';
  const names = Array.from({ length: cfg.k }, (_, i) => `bot${i + 1}`);
  const bots = [];
  const setupCpu0 = process.cpuUsage();
  const t0 = performance.now();
  const joins = [];
  for (const name of names) {
    joins.push(Bot.join({ url: server.url, room, name, feeds }).then((b) => bots.push(b)));
    if (cfg.staggerMs > 0) await sleep(cfg.staggerMs);
  }
  await Promise.all(joins);
  const setupDeadline = t0 + cfg.setupTimeoutMs;
  while (fullMeshMissing(bots) > 0) {
    if (performance.now() > setupDeadline) {
      throw new Error(
        `mesh incomplete after ${cfg.setupTimeoutMs} ms: ${fullMeshMissing(bots)} of ${cfg.k * (cfg.k - 1)} ` +
          `links not connected (${bots.length}/${cfg.k} bots joined; link states: ${linkStates(bots)})`,
      );
    }
    await sleep(5);
  }
  const setupMs = performance.now() - t0;
  const setupCpu = process.cpuUsage(setupCpu0);
  const connectMs = bots
    .flatMap((b) => [...b.links.values()].map((l) => l.connectedAt - l.startedAt))
    .sort((a, b) => a - b);
  progress(`mesh up in ${setupMs.toFixed(0)} ms; settling ${cfg.settleS} s, measuring ${cfg.windowS} s`);

  await sleep(cfg.settleS * 1000);

  // ---- the steady window ----
  const stopProfile = cfg.cpuProfileDir ? await startCpuProfile() : undefined;
  const stopAllocations = cfg.allocProfileDir ? await startAllocationProfile() : undefined;
  const sourceStats0 = feeds.map((f) => ({ kind: f.kind, ...f.stats }));
  const flows0 = snapshotFlows(bots);
  const packets0 = packetTotals(bots);
  const delay = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
  delay.enable();
  const elu0 = performance.eventLoopUtilization();
  const machine0 = machineBusyMs();
  const cpu0 = process.cpuUsage();
  const w0 = performance.now();
  let peakRss = process.memoryUsage().rss;
  const rssTimer = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }, 250);
  await sleep(cfg.windowS * 1000);
  clearInterval(rssTimer);
  const wallMs = performance.now() - w0;
  const cpu = process.cpuUsage(cpu0);
  const machine1 = machineBusyMs();
  const elu = performance.eventLoopUtilization(elu0);
  delay.disable();
  const flows1 = snapshotFlows(bots);
  const packets1 = packetTotals(bots);
  const sourceStats1 = feeds.map((f) => ({ kind: f.kind, ...f.stats }));
  const memory = process.memoryUsage();
  const rss = memory.rss;
  peakRss = Math.max(peakRss, rss);
  const profile = stopProfile ? await stopProfile() : undefined;
  const allocations = stopAllocations ? await stopAllocations() : undefined;
  const srtp = srtpProfiles(bots);

  const seconds = wallMs / 1000;
  const fps = [];
  const videoKbps = [];
  const audioPps = [];
  let lostFlows = 0;
  for (const [key, now] of flows1) {
    const before = flows0.get(key);
    if (!before) {
      lostFlows++;
      continue;
    }
    fps.push((now.frames - before.frames) / seconds);
    videoKbps.push(((now.videoBytes - before.videoBytes) * 8) / seconds / 1000);
    audioPps.push((now.audioPackets - before.audioPackets) / seconds);
  }
  const stillConnected = cfg.k * (cfg.k - 1) - fullMeshMissing(bots);

  let allocationProfile;
  if (allocations) {
    const file = path.join(cfg.allocProfileDir, `bots-${cfg.profile}-k${cfg.k}.heapprofile`);
    await writeFile(file, JSON.stringify(allocations));
    allocationProfile = {
      file,
      seconds: wallMs / 1000,
      ...summarizeAllocations(allocations, cfg.cpuProfileTop ?? 12),
    };
  }
  let cpuProfile;
  if (profile) {
    const file = path.join(cfg.cpuProfileDir, `bots-${cfg.profile}-k${cfg.k}.cpuprofile`);
    await writeFile(file, JSON.stringify(profile));
    cpuProfile = { file, ...summarizeProfile(profile, cfg.cpuProfileTop ?? 12) };
  }

  // ---- tear down ----
  const c0 = performance.now();
  await Promise.race([
    Promise.all(bots.map((b) => b.close())),
    sleep(15_000).then(() => {
      throw new Error('bots did not close within 15 s');
    }),
  ]);
  const closeMs = performance.now() - c0;
  await server.close();

  return {
    profile: cfg.profile,
    k: cfg.k,
    setupMs,
    setupCpuPct: ((setupCpu.user + setupCpu.system) / 1000 / setupMs) * 100,
    connectMs: { p50: quantile(connectMs, 0.5), max: connectMs.at(-1) ?? 0 },
    windowS: seconds,
    cpuPct: ((cpu.user + cpu.system) / 1000 / wallMs) * 100,
    cpuUs: cpu.user + cpu.system,
    packetsSent: packets1.sent - packets0.sent,
    packetsReceived: packets1.received - packets0.received,
    srtpProfiles: srtp,
    cpuUserPct: (cpu.user / 1000 / wallMs) * 100,
    cpuSystemPct: (cpu.system / 1000 / wallMs) * 100,
    otherCpuPct:
      machine0 === undefined || machine1 === undefined
        ? undefined
        : Math.max(
            0,
            ((machine1 - machine0) / wallMs) * 100 - ((cpu.user + cpu.system) / 1000 / wallMs) * 100,
          ),
    elu: elu.utilization,
    rssBytes: rss,
    peakRssBytes: peakRss,
    baseRssBytes: baseRss,
    baseMemory,
    memory: { ...memory, heapSpaces: heapSpaces() },
    loopLagMs: {
      p50: Math.max(0, delay.percentile(50) / 1e6 - LOOP_RESOLUTION_MS),
      p99: Math.max(0, delay.percentile(99) / 1e6 - LOOP_RESOLUTION_MS),
      max: Math.max(0, delay.max / 1e6 - LOOP_RESOLUTION_MS),
    },
    flows: fps.length,
    lostFlows,
    stillConnected,
    fps: summarize(fps),
    videoKbps: summarize(videoKbps),
    audioPps: summarize(audioPps),
    sources: sourceStats1.map((s, i) => ({
      kind: s.kind,
      framesSent: s.framesSent - sourceStats0[i].framesSent,
      keyframeJumps: s.keyframeJumps - sourceStats0[i].keyframeJumps,
      droppedLagMs: s.droppedLagMs - sourceStats0[i].droppedLagMs,
    })),
    closeMs,
    cpuProfile,
    allocationProfile,
  };
}

try {
  const result = await run();
  await send({ type: 'result', result });
} catch (err) {
  await send({ type: 'error', message: err?.stack ?? String(err) });
}
// Whatever werift still holds open (sockets closing, timers) must not keep this process alive.
process.exit(0);
