import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { DEFAULTS, MIN_AUTH_SECRET_BYTES } from '../signaling/options.js';
import { runServer } from '../signaling/run.js';
import { createRootLogger, LOG_LEVELS, type LogLevel } from '../util/log.js';
import { webClientHandler } from '../web/static.js';
import type { CommandContext } from './context.js';
import { collect, intArg, positiveNumberArg } from './options.js';

interface ServeFlags {
  host: string;
  port: number;
  maxRoomSize: number;
  maxSockets: number;
  maxMessageBytes: number;
  maxBroadcastBytes: number;
  rate: number;
  broadcastRate: number;
  joinTimeout: number;
  heartbeatInterval: number;
  heartbeatTimeout: number;
  maxBufferedBytes: number;
  allowedOrigin?: string[];
  authSecret?: string;
  tlsCert?: string;
  tlsKey?: string;
  redis?: string;
  instanceId?: string;
  logLevel: LogLevel;
}

const seconds = (ms: number) => ms / 1000;
const MiB16 = 16 << 20;

export function registerServe(program: Command, ctx: CommandContext): void {
  program
    .command('serve')
    .summary('run the signaling server')
    .description(
      'Run the engage signaling server.\n\n' +
        'Rooms live at ws://HOST:PORT/room/<room>/ (the protocol of the original engage app): unique usernames per room, offer/answer relay, peer-left notices. GET /healthz and GET /metrics (Prometheus) on the same port.\n\n' +
        'A browser client is served at http://HOST:PORT/; opening http://HOST:PORT/room/<room>/?username=<name> joins that room as that name.\n\n' +
        'Every limit below protects the rooms from one client: a refused frame gets an error message and the socket stays, unless the protocol says otherwise (docs/protocol.md lists every code).\n\n' +
        'Prints one line with its ws:// URL to stdout; logs go to stderr (JSON, or pretty on a terminal). Ctrl-C or SIGTERM closes every socket with 1001 and exits 0.',
    )
    .option('--host <address>', 'address to listen on', DEFAULTS.host)
    .option('--port <n>', 'port to listen on; 0 picks a free one', intArg(0, 65535), DEFAULTS.port)
    .option(
      '--max-room-size <n>',
      'named members per room before room-full (close 4429); sockets without a name do not count',
      intArg(1),
      DEFAULTS.maxRoomSize,
    )
    .option(
      '--max-sockets <n>',
      'open sockets on the whole server; further upgrades get HTTP 503',
      intArg(1),
      DEFAULTS.maxSockets,
    )
    .option(
      '--join-timeout <s>',
      'seconds a socket may stay without a name (no ?username=, no message) before close 4408',
      positiveNumberArg,
      seconds(DEFAULTS.joinTimeoutMs),
    )
    .option(
      '--max-message-bytes <n>',
      'largest frame accepted; larger ones get too-large',
      intArg(256, MiB16),
      DEFAULTS.maxMessageBytes,
    )
    .option(
      '--max-broadcast-bytes <n>',
      'largest frame that goes to the whole room (custom actions, new-join, close); larger: too-large',
      intArg(256, MiB16),
      DEFAULTS.maxBroadcastBytes,
    )
    .option(
      '--rate <n>',
      'messages per second per socket (burst: twice that)',
      positiveNumberArg,
      DEFAULTS.rate,
    )
    .option(
      '--broadcast-rate <n>',
      'room-wide messages (custom actions, new-join, close) per second per socket (burst: twice that)',
      positiveNumberArg,
      DEFAULTS.broadcastRate,
    )
    .option(
      '--max-buffered-bytes <n>',
      'unsent bytes a socket may queue (its peer stopped reading) before it is cut off',
      intArg(64 * 1024),
      DEFAULTS.maxBufferedBytes,
    )
    .option(
      '--heartbeat-interval <s>',
      'seconds between pings',
      positiveNumberArg,
      seconds(DEFAULTS.heartbeatIntervalMs),
    )
    .option(
      '--heartbeat-timeout <s>',
      'seconds of silence (not even a pong) before a socket is terminated',
      positiveNumberArg,
      seconds(DEFAULTS.heartbeatTimeoutMs),
    )
    .option(
      '--allowed-origin <url>',
      'browser Origin allowed to connect (repeatable; default: any origin)',
      collect,
    )
    .option(
      '--auth-secret <secret>',
      `require ?token=, an HS256 JWT {room, username, exp}; at least ${MIN_AUTH_SECRET_BYTES} bytes (or set ENGAGE_AUTH_SECRET)`,
    )
    .option('--tls-cert <file>', 'PEM certificate: serve wss:// and https://')
    .option('--tls-key <file>', 'PEM private key for --tls-cert')
    .option(
      '--redis <url>',
      'share rooms with every instance on this Redis (redis://[user:pass@]host:port[/db]; or set ENGAGE_REDIS_URL)',
    )
    .option(
      '--instance-id <id>',
      "this instance's name in logs, /healthz and Redis (default: <hostname>-<pid>); only with --redis",
    )
    .option('--log-level <level>', `one of ${LOG_LEVELS.join(', ')}`, 'info')
    .addHelpText(
      'after',
      '\nExamples:\n  engage serve --port 0\n  engage serve --host 0.0.0.0 --allowed-origin https://meet.example.com\n' +
        '  ENGAGE_AUTH_SECRET="$(openssl rand -base64 32)" engage serve --tls-cert cert.pem --tls-key key.pem\n' +
        '  engage serve --port 8081 --redis redis://127.0.0.1:6379 --instance-id a   # and b, c... on other ports\n\n' +
        'With --redis, any member of a room may be on any instance. While Redis is unreachable the instance\n' +
        'refuses upgrades and /healthz with 503, and frames that need the rooms get error "unavailable";\n' +
        'it recovers by itself (docs/cluster.md).',
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
      const redisUrl = flags.redis ?? (process.env.ENGAGE_REDIS_URL || undefined);
      if (flags.instanceId !== undefined && redisUrl === undefined)
        ctx.usage('--instance-id goes with --redis (or ENGAGE_REDIS_URL)');
      const ms = (s: number) => Math.max(1, Math.round(s * 1000));
      const logger = createRootLogger(flags.logLevel);
      await runServer(
        {
          host: flags.host,
          port: flags.port,
          maxRoomSize: flags.maxRoomSize,
          maxSockets: flags.maxSockets,
          joinTimeoutMs: ms(flags.joinTimeout),
          maxMessageBytes: flags.maxMessageBytes,
          maxBroadcastBytes: flags.maxBroadcastBytes,
          rate: flags.rate,
          broadcastRate: flags.broadcastRate,
          maxBufferedBytes: flags.maxBufferedBytes,
          heartbeatIntervalMs: ms(flags.heartbeatInterval),
          heartbeatTimeoutMs: ms(flags.heartbeatTimeout),
          allowedOrigins: flags.allowedOrigin ?? [],
          authSecret: flags.authSecret ?? process.env.ENGAGE_AUTH_SECRET,
          tls,
          logger,
          httpFallback: webClientHandler(),
          redis:
            redisUrl === undefined
              ? undefined
              : {
                  url: redisUrl,
                  ...(flags.instanceId === undefined ? {} : { instanceId: flags.instanceId }),
                },
        },
        ctx.signal,
        (server) =>
          ctx.stdout(
            `engage serve listening on ${server.url} (rooms: /room/<room>/, /healthz, /metrics; ` +
              `web client: ${server.url.replace(/^ws/, 'http')}/)` +
              (redisUrl === undefined ? '' : `; instance ${server.engine.instanceId}, rooms shared on Redis`),
          ),
        { guardProcess: true },
      );
    });
}
