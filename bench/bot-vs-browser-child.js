/**
 * One configuration of bench/bot-vs-browser (forked by bench/bot-vs-browser.js): K participants in one
 * mesh room of the parent's signaling server, either as K engage bots in this process or as K pages of one
 * headless Chromium that this process drives. argv[2] is a JSON config:
 *   {mode: 'bots' | 'browser', k, url, room, windowS, settleS, setupTimeoutMs, videoFile?: string | null}
 * (url is the server's ws:// URL; the pages load http://<same host>/room/<room>/?username=<name>.)
 *
 * bots: load the builtin feeds (640x360 30 fps VP8 clip + 20 ms Opus), join the K bots at once and wait
 * until every bot has a connected link to every other; settle; then over the window: this process's CPU
 * (process.cpuUsage), its RSS every 250 ms (peak from the first join to the end of the window) and PSS
 * (/proc/self/smaps_rollup, every second), and the video frames / audio packets each bot received per link.
 *
 * browser: launch /usr/bin/chromium with the e2e test's flags (fake camera and microphone; with videoFile,
 * also --use-file-for-fake-video-capture), open K browser contexts with one page each and load the room
 * in all of them at once;
 * wait until every page shows every other participant's video playing (size known, currentTime moving);
 * settle; then over the window, the whole Chromium process tree (every process descended from this one):
 * CPU from /proc/<pid>/stat (utime + stime), RSS summed from /proc/<pid>/status VmRSS every 250 ms and PSS
 * from /proc/<pid>/smaps_rollup every second; before and after the window, getStats() of every
 * RTCPeerConnection of every page (an init script keeps a list of them), for delivered fps and bitrates.
 *
 * Both: the machine's CPU (/proc/stat) over the window, so the parent can flag other processes' load,
 * and (browser) this driving process's own CPU in the window (Playwright, the /proc sampler).
 *
 * IPC: {type: 'chromium-group', pgid} once Chromium runs (Playwright starts it as the leader of a process
 * group of its own: the parent kills that group if this process overruns), {type: 'progress', text} now
 * and then, {type: 'window', phase: 'start' | 'end'} around the window (the parent measures its own CPU
 * there), then one {type: 'result', result} or {type: 'error', message}, then exit. On exit, and when the
 * parent goes away, this process kills the Chromium group itself, so no Chromium outlives the bench.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { snapshotFlows, summarize } from './shared.js';

const cfg = JSON.parse(process.argv[2] ?? '{}');

/** Exactly how test/e2e/browser.test.ts launches Chromium (test/helpers/chromium.json). */
const { executable: CHROMIUM, args: CHROMIUM_ARGS } = JSON.parse(
  readFileSync(new URL('../test/helpers/chromium.json', import.meta.url), 'utf8'),
);
const SAMPLE_MS = 250;
/** Browser setup: a mesh whose live links stop growing for this long is as far as it will get. */
const STALL_MS = 20_000;
/** ... and is measured when at least this share of its links are up (else the configuration fails). */
const PARTIAL_MIN = 0.5;
/** PSS costs the kernel a page-table walk per process: sampled every 4th RSS sample. */
const PSS_EVERY = 4;
/** Linux USER_HZ: /proc/<pid>/stat counts CPU time in these ticks. */
const TICKS_PER_S = 100;

/**
 * Playwright starts Chromium as the leader of a process group of its own; that group's id, once known, so
 * it can be killed with the whole Chromium tree whatever happens to this process.
 */
let chromiumGroup;
function killChromium() {
  if (chromiumGroup === undefined) return;
  try {
    process.kill(-chromiumGroup, 'SIGKILL');
  } catch {}
  chromiumGroup = undefined;
}
process.on('exit', killChromium);
process.on('disconnect', () => process.exit(1));

/** Resolves once the message is handed to the IPC channel. */
const send = (m) => new Promise((resolve) => (process.send ? process.send(m, () => resolve()) : resolve()));
const progress = (text) => void send({ type: 'progress', text });

// ---- /proc ----------------------------------------------------------------------------------------------

/**
 * CPU time of the whole machine in s, all cores (/proc/stat), or undefined off Linux: `tasks` (user, nice,
 * system, steal: what processes, this bench's among them, or the hypervisor took) and `irq` (hard and soft
 * interrupts: mostly the kernel moving the loopback packets of the measured side, charged to no process).
 */
function machineCpuS() {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal ...; guest time is already inside user and nice.
    const [user, nice, system, , , irq, softirq, steal] = fields;
    return { tasks: (user + nice + system + (steal ?? 0)) / TICKS_PER_S, irq: (irq + softirq) / TICKS_PER_S };
  } catch {
    return undefined;
  }
}

const readOr = (file, fallback) => {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return fallback;
  }
};

/** {ppid, pgrp, cpuTicks (utime + stime)} of a process, from /proc/<pid>/stat, or undefined once gone. */
function procStat(pid) {
  const text = readOr(`/proc/${pid}/stat`, undefined);
  if (!text) return undefined;
  // The command name (field 2) may hold spaces and parentheses: the fields after it follow the last ')'.
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { ppid: Number(f[1]), pgrp: Number(f[2]), cpuTicks: Number(f[11]) + Number(f[12]) };
}

/** A kB figure of /proc/<pid>/status or smaps_rollup (`VmRSS:  1234 kB`) in bytes, 0 if absent. */
function kbField(text, name) {
  const m = text && new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text);
  return m ? Number(m[1]) * 1024 : 0;
}

const rssOf = (pid) => kbField(readOr(`/proc/${pid}/status`, ''), 'VmRSS');
const pssOf = (pid) => kbField(readOr(`/proc/${pid}/smaps_rollup`, ''), 'Pss');

/** Every live process descended from `root` (not `root` itself), with its CPU ticks. */
function descendants(root) {
  const children = new Map();
  const stats = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const s = procStat(name);
    if (!s) continue;
    const pid = Number(name);
    stats.set(pid, s);
    if (!children.has(s.ppid)) children.set(s.ppid, []);
    children.get(s.ppid).push(pid);
  }
  const out = new Map();
  const queue = [...(children.get(root) ?? [])];
  while (queue.length > 0) {
    const pid = queue.shift();
    out.set(pid, stats.get(pid).cpuTicks);
    queue.push(...(children.get(pid) ?? []));
  }
  return out;
}

/** What a Chromium process is: browser, renderer, gpu-process, zygote, or utility:<service>. */
function processKind(pid) {
  // Chromium rewrites its command line into one space-separated string (a process title).
  const argv = readOr(`/proc/${pid}/cmdline`, '').split(/[\0 ]/);
  const type = argv.find((a) => a.startsWith('--type='))?.slice(7);
  if (!type) return argv[0]?.endsWith('chromium') ? 'browser' : (argv[0]?.split('/').pop() ?? '?');
  if (type !== 'utility') return type;
  const service = argv.find((a) => a.startsWith('--utility-sub-type='))?.slice(19) ?? '';
  return `utility:${service.replace(/^.*\./, '').replace(/^mojom\./, '')}`;
}

/**
 * Samples the processes `pids()` lists every 250 ms: summed RSS (peak), summed PSS every second (peak),
 * both also at the first sample (the base),
 * and the CPU ticks each was last seen with, so `cpuSince(mark)` counts a process that exits mid-window
 * up to its last sample and one born mid-window from zero.
 */
function treeSampler(pids) {
  let peakRss = 0;
  let peakPss = 0;
  let peakProcs = 0;
  let n = 0;
  const lastTicks = new Map();
  const sample = () => {
    const now = pids();
    let rss = 0;
    let pss = 0;
    const withPss = n++ % PSS_EVERY === 0;
    for (const [pid, ticks] of now) {
      lastTicks.set(pid, ticks);
      rss += rssOf(pid);
      if (withPss) pss += pssOf(pid);
    }
    peakRss = Math.max(peakRss, rss);
    if (withPss) peakPss = Math.max(peakPss, pss);
    peakProcs = Math.max(peakProcs, now.size);
    return now;
  };
  sample();
  // The first sample (with PSS): the browser before any page.
  const base = { rss: peakRss, pss: peakPss };
  const timer = setInterval(sample, SAMPLE_MS);
  return {
    base,
    /** Takes a sample now and returns the CPU ticks of every process seen so far (a mark). */
    mark: () => {
      sample();
      return new Map(lastTicks);
    },
    cpuSecondsSince: (mark) => {
      sample();
      let ticks = 0;
      for (const [pid, t] of lastTicks) ticks += t - (mark.get(pid) ?? 0);
      return ticks / TICKS_PER_S;
    },
    stop: () => {
      clearInterval(timer);
      sample();
      return { peakRss, peakPss, peakProcs };
    },
  };
}

// ---- bots -----------------------------------------------------------------------------------------------

function missingLinks(bots) {
  let missing = 0;
  for (const b of bots) {
    for (const o of bots) if (o !== b && b.links.get(o.name)?.state !== 'connected') missing++;
  }
  return missing;
}

async function runBots() {
  const { Bot } = await import('../dist/peer/bot.js');
  const { loadFeeds } = await import('../dist/peer/media/feeds.js');
  const feeds = await loadFeeds('builtin', 'builtin');
  await sleep(200);
  const baseRss = process.memoryUsage().rss;
  const basePss = pssOf('self');

  // RSS every 250 ms from here (this process only), PSS every second.
  let peakRss = baseRss;
  let peakPss = 0;
  let n = 0;
  const sample = () => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
    if (n++ % PSS_EVERY === 0) peakPss = Math.max(peakPss, pssOf('self'));
  };
  sample();
  const timer = setInterval(sample, SAMPLE_MS);

  const bots = [];
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: cfg.k }, (_, i) =>
      Bot.join({ url: cfg.url, room: cfg.room, name: `bot${i + 1}`, feeds }).then((b) => bots.push(b)),
    ),
  );
  while (missingLinks(bots) > 0) {
    if (performance.now() - t0 > cfg.setupTimeoutMs) {
      throw new Error(`mesh incomplete after ${cfg.setupTimeoutMs} ms: ${missingLinks(bots)} links down`);
    }
    await sleep(10);
  }
  const setupMs = performance.now() - t0;
  // Media flowing on every link, both ways, before the window: video frames and audio packets received.
  const flowing = (l) => l.inbound.video.frames >= 5 && l.inbound.audio.packets >= 5;
  while (bots.some((b) => [...b.links.values()].some((l) => !flowing(l)))) {
    if (performance.now() - t0 > cfg.setupTimeoutMs) throw new Error('no media on some links');
    await sleep(10);
  }
  progress(`mesh up in ${setupMs.toFixed(0)} ms, media flowing; settling ${cfg.settleS} s`);
  await sleep(cfg.settleS * 1000);

  const flows0 = snapshotFlows(bots);
  const sent0 = feeds.map((f) => f.stats.framesSent);
  await send({ type: 'window', phase: 'start' });
  const machine0 = machineCpuS();
  const cpu0 = process.cpuUsage();
  const w0 = performance.now();
  await sleep(cfg.windowS * 1000);
  const cpu = process.cpuUsage(cpu0);
  const wallS = (performance.now() - w0) / 1000;
  const machine1 = machineCpuS();
  await send({ type: 'window', phase: 'end' });
  clearInterval(timer);
  sample();
  const flows1 = snapshotFlows(bots);
  const sent1 = feeds.map((f) => f.stats.framesSent);
  const stillConnected = cfg.k * (cfg.k - 1) - missingLinks(bots);

  const fps = [];
  const kbps = [];
  const audioPps = [];
  for (const [key, now] of flows1) {
    const before = flows0.get(key);
    if (!before) continue;
    fps.push((now.frames - before.frames) / wallS);
    kbps.push(((now.videoBytes - before.videoBytes) * 8) / wallS / 1000);
    audioPps.push((now.audioPackets - before.audioPackets) / wallS);
  }
  const cpuS = (cpu.user + cpu.system) / 1e6;
  await Promise.race([Promise.all(bots.map((b) => b.close())), sleep(10_000)]);
  return {
    mode: 'bots',
    k: cfg.k,
    setupMs,
    windowS: wallS,
    cpuS,
    peakRssBytes: peakRss,
    peakPssBytes: peakPss,
    baseRssBytes: baseRss,
    basePssBytes: basePss,
    processes: 1,
    machineTasksS: machine0 && machine1 ? machine1.tasks - machine0.tasks : undefined,
    machineIrqS: machine0 && machine1 ? machine1.irq - machine0.irq : undefined,
    linksConnected: stillConnected,
    links: cfg.k * (cfg.k - 1),
    recvFps: summarize(fps),
    recvKbps: summarize(kbps),
    recvAudioPps: summarize(audioPps),
    sent: {
      width: 640,
      height: 360,
      fps: (sent1[0] - sent0[0]) / wallS,
      encoder: 'none (pre-encoded VP8 clip)',
    },
  };
}

// ---- browser --------------------------------------------------------------------------------------------

/** Keeps every RTCPeerConnection a page makes in window.__benchPcs, for getStats() from the bench. */
const TRACK_PCS = `(() => {
  const Native = window.RTCPeerConnection;
  if (!Native) return;
  const pcs = [];
  Object.defineProperty(window, '__benchPcs', { value: pcs });
  window.RTCPeerConnection = class extends Native {
    constructor(...args) {
      super(...args);
      pcs.push(this);
    }
  };
})();`;

/** The remote tiles of a page: who, link state, decoded size, playback clock. */
const REMOTE_TILES_JS = `[...document.querySelectorAll('#tiles .tile:not(.self)')].map((t) => {
  const v = t.querySelector('video');
  return { peer: t.dataset.peer, state: t.dataset.state, width: v.videoWidth, height: v.videoHeight,
    time: v.currentTime };
})`;

/** Counters of every connected peer connection of a page, from getStats(). */
const PC_STATS_JS = `(async () => {
  const out = [];
  for (const [id, pc] of (window.__benchPcs ?? []).entries()) {
    if (pc.connectionState !== 'connected') continue;
    const link = { id, inVideo: {}, outVideo: {}, inAudio: {}, outAudio: {} };
    const report = await pc.getStats();
    const codecs = new Map();
    report.forEach((s) => {
      if (s.type === 'codec') codecs.set(s.id, s.mimeType);
    });
    report.forEach((s) => {
      if (s.type === 'inbound-rtp' && s.kind === 'video')
        link.inVideo = { frames: s.framesDecoded ?? 0, bytes: s.bytesReceived ?? 0, width: s.frameWidth,
          height: s.frameHeight, codec: codecs.get(s.codecId) };
      else if (s.type === 'outbound-rtp' && s.kind === 'video')
        link.outVideo = { frames: s.framesEncoded ?? 0, bytes: s.bytesSent ?? 0, width: s.frameWidth,
          height: s.frameHeight, codec: codecs.get(s.codecId), encoder: s.encoderImplementation,
          limitation: s.qualityLimitationReason };
      else if (s.type === 'inbound-rtp' && s.kind === 'audio')
        link.inAudio = { packets: s.packetsReceived ?? 0 };
      else if (s.type === 'outbound-rtp' && s.kind === 'audio')
        link.outAudio = { packets: s.packetsSent ?? 0 };
    });
    out.push(link);
  }
  return out;
})()`;

/** The promise, or a rejection after `ms`: a starved renderer can take long to answer an evaluate. */
function bounded(promise, ms, what) {
  let timer;
  const late = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

async function untilTrue(cond, what, deadline, state = async () => '') {
  while (!(await cond())) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}${await state()}`);
    await sleep(100);
  }
}

/** Where the mesh of the pages stands: remote tiles by link state, and how many show video. */
function tileSummary(pagesTiles, k) {
  const states = {};
  let sized = 0;
  for (const tiles of pagesTiles) {
    for (const t of tiles) {
      states[t.state] = (states[t.state] ?? 0) + 1;
      if (t.width > 0) sized++;
    }
  }
  const list = Object.entries(states).map(([state, n]) => `${state} ${n}`);
  return `: of ${k * (k - 1)} remote tiles, ${list.join(', ') || 'none yet'}; ${sized} with video`;
}

async function runBrowser() {
  const { chromium } = await import('playwright-core');
  const args = [...CHROMIUM_ARGS];
  if (cfg.videoFile) args.push(`--use-file-for-fake-video-capture=${cfg.videoFile}`);
  const browser = await chromium.launch({ executablePath: CHROMIUM, args, timeout: 30_000 });
  // The browser process: this process's child, leading its own group. The parent kills that group too
  // when this process overruns its time.
  for (const pid of descendants(process.pid).keys()) {
    const s = procStat(pid);
    if (s?.ppid === process.pid && s.pgrp === pid) {
      chromiumGroup = pid;
      await send({ type: 'chromium-group', pgid: pid });
    }
  }
  try {
    return await measureBrowser(browser);
  } finally {
    await Promise.race([browser.close(), sleep(10_000)]);
  }
}

async function measureBrowser(browser) {
  const tree = () => descendants(process.pid);
  const sampler = treeSampler(tree);
  const http = cfg.url.replace(/^ws/, 'http');
  const pages = [];
  const problems = [];
  const t0 = performance.now();
  const deadline = t0 + cfg.setupTimeoutMs;
  for (let i = 0; i < cfg.k; i++) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 720 } });
    await context.addInitScript({ content: TRACK_PCS });
    const page = await context.newPage();
    page.on('pageerror', (err) => problems.push(`p${i + 1}: page error: ${err.message}`));
    pages.push(page);
  }
  const tilesOf = (page) => bounded(page.evaluate(REMOTE_TILES_JS), 20_000, 'the tiles of a page');
  const allTiles = () => Promise.all(pages.map(tilesOf));
  const links = cfg.k * (cfg.k - 1);
  const live = (t) => t.state === 'connected' && t.width > 0;
  // All pages join at once, as the bots do.
  await Promise.all(pages.map((page, i) => page.goto(`${http}/room/${cfg.room}/?username=p${i + 1}`)));
  // The full mesh; or, when the count of live links (connected, video decoded) stops growing for STALL_MS
  // or the time is up, at least PARTIAL_MIN of them with every page showing one: on a saturated machine
  // some handshakes never finish and a link that failed stays gone (the page drops a failed member).
  // Measured then and said so: the browser does less work than in a full mesh, which only makes the
  // comparison kinder to it.
  const meshDeadline = deadline - 10_000;
  let best = -1;
  let bestAt = performance.now();
  let partialMesh;
  for (;;) {
    const all = await allTiles();
    const up = all.flat().filter(live).length;
    if (up === links && all.every((tiles) => tiles.length === cfg.k - 1)) break;
    const now = performance.now();
    if (up > best) [best, bestAt] = [up, now];
    if (now - bestAt > STALL_MS || now > meshDeadline) {
      if (up >= PARTIAL_MIN * links && all.every((tiles) => tiles.some(live))) {
        const afterS = ((now - t0) / 1000).toFixed(0);
        partialMesh = `after ${afterS} s${tileSummary(all, cfg.k)}`;
        break;
      }
      if (now > meshDeadline) {
        throw new Error(
          `timed out waiting for every page to show ${cfg.k - 1} remote videos${tileSummary(all, cfg.k)}`,
        );
      }
    }
    await sleep(100);
  }
  const setupMs = performance.now() - t0;
  if (partialMesh) progress(`PARTIAL mesh: ${partialMesh}`);
  // Playing, not just sized: every live remote video's clock moves on by more than half a second.
  const before = await allTiles();
  await untilTrue(
    async () =>
      (await allTiles()).every((tiles, p) =>
        before[p].filter(live).every((b) => (tiles.find((t) => t.peer === b.peer)?.time ?? 0) > b.time + 0.5),
      ),
    'every remote video to play on',
    deadline,
    async () => tileSummary(await allTiles(), cfg.k),
  );
  progress(`mesh up in ${setupMs.toFixed(0)} ms, every remote video playing; settling ${cfg.settleS} s`);
  await sleep(cfg.settleS * 1000);

  const pcStats = (what) =>
    bounded(Promise.all(pages.map((p) => p.evaluate(PC_STATS_JS))), 20_000, `getStats ${what}`);
  const stats0 = await pcStats('before the window');
  await send({ type: 'window', phase: 'start' });
  const machine0 = machineCpuS();
  const driver0 = process.cpuUsage();
  const mark = sampler.mark();
  const w0 = performance.now();
  await sleep(cfg.windowS * 1000);
  const cpuS = sampler.cpuSecondsSince(mark);
  const wallS = (performance.now() - w0) / 1000;
  const driver = process.cpuUsage(driver0);
  const machine1 = machineCpuS();
  await send({ type: 'window', phase: 'end' });
  const peaks = sampler.stop();
  const s0 = performance.now();
  const stats1 = await pcStats('after the window');
  progress(`window done; read getStats in ${(performance.now() - s0).toFixed(0)} ms`);
  const kinds = {};
  for (const pid of tree().keys()) {
    const kind = processKind(pid);
    kinds[kind] = (kinds[kind] ?? 0) + 1;
  }
  const tilesAfter = await allTiles();

  const fps = [];
  const kbps = [];
  const audioPps = [];
  const sentFps = [];
  const sentKbps = [];
  const sizes = new Map();
  const limitations = new Map();
  let encoder;
  let codec;
  let statsLinks = 0;
  stats1.forEach((pcs, p) => {
    for (const now of pcs) {
      const was = stats0[p].find((l) => l.id === now.id);
      statsLinks++;
      if (!was) continue;
      fps.push((now.inVideo.frames - was.inVideo.frames) / wallS);
      kbps.push(((now.inVideo.bytes - was.inVideo.bytes) * 8) / wallS / 1000);
      audioPps.push((now.inAudio.packets - was.inAudio.packets) / wallS);
      sentFps.push((now.outVideo.frames - was.outVideo.frames) / wallS);
      sentKbps.push(((now.outVideo.bytes - was.outVideo.bytes) * 8) / wallS / 1000);
      const size = `${now.outVideo.width}x${now.outVideo.height}`;
      sizes.set(size, (sizes.get(size) ?? 0) + 1);
      const lim = now.outVideo.limitation ?? '?';
      limitations.set(lim, (limitations.get(lim) ?? 0) + 1);
      encoder ??= now.outVideo.encoder;
      codec ??= now.outVideo.codec;
    }
  });
  const linksConnected = tilesAfter.flat().filter((t) => t.state === 'connected').length;
  if (problems.length > 0) progress(`page problems: ${problems.join('; ')}`);
  return {
    mode: 'browser',
    k: cfg.k,
    setupMs,
    windowS: wallS,
    cpuS,
    peakRssBytes: peaks.peakRss,
    peakPssBytes: peaks.peakPss,
    baseRssBytes: sampler.base.rss,
    basePssBytes: sampler.base.pss,
    processes: peaks.peakProcs,
    processKinds: kinds,
    chromiumGroup,
    driverCpuS: (driver.user + driver.system) / 1e6,
    machineTasksS: machine0 && machine1 ? machine1.tasks - machine0.tasks : undefined,
    machineIrqS: machine0 && machine1 ? machine1.irq - machine0.irq : undefined,
    linksConnected,
    links,
    statsLinks,
    partialMesh,
    recvFps: summarize(fps),
    recvKbps: summarize(kbps),
    recvAudioPps: summarize(audioPps),
    sent: {
      sizes: Object.fromEntries(sizes),
      fps: summarize(sentFps),
      kbps: summarize(sentKbps),
      codec,
      encoder,
      qualityLimitation: Object.fromEntries(limitations),
    },
    problems,
  };
}

try {
  const result = cfg.mode === 'bots' ? await runBots() : await runBrowser();
  await send({ type: 'result', result });
} catch (err) {
  await send({ type: 'error', message: err?.stack ?? String(err) });
}
// Whatever werift or Chromium still holds open must not keep this process alive; 'exit' kills Chromium.
process.exit(0);
