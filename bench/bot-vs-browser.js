/**
 * bench/bot-vs-browser: what one participant costs as an engage bot and as a headless Chromium page, in the
 * same full-mesh room size (K = 2, 4, 6).
 *
 *   npm run bench:bot-vs-browser [-- --k 2,4,6 --window 15 --camera clip|fake --json --help]
 *
 * The signaling server (with the web client as its HTTP fallback, as `engage serve` runs it) lives in this
 * process, so neither side pays for it. Each (side, K) runs in a fresh child (bench/bot-vs-browser-child.js):
 *   - bots: the K bots in that one Node process, as engage runs bots; its CPU (process.cpuUsage) over the
 *     window and its peak RSS (every 250 ms) / PSS;
 *   - browser: one Chromium (the e2e test's flags: fake camera and microphone) with K browser contexts of
 *     one page each, at /room/<room>/?username=<name>; the CPU of the whole Chromium process tree
 *     (/proc/<pid>/stat) over the window, its peak summed RSS (/proc/<pid>/status, every 250 ms) and peak
 *     summed PSS (/proc/<pid>/smaps_rollup, every second).
 * Both wait for a full mesh with media flowing on every link (bots: every link connected and receiving
 * video; pages: every remote tile's video sized and its clock moving), settle, then measure a window.
 * Per participant = the side's total / K. The goal (issue 5): a bot costs at most a tenth of a browser
 * participant, in CPU and in memory.
 *
 * Media: bots send the builtin clip (VP8 640x360 30 fps ~300 kbps, pre-encoded: no encoder) and Opus 20 ms.
 * Pages send Chromium's fake devices; with --camera clip (the default, when ffmpeg is there) the fake camera
 * plays the same clip, decoded once to a temporary .y4m (--use-file-for-fake-video-capture), so both sides
 * show the same 640x360 30 fps picture; --camera fake is Chromium's own generated picture (640x480 20 fps).
 * A browser encodes the camera once per peer connection at the rate its bandwidth estimate allows (on
 * loopback: well above the bots' 300 kbps) and decodes every remote video; the table shows what it sent.
 *
 * It runs in a network namespace that has only lo (bench/bot-vs-browser-netns.js: re-run in a new one when
 * needed, as root or with user namespaces), so that no page or bot can pair over another interface.
 *
 * Every child has a timeout and is killed when it passes it (the Chromium process group with it);
 * configurations that would overrun the total budget are skipped (and said so). Exit code 0 when the bench
 * ran (failed configurations are reported); 1 only when it could not run.
 */
import { execFileSync, fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ensureLoopbackOnly } from './bot-vs-browser-netns.js';
import { numberFlag, table } from './shared.js';

const CHILD = fileURLToPath(new URL('./bot-vs-browser-child.js', import.meta.url));
const CLIP = fileURLToPath(new URL('../assets/video-640x360.ivf', import.meta.url));
/** Issue 5: a bot costs at most this share of a browser participant. */
const GOAL = 0.1;
/** Other processes' CPU (% of one core) in a window above which its numbers are flagged as contaminated. */
const NOISY_NEIGHBOUR_PCT = 15;
const SIDES = ['bots', 'browser'];
/** A side using more than this share of all cores has saturated the machine. */
const SATURATED = 0.85;

const FLAGS = {
  window: { default: 15, min: 1, max: 120, help: 'measured seconds per configuration, after the mesh is up' },
  settle: { default: 3, min: 0, max: 60, help: 'seconds after the mesh is up before measuring' },
  timeout: {
    default: undefined,
    min: 10,
    max: 600,
    help:
      'seconds per configuration before its child is killed\n' +
      `${' '.repeat(24)}(default: bots 60; browser 40 + window + settle + 6 per pair of participants)`,
  },
  budget: {
    default: 270,
    min: 10,
    max: 3600,
    help: 'total seconds; configurations that would overrun are skipped',
  },
};

function usage() {
  const opt = (flag, help) => `  ${flag}`.padEnd(24) + help;
  return [
    'usage: node bench/bot-vs-browser.js [options]',
    opt('--k <list>', 'participants per room, comma-separated (default 2,4,6)'),
    ...Object.entries(FLAGS).map(([name, f]) =>
      opt(`--${name} <n>`, f.default === undefined ? f.help : `${f.help} (default ${f.default})`),
    ),
    opt('--camera <clip|fake>', "the pages' camera: the bots' clip via a temporary .y4m (default; needs"),
    opt('', "ffmpeg, else fake) or Chromium's generated picture"),
    opt('--json', 'print the results as JSON on stdout (progress stays on stderr)'),
    opt('--help', 'print this help'),
  ].join('\n');
}

function parseConfig() {
  const options = {
    json: { type: 'boolean' },
    help: { type: 'boolean' },
    k: { type: 'string' },
    camera: { type: 'string' },
  };
  for (const name of Object.keys(FLAGS)) options[name] = { type: 'string' };
  const { values } = parseArgs({ options, allowPositionals: false });
  if (values.help) {
    process.stdout.write(`${usage()}\n`);
    process.exit(0);
  }
  const ks = (values.k ?? '2,4,6').split(',').filter(Boolean).map(Number);
  for (const k of ks) {
    if (!Number.isInteger(k) || k < 2 || k > 12)
      throw new Error(`--k: each K must be an integer in 2..12, got ${k}`);
  }
  const camera = values.camera ?? 'clip';
  if (camera !== 'clip' && camera !== 'fake') throw new Error(`--camera must be clip or fake, got ${camera}`);
  const config = { json: Boolean(values.json), ks: [...new Set(ks)].sort((a, b) => a - b), camera };
  for (const [name, f] of Object.entries(FLAGS)) {
    const v = numberFlag(name, f, values[name]);
    if (v !== undefined) config[name] = v;
  }
  return config;
}

const log = (msg) => process.stderr.write(`[bench:bot-vs-browser] ${msg}\n`);

// ---- the pages' camera ------------------------------------------------------------------------------------

let tempDir;

/** The bots' clip as raw 640x360 30 fps frames (.y4m, ~100 MB) for Chromium's fake camera, or undefined. */
function makeCameraFile() {
  tempDir = mkdtempSync(path.join(os.tmpdir(), 'engage-bot-vs-browser-'));
  const file = path.join(tempDir, 'clip.y4m');
  try {
    execFileSync(
      'ffmpeg',
      [
        '-hide_banner',
        '-loglevel',
        'error',
        '-y',
        '-i',
        CLIP,
        '-pix_fmt',
        'yuv420p',
        '-f',
        'yuv4mpegpipe',
        file,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'], timeout: 60_000 },
    );
    return file;
  } catch (err) {
    log(`could not make the camera clip with ffmpeg (${err.message.split('\n')[0]}): using --camera fake`);
    return undefined;
  }
}

function removeTempDir() {
  if (tempDir) rmSync(tempDir, { recursive: true, force: true });
  tempDir = undefined;
}

// ---- one configuration in a child process -----------------------------------------------------------------

/** Children, and the Chromium process group each one reported. */
const children = new Map();

function killChild(child) {
  const group = children.get(child);
  if (group !== undefined) {
    try {
      process.kill(-group, 'SIGKILL');
    } catch {}
  }
  child.kill('SIGKILL');
}

const connections = (k) => (k * (k - 1)) / 2;

/**
 * Seconds a configuration may take before its child is killed. Chromium on a small machine saturates it
 * from K=4 on and then needs seconds per peer connection to bring the mesh up (K=6 on 2 cores: ~80 s).
 */
function timeoutS(config, side, k) {
  if (config.timeout !== undefined) return config.timeout;
  return side === 'bots' ? 60 : 40 + config.window + config.settle + 6 * connections(k);
}

function runConfig(config, server, side, k) {
  const limitS = timeoutS(config, side, k);
  const childCfg = {
    mode: side,
    k,
    url: server.url,
    room: `${side}-k${k}`,
    windowS: config.window,
    settleS: config.settle,
    // The mesh must be up with time left for the window and the close inside the child's timeout.
    setupTimeoutMs: Math.max(5000, (limitS - config.window - config.settle - 15) * 1000),
    videoFile: side === 'browser' ? (config.videoFile ?? null) : null,
  };
  return new Promise((resolve) => {
    const child = fork(CHILD, [JSON.stringify(childCfg)], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    children.set(child, undefined);
    let outcome;
    /** This process's CPU in the child's window: the signaling server, IPC. */
    let parentCpu0;
    let parentCpuS;
    const timer = setTimeout(() => {
      outcome ??= { error: `timed out after ${limitS} s; child killed` };
      killChild(child);
    }, limitS * 1000);
    child.on('message', (m) => {
      if (m.type === 'chromium-group') children.set(child, m.pgid);
      else if (m.type === 'progress') log(`  ${side} K=${k}: ${m.text}`);
      else if (m.type === 'window' && m.phase === 'start') parentCpu0 = process.cpuUsage();
      else if (m.type === 'window' && m.phase === 'end' && parentCpu0) {
        const c = process.cpuUsage(parentCpu0);
        parentCpuS = (c.user + c.system) / 1e6;
      } else if (m.type === 'result') outcome ??= { result: { ...m.result, parentCpuS } };
      else if (m.type === 'error') outcome ??= { error: m.message };
    });
    child.on('error', (err) => {
      outcome ??= { error: `child: ${err.message}` };
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      // The child kills Chromium on its way out; a killed child cannot, so make sure.
      killChild(child);
      children.delete(child);
      resolve(outcome ?? { error: `child exited (${code ?? signal}) without a result` });
    });
  });
}

function cleanUp() {
  for (const c of children.keys()) killChild(c);
  removeTempDir();
}
process.on('SIGINT', () => {
  cleanUp();
  process.exit(130);
});
process.on('exit', cleanUp);

// ---- derived numbers ------------------------------------------------------------------------------------

const MB = 1024 * 1024;

function derive(r) {
  // The bench's own processes besides the measured ones: this one (the signaling server) and, for the
  // browser, the child driving Chromium.
  const benchCpuS = (r.parentCpuS ?? 0) + (r.driverCpuS ?? 0);
  return {
    ...r,
    benchCpuPct: (benchCpuS / r.windowS) * 100,
    cpuPerP: r.cpuS / r.k,
    rssPerP: r.peakRssBytes / r.k,
    pssPerP: r.peakPssBytes / r.k,
    cpuPct: (r.cpuS / r.windowS) * 100,
    otherCpuPct:
      r.machineTasksS === undefined
        ? undefined
        : Math.max(0, ((r.machineTasksS - r.cpuS - benchCpuS) / r.windowS) * 100),
    irqPct: r.machineIrqS === undefined ? undefined : (r.machineIrqS / r.windowS) * 100,
  };
}

function compare(results, ks) {
  const out = [];
  for (const k of ks) {
    const bots = results.find((r) => r.mode === 'bots' && r.k === k);
    const browser = results.find((r) => r.mode === 'browser' && r.k === k);
    if (!bots || !browser) continue;
    const cpu = bots.cpuPerP / browser.cpuPerP;
    // Memory footprint, every page counted once: the one bot process's RSS against the Chromium tree's summed
    // PSS (pages shared among its processes split between them). The bots' own PSS is no better a figure:
    // it splits the Node binary's pages with this bench's other Node processes, which production lacks.
    const mem = bots.rssPerP / browser.pssPerP;
    out.push({
      k,
      cpu,
      // Chromium filled the machine and delivered clearly fewer frames than the bots: it did less work, its
      // CPU is what the machine had, not what K browser participants need. The CPU verdict gets a '*'.
      browserSaturated:
        browser.cpuPct > os.cpus().length * 100 * SATURATED && browser.recvFps.avg < 0.9 * bots.recvFps.avg,
      // CPU per delivered video frame: corrects for a browser that saturates the machine and drops frames.
      cpuPerFrame: (bots.cpuPerP / bots.recvFps.avg) * (browser.recvFps.avg / browser.cpuPerP),
      mem,
      rss: bots.rssPerP / browser.rssPerP,
      cpuPass: cpu <= GOAL,
      memPass: mem <= GOAL,
    });
  }
  return out;
}

/**
 * The cost of one more participant: each side's slope in total CPU, RSS and PSS between the smallest and
 * the largest K measured, which leaves out the fixed part (the Node runtime; the browser, GPU and utility
 * processes). In a mesh a participant's links grow with K, so this is the average over that range. CPU only
 * over the K where the browser did not saturate the machine (beyond, its CPU is the machine's, not its need).
 */
function marginal(results, ks, cmp) {
  const both = ks.filter((k) => SIDES.every((side) => results.some((r) => r.mode === side && r.k === k)));
  if (both.length < 2) return undefined;
  const find = (side, k) => results.find((r) => r.mode === side && r.k === k);
  const slope = (side, field, k0, k1) => (find(side, k1)[field] - find(side, k0)[field]) / (k1 - k0);
  const [k0, k1] = [both[0], both.at(-1)];
  const unsaturated = both.filter((k) => !cmp.find((c) => c.k === k)?.browserSaturated);
  const [c0, c1] = unsaturated.length >= 2 ? [unsaturated[0], unsaturated.at(-1)] : [];
  const side = (name) => ({
    cpuS: c0 === undefined ? undefined : slope(name, 'cpuS', c0, c1),
    rssBytes: slope(name, 'peakRssBytes', k0, k1),
    pssBytes: slope(name, 'peakPssBytes', k0, k1),
  });
  const bots = side('bots');
  const browser = side('browser');
  return {
    fromK: k0,
    toK: k1,
    cpuFromK: c0,
    cpuToK: c1,
    bots,
    browser,
    cpu: c0 === undefined ? undefined : bots.cpuS / browser.cpuS,
    mem: bots.rssBytes / browser.pssBytes,
  };
}

// ---- printing ---------------------------------------------------------------------------------------------

/** A text table; the columns listed in `left` are aligned left, the others (numbers) right. */

const f0 = (n) => n.toFixed(0);
const f1 = (n) => n.toFixed(1);
const f2 = (n) => n.toFixed(2);
const x2 = (n) => (n === undefined || !Number.isFinite(n) ? '-' : `${n.toFixed(3)}x`);
const verdict = (pass) => (pass ? 'PASS' : 'FAIL');
const mmm = (s, f = f1) => `${f(s.min)}/${f(s.avg)}/${f(s.max)}`;

function sentMedia(r) {
  if (r.mode === 'bots') return `${r.sent.width}x${r.sent.height} ${f1(r.sent.fps)} fps, no encoder`;
  const sizes = Object.entries(r.sent.sizes)
    .map(([size, n]) => (Object.keys(r.sent.sizes).length > 1 ? `${size}(${n})` : size))
    .join(',');
  const limited = Object.entries(r.sent.qualityLimitation)
    .filter(([why]) => why !== 'none')
    .map(([why, n]) => `${why}-limited ${n}`)
    .join(', ');
  return (
    `${sizes} ${f1(r.sent.fps.avg)} fps ${f0(r.sent.kbps.avg)} kbps ${r.sent.codec?.replace('video/', '') ?? '?'}` +
    ` (${r.sent.encoder ?? '?'})${limited ? `, ${limited}` : ''}`
  );
}

function printReport(config, results, failures, cmp, marg) {
  const cores = os.cpus().length;
  const out = [];
  out.push(
    `bench:bot-vs-browser  ${cores} cores (${os.cpus()[0]?.model.trim()}), node ${process.version}, ` +
      `${config.chromium}; window ${config.window} s after a full mesh + ${config.settle} s settle; ` +
      `load average at start ${config.loadAtStart}`,
  );
  out.push(
    `Bots: K in one Node process sending the builtin clip (VP8 640x360 30 fps ~300 kbps, pre-encoded) + Opus 20 ms. ` +
      `Browser: one Chromium, K contexts; camera ${
        config.videoFile
          ? 'the same clip (Chromium file capture of a .y4m: 640x360 30 fps, encoded by the browser per peer connection)'
          : "Chromium's fake device (640x480 20 fps generated picture: NOT the bots' 640x360 30 fps)"
      } + fake microphone (Opus).`,
  );
  out.push(
    'Per participant (/p) = total / K. CPU s = user + system CPU seconds over the window. RSS = peak, sampled every ' +
      '250 ms from the first join to the end of the window; for the browser the sum over every Chromium process, ' +
      'which counts the pages they share (the binary, fonts, shared memory) once per process; PSS (every second) ' +
      'splits shared pages among the processes that map them: the Chromium tree summed counts each page once.',
  );
  out.push(
    `Ratios bot/browser per participant; goal <= ${GOAL}x. CPU x = CPU s. RSS x = RSS / summed RSS (flatters ` +
      'the bot: double-counted browser pages). mem x = bot RSS / browser PSS, each side its pages counted once: ' +
      'the memory goal. CPU x/frame = CPU per received video frame (a browser that saturates the machine ' +
      'delivers fewer frames; informative, not the goal).',
  );
  out.push('');
  out.push(
    table(
      [
        'K',
        'bots CPU s/p',
        'bots RSS MB/p',
        'browser CPU s/p',
        'browser RSS MB/p',
        'browser PSS MB/p',
        'CPU x',
        'CPU x/frame',
        'RSS x',
        'mem x',
        'CPU goal',
        'RSS goal',
        'mem goal',
      ],
      config.ks.map((k) => {
        const b = results.find((r) => r.mode === 'bots' && r.k === k);
        const w = results.find((r) => r.mode === 'browser' && r.k === k);
        const c = cmp.find((x) => x.k === k);
        const v = (r, fn) => (r ? fn(r) : '-');
        return [
          k,
          v(b, (r) => f2(r.cpuPerP)),
          v(b, (r) => f1(r.rssPerP / MB)),
          v(w, (r) => f2(r.cpuPerP)),
          v(w, (r) => f1(r.rssPerP / MB)),
          v(w, (r) => f1(r.pssPerP / MB)),
          v(c, (x) => x2(x.cpu)),
          v(c, (x) => x2(x.cpuPerFrame)),
          v(c, (x) => x2(x.rss)),
          v(c, (x) => x2(x.mem)),
          v(c, (x) => `${verdict(x.cpuPass)}${x.browserSaturated ? '*' : ''}`),
          v(c, (x) => verdict(x.rss <= GOAL)),
          v(c, (x) => verdict(x.memPass)),
        ];
      }),
    ),
  );
  out.push('');
  out.push(
    'Media and load per configuration: fps/kbps/audio pps received per directed link (min/avg/max); CPU % of ' +
      `one core (${cores * 100}% = every core busy); bench = this bench's own processes (signaling server; the ` +
      'Playwright driver and /proc sampler of the browser); irq = interrupts, mostly the kernel moving the ' +
      "measured side's loopback packets (charged to no process); others = every other process (/proc/stat); " +
      'base = before the first participant (the Node process with engage loaded; Chromium with no page).',
  );
  out.push(
    table(
      [
        'side',
        'K',
        'links ok',
        'setup s',
        'sent video',
        'recv fps',
        'recv kbps avg',
        'audio pps avg',
        'CPU %',
        'CPU s',
        'RSS MB',
        'PSS MB',
        'base RSS/PSS MB',
        'procs',
        'bench CPU %',
        'irq %',
        'others CPU %',
      ],
      results.map((r) => [
        r.mode,
        r.k,
        `${r.linksConnected}/${r.links}`,
        f1(r.setupMs / 1000),
        sentMedia(r),
        mmm(r.recvFps),
        f0(r.recvKbps.avg),
        f1(r.recvAudioPps.avg),
        f0(r.cpuPct),
        f1(r.cpuS),
        f0(r.peakRssBytes / MB),
        f0(r.peakPssBytes / MB),
        `${f0(r.baseRssBytes / MB)}/${f0(r.basePssBytes / MB)}`,
        r.processes,
        f0(r.benchCpuPct),
        r.irqPct === undefined ? '-' : f0(r.irqPct),
        r.otherCpuPct === undefined ? '-' : f0(r.otherCpuPct),
      ]),
      [0, 4],
    ),
  );
  if (marg) {
    out.push('');
    const cpuRange =
      marg.cpuFromK === undefined
        ? 'CPU: none, fewer than two K where the browser did not saturate the machine'
        : `CPU from K=${marg.cpuFromK} to K=${marg.cpuToK}, where the browser did not saturate the machine`;
    out.push(
      `One more participant: the slope of each side's totals (memory from K=${marg.fromK} to K=${marg.toK}; ` +
        `${cpuRange}), without the fixed part (the Node runtime; the browser, GPU and utility processes):`,
    );
    const cpuCell = (side) => (side.cpuS === undefined ? '-' : f2(side.cpuS));
    out.push(
      table(
        ['side', 'CPU s', 'RSS MB', 'PSS MB'],
        [
          ['bots', cpuCell(marg.bots), f1(marg.bots.rssBytes / MB), f1(marg.bots.pssBytes / MB)],
          ['browser', cpuCell(marg.browser), f1(marg.browser.rssBytes / MB), f1(marg.browser.pssBytes / MB)],
        ],
      ),
    );
    out.push(`bot/browser: CPU ${x2(marg.cpu)}, memory (bot RSS / browser PSS) ${x2(marg.mem)}.`);
  }
  const saturated = cmp.filter((c) => c.browserSaturated);
  if (saturated.length > 0) {
    const fps = saturated.map((c) => {
      const r = results.find((x) => x.mode === 'browser' && x.k === c.k);
      return `${f1(r.recvFps.avg)} fps at K=${c.k} (${f0(r.cpuPct)}% CPU)`;
    });
    out.push(
      `* Chromium saturated the ${cores} cores and its pages received only ${fps.join(', ')} per link against the ` +
        "bots' 30, its encoders scaled down: it did much less work than the bots, and its CPU is what the machine " +
        'had, not what K browser participants need. The raw CPU x is no fair test of the goal there; CPU x/frame is ' +
        'closer (still kind to the browser: its frames got smaller too).',
    );
  }
  const noisy = results.filter((r) => r.otherCpuPct > NOISY_NEIGHBOUR_PCT);
  if (noisy.length > 0) {
    out.push(
      `WARNING: other processes used more than ${NOISY_NEIGHBOUR_PCT}% of a core during the window of ` +
        `${noisy.map((r) => `${r.mode} K=${r.k}`).join(', ')}: those numbers are contaminated; run again on a quiet machine.`,
    );
  }
  for (const r of results) {
    if (r.partialMesh) {
      out.push(
        `PARTIAL: ${r.mode} K=${r.k} never completed its mesh (${r.partialMesh}); measured as it was: the browser ` +
          'did less work than a full mesh, which only makes the comparison kinder to it.',
      );
    }
  }
  for (const r of results) {
    if (r.problems?.length > 0) out.push(`page problems, ${r.mode} K=${r.k}: ${r.problems.join('; ')}`);
  }
  for (const f of failures) out.push(`FAILED ${f.side} K=${f.k}: ${f.error.split('\n')[0]}`);
  for (const s of config.skipped) out.push(`SKIPPED ${s.side} K=${s.k}: ${s.why}`);
  const browsers = results.filter((r) => r.mode === 'browser');
  if (browsers.length > 0) {
    const kinds = browsers.at(-1).processKinds;
    out.push(
      `Chromium processes at K=${browsers.at(-1).k}: ${Object.entries(kinds)
        .map(([kind, n]) => `${kind} ${n}`)
        .join(', ')}.`,
    );
  }
  process.stdout.write(`${out.join('\n')}\n`);
}

// ---- main -------------------------------------------------------------------------------------------------

function chromiumVersion() {
  try {
    return execFileSync('/usr/lib/chromium/chromium', ['--version'], { encoding: 'utf8', timeout: 10_000 })
      .trim()
      .replace(/ built on .*/, '');
  } catch {
    return 'Chromium (version unknown)';
  }
}

async function main() {
  let config;
  try {
    config = parseConfig();
  } catch (err) {
    log(`${err.message}\n${usage()}`);
    process.exit(2);
  }
  ensureLoopbackOnly(log);
  config.skipped = [];
  config.loadAtStart = os.loadavg()[0].toFixed(2);
  config.chromium = chromiumVersion();
  config.videoFile = config.camera === 'clip' ? makeCameraFile() : undefined;

  const { SignalingServer } = await import('../dist/signaling/server.js');
  const { webClientHandler } = await import('../dist/web/static.js');
  const server = await SignalingServer.start({
    host: '127.0.0.1',
    port: 0,
    httpFallback: webClientHandler(),
  });

  const plan = config.ks.flatMap((k) => SIDES.map((side) => ({ side, k })));
  const t0 = performance.now();
  const results = [];
  const failures = [];
  for (const { side, k } of plan) {
    const elapsedS = (performance.now() - t0) / 1000;
    // A rough cost: start + setup + settle + window + close; a browser's setup grows with its peer
    // connections once it saturates the machine.
    const estimateS = (side === 'bots' ? 3 : 8 + 4 * connections(k)) + config.settle + config.window;
    if (elapsedS + estimateS > config.budget) {
      config.skipped.push({ side, k, why: `would overrun the ${config.budget} s budget` });
      log(`skip ${side} K=${k}: would overrun the ${config.budget} s budget`);
      continue;
    }
    log(`run ${side} K=${k}`);
    const started = performance.now();
    const outcome = await runConfig(config, server, side, k);
    const tookS = (performance.now() - started) / 1000;
    if (outcome.result) {
      const r = derive(outcome.result);
      results.push(r);
      log(
        `  ${side} K=${k}: CPU ${f1(r.cpuS)} s (${f0(r.cpuPct)}% of a core), RSS ${f0(r.peakRssBytes / MB)} MB, ` +
          `PSS ${f0(r.peakPssBytes / MB)} MB, fps avg ${f1(r.recvFps.avg)} (${tookS.toFixed(1)} s)`,
      );
    } else {
      failures.push({ side, k, error: outcome.error });
      log(`  ${side} K=${k} FAILED: ${outcome.error}`);
    }
  }
  await server.close();
  removeTempDir();
  const cmp = compare(results, config.ks);
  const marg = marginal(results, config.ks, cmp);
  const totalS = (performance.now() - t0) / 1000;
  log(`done in ${totalS.toFixed(0)} s`);
  if (config.json) {
    const { skipped, ...settings } = config;
    process.stdout.write(
      `${JSON.stringify(
        {
          machine: { cores: os.cpus().length, cpu: os.cpus()[0]?.model.trim(), node: process.version },
          settings,
          goal: GOAL,
          results,
          failures,
          skipped,
          comparison: cmp,
          marginal: marg ?? null,
          totalS,
        },
        null,
        2,
      )}\n`,
    );
  } else {
    printReport(config, results, failures, cmp, marg);
  }
}

main().catch((err) => {
  log(err?.stack ?? String(err));
  process.exitCode = 1;
});
