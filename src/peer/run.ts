import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { EngageError, EXIT, UsageError } from '../util/errors.js';
import { type Logger, silentLogger } from '../util/log.js';
import { printable } from '../util/text.js';
import { Bot } from './bot.js';
import { parseIceServer } from './ice-servers.js';
import type { PeerLink } from './link.js';
import { loadFeeds } from './media/feeds.js';
import type { PathCounters } from './net/path.js';
import type { NetSchedule } from './net/schedule.js';
import type { NetShaper } from './net/shaper.js';
import { formatSample, type LinkSample, LinkSampler } from './stats.js';

export interface JoinOptions {
  url: string;
  room: string;
  /** Default: `bot-<4 hex>`. */
  name?: string;
  /** Leave after this long; default: stay until interrupted. */
  durationMs?: number;
  recordDir?: string;
  /** `builtin`, `builtin-light`, `none` or a file. */
  video: string;
  audio: string;
  /** Sent once, when the first data channel opens. */
  chat?: string;
  /** Lines from here are sent as chat (stdin when it is a terminal or a pipe). */
  chatInput?: Readable;
  json: boolean;
  iceServers?: string[];
  /** Only TURN relay candidates (needs a TURN server in iceServers). */
  relayOnly?: boolean;
  /** Impair this bot's network in process: a profile, or a schedule of them (`loss=10%;20s:none`). */
  net?: NetSchedule;
  /** For a server run with --auth-secret. */
  token?: string;
  /** Reconnect to signaling when the socket drops (default true); media links carry on either way. */
  reconnect?: boolean;
  statsIntervalMs?: number;
  logger?: Logger;
}

export interface JoinIo {
  /** One line of output (stdout). */
  out(line: string): void;
  /** Aborts on Ctrl-C / SIGTERM: the bot then leaves cleanly. */
  signal: AbortSignal;
}

export interface JoinResult {
  name: string;
  links: LinkSample[];
  recordings: string[];
  chatReceived: number;
  /** Times the signaling socket dropped and came back. */
  reconnects: number;
}

/** `engage join`: one bot in one room until the duration ends or the signal aborts. */
export async function runJoin(opts: JoinOptions, io: JoinIo): Promise<JoinResult> {
  const name = opts.name ?? `bot-${randomBytes(2).toString('hex')}`;
  const iceServers = (opts.iceServers ?? []).map((s) => {
    try {
      return parseIceServer(s);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
  });
  const feeds = await loadFeeds(opts.video, opts.audio);
  const emit = (event: string, fields: Record<string, unknown>, text: string) =>
    io.out(opts.json ? JSON.stringify({ event, t: new Date().toISOString(), ...fields }) : text);

  let bot: Bot;
  try {
    bot = await Bot.join({
      url: opts.url,
      room: opts.room,
      name,
      feeds,
      iceServers,
      token: opts.token,
      recordDir: opts.recordDir,
      reconnect: opts.reconnect === false ? false : undefined,
      relayOnly: opts.relayOnly,
      net: opts.net
        ? {
            schedule: opts.net,
            // A schedule step is news the moment it applies, not at the next stats line.
            onChange: (profile, step) => emit('net', { profile, step }, `net now ${profile}`),
          }
        : undefined,
      signal: io.signal,
      logger: opts.logger ?? silentLogger,
    });
  } catch (err) {
    if (io.signal.aborted) throw new EngageError('interrupted before joining', EXIT.interrupted);
    if (err instanceof EngageError) throw err;
    throw new EngageError((err as Error).message);
  }
  emit(
    'joined',
    { room: opts.room, name, url: opts.url, net: bot.net?.stats().profile },
    `joined room ${opts.room} as ${name} (${opts.url})${bot.net ? ` with net ${bot.net.stats().profile}` : ''}`,
  );

  const samplers = new Map<PeerLink, LinkSampler>();
  const recordings: string[] = [];
  let chatReceived = 0;
  let chatSent = opts.chat === undefined;

  bot.on('link', (link) => {
    samplers.set(link, new LinkSampler(link));
    link.on('state', (state) => {
      const ms = Math.round(performance.now() - link.startedAt);
      if (state === 'connected' || state === 'failed') {
        emit(
          'link',
          { remote: link.remoteName, state, ms },
          `link ${printable(link.remoteName)} ${state} after ${ms} ms`,
        );
      }
    });
    link.once('channelOpen', () => {
      if (!chatSent && opts.chat !== undefined) {
        chatSent = true;
        bot.chat(opts.chat);
      }
    });
  });
  bot.on('linkClosed', (link, reason) => {
    samplers.delete(link);
    emit(
      'left',
      { remote: link.remoteName, reason },
      `link ${printable(link.remoteName)} closed (${reason})`,
    );
  });
  bot.on('chat', (from, text) => {
    chatReceived++;
    emit('chat', { from, text }, printable(text));
  });
  bot.on('recorded', (r) => {
    recordings.push(r.path!);
    emit('recorded', { path: r.path, kind: r.kind, packets: r.packets }, `recorded ${r.path}`);
  });
  const failedRecordings: string[] = [];
  bot.on('recordingFailed', (r, err) => {
    failedRecordings.push(`${r.path ?? `${r.kind} of ${printable(r.peer)}`}: ${err.message}`);
    emit(
      'recording-failed',
      { remote: r.peer, kind: r.kind, path: r.path, error: err.message },
      `recording ${r.kind} of ${printable(r.peer)} failed: ${err.message}`,
    );
  });
  bot.on('refused', (code, message) =>
    emit('refused', { code, message }, `server refused: ${code}: ${message}`),
  );
  bot.on('reconnecting', (attempt, delayMs, reason) =>
    emit(
      'reconnecting',
      { attempt, delay_ms: delayMs, reason },
      `signaling: ${reason}; reconnecting in ${delayMs} ms (attempt ${attempt}); links carry on`,
    ),
  );
  bot.on('reconnected', (attempts, outageMs) =>
    emit(
      'reconnected',
      { attempts, outage_ms: outageMs, links: bot.links.size },
      `signaling: back in room ${opts.room} after ${outageMs} ms (${attempts} attempt${attempts === 1 ? '' : 's'}); ${bot.links.size} link${bot.links.size === 1 ? '' : 's'} carried on`,
    ),
  );
  bot.on('linkKept', (link) =>
    emit('rejoined', { remote: link.remoteName }, `${printable(link.remoteName)} rejoined; link kept`),
  );

  const lines = opts.chatInput ? createInterface({ input: opts.chatInput, terminal: false }) : undefined;
  // Lines typed while the bot is alone wait for the first member rather than vanish.
  const alone: string[] = [];
  bot.on('link', () => {
    if (alone.length === 0) return;
    queueMicrotask(() => {
      for (const line of alone.splice(0)) bot.chat(line);
    });
  });
  lines?.on('line', (line) => {
    if (line.trim() === '') return;
    if (bot.links.size === 0) alone.push(line);
    else bot.chat(line);
  });

  const sampleAll = async () => Promise.all([...samplers.values()].map((s) => s.sample()));
  const net = bot.net;
  const report = (samples: LinkSample[], final: boolean) => {
    const netStats = net?.stats();
    if (opts.json) return emit(final ? 'final' : 'stats', { links: samples, net: netStats }, '');
    const prefix = final ? 'final: ' : 'stats: ';
    if (samples.length === 0) io.out(`${final ? 'final: ' : ''}no links`);
    for (const s of samples) io.out(`${prefix}${printable(formatSample(s))}`);
    if (net) io.out(`${prefix}${formatNet(net)}`);
  };
  const statsTimer = setInterval(() => {
    sampleAll().then(
      (s) => report(s, false),
      () => {},
    );
  }, opts.statsIntervalMs ?? 5000);
  statsTimer.unref();

  // Run until the duration ends, the user interrupts, or signaling ends for good (no reconnect, or the
  // policy gave up): a server outage the bot reconnects through does not end the run.
  let durationTimer: NodeJS.Timeout | undefined;
  const ended = await new Promise<string>((resolve) => {
    if (opts.durationMs !== undefined) durationTimer = setTimeout(() => resolve('duration'), opts.durationMs);
    io.signal.addEventListener('abort', () => resolve('interrupted'), { once: true });
    bot.once('disconnected', (code, reason) =>
      resolve(`signaling ended: ${reason || 'the server connection closed'} (code ${code})`),
    );
    if (io.signal.aborted) resolve('interrupted');
  });
  clearTimeout(durationTimer);
  clearInterval(statsTimer);

  const final = await sampleAll();
  lines?.close();
  await bot.close();
  report(final, true);
  const reconnects = bot.reconnects;
  emit('left-room', { reason: ended, recordings, reconnects }, `left room ${opts.room} (${ended})`);
  if (ended.startsWith('signaling ended')) throw new EngageError(ended);
  if (failedRecordings.length > 0) {
    throw new EngageError(`${failedRecordings.length} recording(s) failed: ${failedRecordings.join('; ')}`);
  }
  return { name, links: final, recordings, chatReceived, reconnects };
}

/** `net loss=10% · out 1200 packets, 118 lost (9.8%), 0 queue drops · in 1180 packets, 0 lost` */
function formatNet(net: NetShaper): string {
  const s = net.stats();
  const side = (name: string, c: PathCounters) => {
    const pct = c.packets > 0 ? Math.round((1000 * c.lost) / c.packets) / 10 : 0;
    const queue = c.queueDropped > 0 ? `, ${c.queueDropped} queue drops` : '';
    return `${name} ${c.packets} packets, ${c.lost} lost (${pct}%)${queue}`;
  };
  return `net ${s.profile} · ${side('out', s.out)} · ${side('in', s.in)}`;
}
