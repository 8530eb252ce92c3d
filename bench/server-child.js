/**
 * One server under test, in a process of its own (forked by bench/signaling.js), so the load generator does
 * not share its event loop. argv[2] is a JSON config: {kind: 'engage' | 'ceiling', rate?, maxRoomSize?, redis?}
 * (redis: {url, instanceId}, an engage instance sharing rooms through Redis, as `engage serve --redis`).
 *
 * IPC: it first sends {id: 0, url}; then answers each {id, cmd} with {id, ...}:
 *   mem    -> after forced GCs: rss, heapUsed, heapTotal, external, arrayBuffers (bytes)
 *   mark   -> starts a CPU / event-loop-utilisation window
 *   usage  -> CPU ms (user, system), wall ms, event-loop utilisation and delay since the last mark
 *   sockets-> open WebSocket connections as the server counts them
 *   close  -> closes the server, replies, and exits
 * It also exits when the parent goes away, so nothing outlives the bench.
 */
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';

const cfg = JSON.parse(process.argv[2] ?? '{}');

async function startServer() {
  if (cfg.kind === 'engage') {
    // BENCH_ENGAGE_MODULE: another build of server.js to measure (an experiment), instead of dist/.
    const module = process.env.BENCH_ENGAGE_MODULE
      ? pathToFileURL(process.env.BENCH_ENGAGE_MODULE).href
      : '../dist/signaling/server.js';
    const { SignalingServer } = await import(module);
    const server = await SignalingServer.start({
      host: '127.0.0.1',
      port: 0,
      rate: cfg.rate,
      maxRoomSize: cfg.maxRoomSize,
      ...(cfg.redis ? { redis: cfg.redis } : {}),
    });
    return { url: server.url, sockets: () => server.stats.sockets, close: () => server.close() };
  }
  if (cfg.kind === 'ceiling') {
    const { startCeiling } = await import('./ceiling-relay.js');
    return startCeiling({ host: '127.0.0.1', port: 0 });
  }
  throw new Error(`unknown server kind ${cfg.kind}`);
}

async function measureMemory() {
  if (typeof global.gc !== 'function') throw new Error('server child needs --expose-gc');
  for (let i = 0; i < 4; i++) {
    global.gc();
    await sleep(20);
  }
  const m = process.memoryUsage();
  return {
    rss: m.rss,
    heapUsed: m.heapUsed,
    heapTotal: m.heapTotal,
    external: m.external,
    arrayBuffers: m.arrayBuffers,
  };
}

const server = await startServer();
/** Starts a usage window: CPU, event-loop utilisation and event-loop delay (sampled every 2 ms). */
function startMark() {
  const delay = monitorEventLoopDelay({ resolution: 2 });
  delay.enable();
  return { cpu: process.cpuUsage(), elu: performance.eventLoopUtilization(), at: performance.now(), delay };
}

let mark = startMark();
mark.delay.disable();
let closing = false;

async function shutdown() {
  if (closing) return;
  closing = true;
  const timer = setTimeout(() => process.exit(0), 3000);
  timer.unref();
  try {
    await server.close();
  } finally {
    process.exit(0);
  }
}

process.on('disconnect', shutdown);
process.on('message', async (req) => {
  const reply = (body) => process.connected && process.send({ id: req.id, ...body });
  switch (req.cmd) {
    case 'mem':
      return reply(await measureMemory());
    case 'mark':
      mark.delay.disable();
      mark = startMark();
      return reply({});
    case 'usage': {
      const cpu = process.cpuUsage(mark.cpu);
      const elu = performance.eventLoopUtilization(mark.elu);
      mark.delay.disable();
      return reply({
        loopDelayP99Ms: mark.delay.percentile(99) / 1e6,
        loopDelayMaxMs: mark.delay.max / 1e6,
        userMs: cpu.user / 1000,
        systemMs: cpu.system / 1000,
        wallMs: performance.now() - mark.at,
        elu: elu.utilization,
      });
    }
    case 'sockets':
      return reply({ sockets: server.sockets() });
    case 'close':
      reply({});
      return shutdown();
    default:
      return reply({ error: `unknown command ${req.cmd}` });
  }
});
process.send({ id: 0, url: server.url });
