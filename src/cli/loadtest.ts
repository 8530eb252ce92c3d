import type { Command } from 'commander';
import { type Progress, runLoadtest } from '../loadtest/runner.js';
import { createRootLogger, LOG_LEVELS, type LogLevel } from '../util/log.js';
import { parseDuration } from '../util/wait.js';
import type { CommandContext } from './context.js';
import { collect, intArg, positiveNumberArg } from './options.js';
import { emitReport } from './report-output.js';

interface LoadtestFlags {
  bots: number;
  rooms: number;
  url?: string[];
  duration: string;
  ramp: number;
  grace: string;
  signalingOnly: boolean;
  video: string;
  audio: string;
  threshold?: string[];
  json?: string;
  html?: string;
  workers: string;
  record?: string;
  sampleInterval: string;
  chatInterval: string;
  browsers: number;
  net?: string[];
  netSchedule?: string;
  iceServer?: string[];
  relayOnly: boolean;
  shard?: string;
  runId?: string;
  startAt?: string;
  metricsPort?: number;
  metricsHost: string;
  metricsHold: string;
  logLevel: LogLevel;
}

function progressLine(p: Progress): string {
  const t = `${Math.floor(p.elapsedS / 60)}:${String(Math.floor(p.elapsedS % 60)).padStart(2, '0')}`;
  return (
    `${t} ${p.phase.padEnd(7)} bots ${p.botsJoined}/${p.botsTarget} · links ${p.linksConnected}/${p.linksExpected}` +
    ` · errors ${p.errors}${p.botsFailed ? ` · bots failed ${p.botsFailed}` : ''}`
  );
}

export function registerLoadtest(program: Command, ctx: CommandContext): void {
  program
    .command('loadtest')
    .summary('run many bots against a server and report')
    .description(
      'Run many bots against a signaling server: n bots over --rooms rooms join at --ramp bots/s, stay --duration, then leave. Measures signaling, connection setup, media, chat and the generator itself; prints a summary, writes reports, and fails on thresholds.\n\n' +
        "Without --url it starts engage serve in a child process on a free loopback port, and reports its metrics and its own CPU apart from the generator's. Bots run in worker threads (one per core).\n\n" +
        'Everything is checked before any bot starts: flags, thresholds against the metric list, and media files (one the sender cannot send is refused, naming the file and why).\n\n' +
        'Exit codes: 0 ok, 1 part of the generator failed (a worker crashed, the embedded server died: the summary says which, and its bots count as failed), 2 usage (bad flag or file, unknown metric in a threshold), 99 a threshold failed, 130 interrupted. The summary and reports are written in every case but 2.',
    )
    .option('-n, --bots <n>', 'number of bots', intArg(1, 100_000), 20)
    .option('--rooms <n>', 'rooms to spread the bots over (round robin)', intArg(1, 100_000), 1)
    .option(
      '--url <url>',
      "signaling server to test (default: an embedded engage serve); repeat it for several instances sharing rooms (engage serve --redis): each room's members are spread over them",
      collect,
    )
    .option('--duration <time>', 'how long bots stay after the last one joined', '30s')
    .option('--ramp <n>', 'bots joining per second', positiveNumberArg, 5)
    .option('--grace <time>', 'time bots get to leave before they are cancelled', '10s')
    .option(
      '--signaling-only',
      'lightweight clients: the full protocol dance with synthetic SDP, no WebRTC',
      false,
    )
    .option(
      '--video <source>',
      'builtin-light (320x180 15 fps), builtin (640x360 30 fps), none, or an IVF/WebM file',
      'builtin-light',
    )
    .option(
      '--audio <source>',
      'builtin-light (120 ms packets), builtin (20 ms), none, or an Ogg/WebM file',
      'builtin-light',
    )
    .option(
      '--threshold <expr>',
      "pass/fail criterion, e.g. 'ice_connect_ms:p(95)<500' (repeatable); bots_failed:count==0 and links_failed:count==0 always apply unless a threshold names that metric",
      collect,
    )
    .option('--json <file>', 'write the summary and a per-second time series as JSON (- for stdout)')
    .option('--html <file>', 'write a self-contained HTML report with charts')
    .option(
      '--workers <n>',
      'worker threads running bots: auto (one per core) or a number; 0 = main thread',
      'auto',
    )
    .option('--record <dir>', 'record every remote track (costly; off by default)')
    .option(
      '--sample-interval <time>',
      'how often each link reports bitrate, fps, loss, jitter, RTT (at least 100ms)',
      '5s',
    )
    .option(
      '--chat-interval <time>',
      'how often each bot pings every member over the data channel (at least 100ms)',
      '5s',
    )
    .option(
      '--browsers <k>',
      'k of the n participants are headless Chromium pages (the page engage serve serves, its fake camera playing the same clip): what humans would see (browser_* metrics); needs Chromium and ffmpeg',
      intArg(0, 100),
      0,
    )
    .option(
      '--net <profile>',
      "impair bots' networks in process: PROFILE for every bot, or SHARE%:PROFILE for a share of them (repeatable), e.g. --net '25%:loss=5%,delay=80ms'; keys as on engage join (loss, burst, delay, jitter, rate, queue, in:/out:)",
      collect,
    )
    .option(
      '--net-schedule <steps>',
      "every bot's network over time, from the run's start, on top of its --net profile: e.g. '20s:loss=15%;40s:loss=0%'",
    )
    .option(
      '--ice-server <url>',
      'STUN/TURN server every bot uses, e.g. turn:user:pass@host:3478 (repeatable)',
      collect,
    )
    .option(
      '--relay-only',
      'bots gather only TURN relay candidates: every link goes through the --ice-server TURN server',
      false,
    )
    .option(
      '--shard <i/n>',
      'run shard i (from 0) of n of this plan; give every shard the same flags, --run-id and --url',
    )
    .option(
      '--run-id <id>',
      'names bots and rooms (load-ID-k); required with --shard, the same on every shard',
    )
    .option(
      '--start-at <time>',
      'begin the ramp at this time (ISO 8601 such as 2026-12-02T01:30:00Z, or Unix seconds), so shards ramp as one',
    )
    .option(
      '--metrics-port <port>',
      'serve live Prometheus metrics at http://HOST:PORT/metrics during the run (0: a free port)',
      intArg(0, 65_535),
    )
    .option('--metrics-host <address>', 'address --metrics-port listens on (0.0.0.0 in a pod)', '127.0.0.1')
    .option('--metrics-hold <time>', 'after the run, keep serving the final metrics this long', '0s')
    .option('--log-level <level>', `one of ${LOG_LEVELS.join(', ')}`, 'warn')
    .addHelpText(
      'after',
      '\nMetrics: ws_connect_ms join_ms join_mesh_ms mesh_ready_ms ice_connect_ms first_frame_ms video_bitrate_kbps\n' +
        '  audio_bitrate_kbps video_fps loss_pct jitter_ms rtt_ms media_latency_ms turn_allocate_ms chat_rtt_ms (trends: avg min max med p(N) count);\n' +
        '  bots_started bots_joined bots_failed links_expected links_connected links_failed links_host links_srflx links_relay\n' +
        '  signal_errors chat_sent chat_received frames_received frames_incomplete frames_corrupt freeze_count freeze_ms (counters: count rate);\n' +
        '  generator_cpu_pct generator_rss_mb generator_loop_lag_ms (gauges: avg min max value)\n' +
        'With --browsers: browser_fps browser_dropped_fps browser_jitter_buffer_ms browser_decode_ms browser_frame_width\n' +
        '  browser_frame_height browser_concealed_pct (trends); browsers_failed browser_frames_decoded browser_frames_dropped\n' +
        '  browser_freeze_count browser_freeze_ms browser_concealed_samples browser_quality_limited_ms (counters);\n' +
        '  browser_cpu_pct browser_pss_mb (gauges)\n' +
        "\nExamples:\n  engage loadtest -n 20\n  engage loadtest -n 5000 --rooms 1000 --signaling-only --ramp 500 --duration 10s\n  engage loadtest -n 12 --rooms 3 --url ws://10.0.0.5:8080 --threshold 'mesh_ready_ms:p(95)<3000' --json report.json --html report.html\n  engage loadtest -n 30 --rooms 6 --url ws://10.0.0.5:8080 --url ws://10.0.0.6:8080 --url ws://10.0.0.7:8080   # a cluster: rooms spread over the instances, each one's /metrics read\n  engage loadtest -n 12 --browsers 2 --threshold 'browser_freeze_count:count==0' --threshold 'browser_fps:p(5)>12'\n  engage loadtest -n 12 --net '25%:loss=5%,delay=80ms' --net-schedule '20s:loss=15%;40s:loss=0%' --threshold 'frames_corrupt:count==0'\n  engage loadtest -n 4 --relay-only --ice-server turn:user:pass@127.0.0.1:3478 --threshold 'links_relay:count==6'\n" +
        '  # one plan on three machines, merged into one exact report:\n' +
        '  engage loadtest -n 60 --url ws://10.0.0.5:8080 --run-id r1 --start-at 2026-12-02T01:30:00Z --shard 0/3 --json part0.json   # 1/3, 2/3 elsewhere\n' +
        '  engage report merge part0.json part1.json part2.json --html all.html',
    )
    .action(async (flags: LoadtestFlags) => {
      if (!LOG_LEVELS.includes(flags.logLevel))
        ctx.usage(`--log-level must be one of ${LOG_LEVELS.join(', ')}`);
      const duration = (flag: string, v: string) => {
        try {
          return parseDuration(v);
        } catch (err) {
          return ctx.usage(`${flag}: ${(err as Error).message}`);
        }
      };
      const workers = flags.workers === 'auto' ? undefined : Number(flags.workers);
      const tty = process.stderr.isTTY === true;
      let lastPlain = 0;
      const onProgress = (p: Progress) => {
        if (tty) process.stderr.write(`\r\x1b[2K${progressLine(p)}`);
        else if (p.elapsedS - lastPlain >= 5) {
          lastPlain = p.elapsedS;
          process.stderr.write(`${progressLine(p)}\n`);
        }
      };
      const { summary } = await runLoadtest(
        {
          bots: flags.bots,
          rooms: flags.rooms,
          urls: flags.url,
          durationMs: duration('--duration', flags.duration),
          rampPerS: flags.ramp,
          graceMs: duration('--grace', flags.grace),
          signalingOnly: flags.signalingOnly,
          video: flags.video,
          audio: flags.audio,
          thresholds: flags.threshold ?? [],
          workers,
          recordDir: flags.record,
          sampleIntervalMs: duration('--sample-interval', flags.sampleInterval),
          chatIntervalMs: duration('--chat-interval', flags.chatInterval),
          browsers: flags.browsers,
          net: flags.net,
          netSchedule: flags.netSchedule,
          iceServers: flags.iceServer,
          relayOnly: flags.relayOnly,
          shard: flags.shard,
          runId: flags.runId,
          startAt: flags.startAt,
          metricsPort: flags.metricsPort,
          metricsHost: flags.metricsHost,
          metricsHoldMs: duration('--metrics-hold', flags.metricsHold),
          logger: createRootLogger(flags.logLevel),
        },
        {
          signal: ctx.signal,
          progress: onProgress,
          metricsServing: (url) => process.stderr.write(`live metrics: ${url}\n`),
          metricsHolding: (ms) =>
            process.stderr.write(
              `${tty ? '\r\x1b[2K' : ''}run over; serving its final metrics for ${ms / 1000} s more\n`,
            ),
          // Loading workers takes seconds on a busy machine: say what is happening meanwhile.
          starting: ({ workers, embeddedServer }) => {
            const what = `starting ${workers === 0 ? 'bots on the main thread' : `${workers} worker(s)`}${embeddedServer ? ' and the embedded server' : ''}…`;
            process.stderr.write(tty ? `\r\x1b[2K${what}` : `${what}\n`);
          },
        },
      );
      if (tty) process.stderr.write('\r\x1b[2K');
      await emitReport(summary, { json: flags.json, html: flags.html }, ctx);
    });
}
