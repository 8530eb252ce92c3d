import { SignalingServer } from '../../signaling/server.js';
import { createRootLogger, LOG_LEVELS, type LogLevel, silentLogger } from '../../util/log.js';
import { webClientHandler } from '../../web/static.js';
import {
  parseServerCommand,
  type ServerProcessConfig,
  type ServerProcessMessage,
} from './server-messages.js';

// The embedded server of `engage loadtest`: the same SignalingServer `engage serve` runs, in a process of
// its own so that its CPU is its own (a worker thread's CPU is counted in the generator's process) and it
// does not share an event loop with the bots. It reports its own CPU and memory once a second, and ends
// when told to or when the run that forked it goes away.
if (!process.send) throw new Error('the embedded server process must be forked with an IPC channel');
const config = JSON.parse(process.argv[2] ?? '{}') as ServerProcessConfig;
const send = (m: ServerProcessMessage) => {
  if (process.connected) process.send!(m);
};
const level = LOG_LEVELS.includes(config.logLevel as LogLevel) ? (config.logLevel as LogLevel) : 'warn';
const logger = level === 'silent' ? silentLogger : createRootLogger(level);

async function main(): Promise<void> {
  let server: SignalingServer;
  try {
    server = await SignalingServer.start({
      host: '127.0.0.1',
      port: Number.isInteger(config.port) ? config.port : 0,
      maxRoomSize: config.maxRoomSize,
      logger,
      // The page `engage serve` serves: browser participants (--browsers) open their room there.
      httpFallback: webClientHandler(),
    });
  } catch (err) {
    send({ type: 'failed', reason: err instanceof Error ? err.message : String(err) });
    process.exitCode = 1;
    process.disconnect();
    return;
  }

  // Sockets are counted ten times a second (a cheap read) so that a short peak between reports is seen.
  let peakSockets = 0;
  const countSockets = () => {
    peakSockets = Math.max(peakSockets, server.stats.sockets);
  };
  const reportUsage = () => {
    countSockets();
    const cpu = process.cpuUsage();
    send({
      type: 'usage',
      cpuUs: cpu.user + cpu.system,
      atMs: performance.now(),
      rssMb: process.memoryUsage.rss() / 1024 / 1024,
      sockets: server.stats.sockets,
      peakSockets,
    });
  };
  send({ type: 'listening', url: server.url });
  reportUsage();
  const usageTimer = setInterval(reportUsage, 1000);
  const socketTimer = setInterval(countSockets, 100);

  let closing = false;
  const shutdown = () => {
    if (closing) return;
    closing = true;
    clearInterval(usageTimer);
    clearInterval(socketTimer);
    // The last reading covers the run's end, before the sockets close.
    reportUsage();
    server
      .close()
      .catch((err: unknown) => {
        logger.error({ err }, 'the embedded server did not close cleanly');
        process.exitCode = 1;
      })
      .finally(() => {
        // Nothing is left to keep the process: it ends on its own, its logs flushed.
        if (process.connected) process.disconnect();
      });
  };
  process.on('message', (m: unknown) => {
    if (parseServerCommand(m)?.type === 'close') shutdown();
  });
  process.on('disconnect', shutdown);
}

main().catch((err: unknown) => {
  process.stderr.write(`engage loadtest: embedded server: ${String(err)}\n`);
  process.exitCode = 1;
  if (process.connected) process.disconnect();
});
