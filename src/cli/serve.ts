import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { runServer } from '../signaling/run.js';
import { createRootLogger, LOG_LEVELS, type LogLevel } from '../util/log.js';
import { webClientHandler } from '../web/static.js';
import type { CommandContext } from './context.js';
import { collect, intArg, positiveNumberArg } from './options.js';

interface ServeFlags {
  host: string;
  port: number;
  maxRoomSize: number;
  maxMessageBytes: number;
  rate: number;
  allowedOrigin?: string[];
  authSecret?: string;
  tlsCert?: string;
  tlsKey?: string;
  logLevel: LogLevel;
}

export function registerServe(program: Command, ctx: CommandContext): void {
  program
    .command('serve')
    .summary('run the signaling server')
    .description(
      'Run the engage signaling server.\n\n' +
        'Rooms live at ws://HOST:PORT/room/<room>/ (the protocol of the original engage app): unique usernames per room, offer/answer relay, peer-left notices. GET /healthz and GET /metrics (Prometheus) on the same port.\n\n' +
        'A browser client is served at http://HOST:PORT/; opening http://HOST:PORT/room/<room>/?username=<name> joins that room as that name.\n\n' +
        'Prints one line with its ws:// URL to stdout; logs go to stderr (JSON, or pretty on a terminal). Ctrl-C or SIGTERM closes every socket with 1001 and exits 0.',
    )
    .option('--host <address>', 'address to listen on', '127.0.0.1')
    .option('--port <n>', 'port to listen on; 0 picks a free one', intArg(0, 65535), 8080)
    .option('--max-room-size <n>', 'members per room before room-full (close 4429)', intArg(1), 50)
    .option(
      '--max-message-bytes <n>',
      'largest frame accepted; larger ones get too-large',
      intArg(256, 16 << 20),
      65536,
    )
    .option('--rate <n>', 'messages per second per socket (burst: twice that)', positiveNumberArg, 50)
    .option(
      '--allowed-origin <url>',
      'browser Origin allowed to connect (repeatable; default: any origin)',
      collect,
    )
    .option(
      '--auth-secret <secret>',
      'require ?token=, an HS256 JWT {room, username, exp} (or set ENGAGE_AUTH_SECRET)',
    )
    .option('--tls-cert <file>', 'PEM certificate: serve wss:// and https://')
    .option('--tls-key <file>', 'PEM private key for --tls-cert')
    .option('--log-level <level>', `one of ${LOG_LEVELS.join(', ')}`, 'info')
    .addHelpText(
      'after',
      '\nExamples:\n  engage serve --port 0\n  engage serve --host 0.0.0.0 --allowed-origin https://meet.example.com',
    )
    .action(async (flags: ServeFlags) => {
      if (!LOG_LEVELS.includes(flags.logLevel))
        ctx.usage(`--log-level must be one of ${LOG_LEVELS.join(', ')}`);
      if ((flags.tlsCert === undefined) !== (flags.tlsKey === undefined))
        ctx.usage('--tls-cert and --tls-key go together');
      let tls: { cert: Buffer; key: Buffer } | undefined;
      if (flags.tlsCert !== undefined && flags.tlsKey !== undefined) {
        try {
          tls = { cert: readFileSync(flags.tlsCert), key: readFileSync(flags.tlsKey) };
        } catch (err) {
          ctx.usage(`cannot read the TLS files: ${(err as Error).message}`);
        }
      }
      const logger = createRootLogger(flags.logLevel);
      await runServer(
        {
          host: flags.host,
          port: flags.port,
          maxRoomSize: flags.maxRoomSize,
          maxMessageBytes: flags.maxMessageBytes,
          rate: flags.rate,
          allowedOrigins: flags.allowedOrigin ?? [],
          authSecret: flags.authSecret ?? process.env.ENGAGE_AUTH_SECRET,
          tls,
          logger,
          httpFallback: webClientHandler(),
        },
        ctx.signal,
        (server) =>
          ctx.stdout(
            `engage serve listening on ${server.url} (rooms: /room/<room>/, /healthz, /metrics; ` +
              `web client: ${server.url.replace(/^ws/, 'http')}/)`,
          ),
      );
    });
}
