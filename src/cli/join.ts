import { fstatSync } from 'node:fs';
import { type Command, InvalidArgumentError } from 'commander';
import { NetSchedule } from '../peer/net/schedule.js';
import { DEFAULT_BACKOFF } from '../signaling/reconnect.js';
import { createRootLogger, LOG_LEVELS, type LogLevel } from '../util/log.js';
import { parseDuration } from '../util/wait.js';
import type { CommandContext } from './context.js';
import { collect } from './options.js';

interface JoinFlags {
  room: string;
  url: string;
  name?: string;
  duration?: string;
  record?: string;
  video: string;
  audio: string;
  chat?: string;
  json: boolean;
  iceServer?: string[];
  relayOnly: boolean;
  net?: NetSchedule;
  token?: string;
  reconnect: boolean;
  statsInterval: string;
  logLevel: LogLevel;
}

/**
 * Chat from stdin only when a person or a pipe is there (a shell pipe is a FIFO, a pipe from another
 * Node process a socket); not from /dev/null, a file or a closed descriptor.
 */
function stdinIsChat(): boolean {
  if (process.stdin.isTTY) return true;
  try {
    const st = fstatSync(0);
    return st.isFIFO() || st.isSocket();
  } catch {
    return false;
  }
}

function netArg(value: string): NetSchedule {
  try {
    return NetSchedule.parse(value, { untimedFirst: true });
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

export function registerJoin(program: Command, ctx: CommandContext): void {
  program
    .command('join')
    .summary('join a room as a headless WebRTC peer')
    .description(
      'Join a mesh room as a headless WebRTC peer (werift): send test video and audio, record every remote track, chat on the data channel.\n\n' +
        'Lines typed on stdin (a terminal or a pipe) are sent as chat; chat received prints to stdout as text. Every 5 s (--stats-interval) a line per link: state, bitrate, loss (after and before repair), jitter, RTT, media latency, frames (complete, incomplete, corrupt) and freezes, and what carried it (host or relay).\n\n' +
        `Media flows peer to peer: when the signaling server goes away (a restart, a network cut) the links carry on while the bot reconnects with backoff (at once, then ~${DEFAULT_BACKOFF.firstDelayMs} ms doubling to ${DEFAULT_BACKOFF.maxDelayMs / 1000} s, for up to ${DEFAULT_BACKOFF.giveUpAfterMs / 60_000} minutes) and rejoins under the same name; members it still has a working link to keep it. Each attempt and the return are printed. --no-reconnect ends the run at the first drop instead (exit 1).\n\n` +
        'Ctrl-C or --duration: leaves the room, finalises recordings and exits 0 (a second Ctrl-C forces exit 130). Exits 1 when signaling ends for good or a recording failed.',
    )
    .requiredOption('--room <room>', 'room to join (A-Z a-z 0-9 _ -, up to 64)')
    .option('--url <url>', 'signaling server', 'ws://127.0.0.1:8080')
    .option('--name <name>', 'username in the room (default: bot-<random>)')
    .option('--duration <time>', 'leave after this long, e.g. 30s, 2m (default: until Ctrl-C)')
    .option('--record <dir>', 'record every remote track to DIR/<room>/<peer>/<start>-<kind>.webm')
    .option(
      '--video <source>',
      'builtin, builtin-light (320x180 15 fps), none, or an IVF/WebM file (VP8)',
      'builtin',
    )
    .option(
      '--audio <source>',
      'builtin, builtin-light (120 ms packets), none, or an Ogg/WebM file (Opus)',
      'builtin',
    )
    .option('--chat <text>', 'send this chat message once the first data channel opens')
    .option('--ice-server <url>', 'STUN/TURN server, e.g. turn:user:pass@host:3478 (repeatable)', collect)
    .option(
      '--relay-only',
      'only TURN relay candidates (ICE transport policy relay): every packet goes through the --ice-server TURN server',
      false,
    )
    .option(
      '--net <profile>',
      "impair this bot's network in process, e.g. loss=5%,delay=40ms,jitter=10ms,rate=1mbit,queue=50ms; " +
        'in:/out:/both: prefixes (default out), burst=N for bursty loss; a schedule: loss=10%;20s:loss=0%',
      netArg,
    )
    .option('--token <jwt>', 'for a server run with --auth-secret: a JWT naming the room and this name')
    .option('--no-reconnect', 'do not reconnect to signaling when the socket drops; end the run (exit 1)')
    .option('--stats-interval <time>', 'how often to print a line per link, e.g. 1s', '5s')
    .option('--json', 'print events and stats as JSON lines on stdout', false)
    .option('--log-level <level>', `one of ${LOG_LEVELS.join(', ')}`, 'warn')
    .addHelpText(
      'after',
      '\nExamples:\n  engage join --room demo --url ws://127.0.0.1:8080 --record recordings --duration 30s\n' +
        '  engage join --room demo --video none --chat "hello" --json\n' +
        '  engage join --room demo --net loss=5%,delay=40ms,in:delay=40ms\n' +
        "  engage join --room demo --net 'loss=15%;20s:loss=0%'   (loss for 20 s, then none)\n" +
        '  engage join --room demo --relay-only --ice-server turn:user:pass@turn.example.com:3478?transport=tcp',
    )
    .action(async (flags: JoinFlags) => {
      if (!LOG_LEVELS.includes(flags.logLevel))
        ctx.usage(`--log-level must be one of ${LOG_LEVELS.join(', ')}`);
      const duration = (flag: string, text: string): number => {
        try {
          return parseDuration(text);
        } catch (err) {
          return ctx.usage(`${flag}: ${(err as Error).message}`);
        }
      };
      const durationMs = flags.duration === undefined ? undefined : duration('--duration', flags.duration);
      const statsIntervalMs = duration('--stats-interval', flags.statsInterval);
      if (statsIntervalMs < 100) ctx.usage('--stats-interval must be at least 100ms');
      // Loaded here, not at import: werift takes ~0.3 s to load, which `engage serve` and `--help` need not pay.
      const { runJoin } = await import('../peer/run.js');
      await runJoin(
        {
          url: flags.url,
          room: flags.room,
          name: flags.name,
          durationMs,
          recordDir: flags.record,
          video: flags.video,
          audio: flags.audio,
          chat: flags.chat,
          chatInput: stdinIsChat() ? process.stdin : undefined,
          json: flags.json,
          iceServers: flags.iceServer,
          relayOnly: flags.relayOnly,
          net: flags.net,
          token: flags.token,
          reconnect: flags.reconnect,
          statsIntervalMs,
          logger: createRootLogger(flags.logLevel),
        },
        { out: ctx.stdout, signal: ctx.signal },
      );
    });
}
