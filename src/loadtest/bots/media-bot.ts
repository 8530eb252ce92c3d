import { Bot, type BotOptions } from '../../peer/bot.js';
import { parseIceServer } from '../../peer/ice-servers.js';
import type { MediaFeed, PeerLink } from '../../peer/link.js';
import { wallClockMs } from '../../peer/media-latency.js';
import { seedFrom } from '../../peer/net/random.js';
import { NetSchedule } from '../../peer/net/schedule.js';
import { type LinkSample, LinkSampler } from '../../peer/stats.js';
import type { BotNetSpec, BotSpec, HostEvent, Post } from '../execute/messages.js';
import { botReporter, ReconnectReport } from './bot-join.js';
import { parseProbeLine, pingLine, pongLine } from './chat-probe.js';
import { JoinMeshTimer } from './join-mesh.js';

/** One full werift bot under load: joins, meshes, samples its links, chats with sequence numbers. */
export class MediaLoadBot {
  private bot: Bot | undefined;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly samplers = new Map<PeerLink, LinkSampler>();
  private readonly pings = new Map<number, number>();
  private seq = 0;
  private joinedAt = 0;
  private meshReady = false;
  private joinMesh: JoinMeshTimer | undefined;
  private negotiated = false;
  private stopping: Promise<void> | undefined;
  private reconnects: ReconnectReport | undefined;

  constructor(
    private readonly spec: BotSpec,
    private readonly feeds: MediaFeed[],
    private readonly post: Post,
  ) {}

  async start(): Promise<void> {
    const { spec, post } = this;
    const report = botReporter(spec, post);
    const { tags } = report;
    const joined = await report.join(() =>
      Bot.join({
        url: spec.url,
        room: spec.room,
        name: spec.name,
        feeds: this.feeds,
        recordDir: spec.recordDir,
        iceServers: spec.iceServers?.map(parseIceServer),
        relayOnly: spec.relayOnly,
        net: spec.net ? botNet(spec.net, spec.name) : undefined,
      }),
    );
    if (!joined) return;
    this.bot = joined.value;
    this.joinedAt = joined.joinedAt;
    this.joinMesh = new JoinMeshTimer(joined.joinedAt, spec.expectedPeers);
    // Stopped while joining: stop() found no bot to close, so leave now.
    if (this.stopping) {
      await this.bot.close();
      post({ type: 'bot', state: 'left', ...tags });
      return;
    }

    const bot = this.bot;
    // Bot.join reconnects by default (backoffPolicy) and keeps every working link through the outage.
    const reconnects = new ReconnectReport(report);
    this.reconnects = reconnects;
    bot.on('reconnecting', (attempt, _delayMs, reason) => reconnects.reconnecting(attempt, reason));
    bot.on('reconnected', (_attempts, outageMs) => reconnects.reconnected(outageMs));
    bot.on('disconnected', (code, reason) => reconnects.gaveUp(code, reason));
    bot.on('link', (link) => this.watch(link));
    bot.on('refused', (code) => post({ type: 'count', metric: 'signal_errors', n: 1, code, ...tags }));
    bot.on('chat', (from, text) => this.onChat(from, text));
    this.every(spec.sampleIntervalMs, () => this.sample());
    this.every(spec.chatIntervalMs, () => this.ping());
  }

  private every(ms: number, fn: () => void): void {
    const t = setInterval(fn, ms);
    t.unref();
    this.timers.push(t);
  }

  private watch(link: PeerLink): void {
    const tags = { bot: this.spec.name, room: this.spec.room };
    const remote = link.remoteName;
    this.samplers.set(link, new LinkSampler(link));
    // Members already in the room offer to a newcomer: an answering link is one to a member present.
    this.joinMesh?.linked(remote, link.role === 'answerer');
    this.checkJoinMesh();
    link.once('negotiated', () => {
      if (this.negotiated) return;
      this.negotiated = true;
      this.post({ type: 'trend', metric: 'join_ms', value: link.negotiatedAt! - this.joinedAt, ...tags });
    });
    link.once('firstFrame', () => {
      this.post({
        type: 'trend',
        metric: 'first_frame_ms',
        value: link.firstFrameAt! - link.startedAt,
        ...tags,
      });
    });
    link.on('state', (state) => {
      const pairOwner = link.role === 'offerer';
      if (state === 'connected') {
        this.post({
          type: 'trend',
          metric: 'ice_connect_ms',
          value: link.connectedAt! - link.startedAt,
          ...tags,
        });
        this.post({ type: 'link', state: 'connected', remote, pairOwner, ...tags });
        this.joinMesh?.connected(remote, link.connectedAt!);
        this.checkJoinMesh();
        const turnMs = link.gathering.turnAllocateMs;
        if (turnMs !== undefined)
          this.post({ type: 'trend', metric: 'turn_allocate_ms', value: turnMs, ...tags });
        this.checkMesh();
      } else if (state === 'failed') {
        this.post({ type: 'link', state: 'failed', remote, pairOwner, ...tags });
      }
    });
    link.once('closed', () => {
      this.samplers.delete(link);
      if (link.connectedAt !== undefined)
        this.post({ type: 'link', state: 'closed', remote, pairOwner: link.role === 'offerer', ...tags });
    });
  }

  private checkJoinMesh(): void {
    const waitMs = this.joinMesh?.take();
    if (waitMs === undefined) return;
    const tags = { bot: this.spec.name, room: this.spec.room };
    this.post({ type: 'trend', metric: 'join_mesh_ms', value: waitMs, ...tags });
  }

  private checkMesh(): void {
    if (this.meshReady || !this.bot) return;
    const connected = [...this.bot.links.values()].filter((l) => l.state === 'connected').length;
    if (connected < this.spec.expectedPeers) return;
    this.meshReady = true;
    const tags = { bot: this.spec.name, room: this.spec.room };
    this.post({ type: 'trend', metric: 'mesh_ready_ms', value: performance.now() - this.joinedAt, ...tags });
  }

  private sample(): void {
    const tags = { bot: this.spec.name, room: this.spec.room };
    for (const sampler of this.samplers.values()) {
      // A link connected a moment ago has no interval worth a rate yet.
      if (sampler.link.state !== 'connected' || performance.now() - sampler.link.connectedAt! < 1000)
        continue;
      sampler.sample().then(
        (s) => {
          // A link that closed while its stats were read has no rate worth reporting for that interval.
          if (this.stopping || sampler.link.state !== 'connected') return;
          this.post(linkSampleEvent(s, sampler.lastLatenciesMs, tags));
        },
        () => {},
      );
    }
  }

  private ping(): void {
    if (!this.bot || this.stopping) return;
    for (const link of this.bot.links.values()) {
      if (!link.channelOpen) continue;
      const seq = this.seq++;
      this.pings.set(seq, performance.now());
      link.sendChat(pingLine(this.spec.name, seq));
      this.post({ type: 'count', metric: 'chat_sent', n: 1, bot: this.spec.name, room: this.spec.room });
    }
    // Pings unanswered after a minute are lost, not pending.
    const stale = performance.now() - 60_000;
    for (const [seq, at] of this.pings) if (at < stale) this.pings.delete(seq);
  }

  private onChat(from: string, text: string): void {
    const line = parseProbeLine(text);
    if (!line || !this.bot) return;
    if (line.kind === 'ping') {
      this.bot.links.get(from)?.sendChat(pongLine(this.spec.name, line.seq));
      return;
    }
    const sentAt = this.pings.get(line.seq);
    if (sentAt === undefined) return;
    this.pings.delete(line.seq);
    const tags = { bot: this.spec.name, room: this.spec.room };
    this.post({ type: 'trend', metric: 'chat_rtt_ms', value: performance.now() - sentAt, ...tags });
    this.post({ type: 'count', metric: 'chat_received', n: 1, ...tags });
  }

  /** Leaves cleanly: close to the room, links closed, recordings finalised. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      for (const t of this.timers) clearInterval(t);
      if (!this.bot) return;
      this.reconnects?.ended();
      await this.bot.close();
      this.post({ type: 'bot', state: 'left', bot: this.spec.name, room: this.spec.room });
    })();
    return this.stopping;
  }
}

/** Per-packet latencies a link reports per sampling interval: a systematic sample, so any rate stays cheap. */
export const LATENCY_SAMPLES_PER_INTERVAL = 20;

/** What a link sample posts: the interval's rates, cumulative packet and frame counts, sampled latencies. */
export function linkSampleEvent(
  s: LinkSample,
  latenciesMs: readonly number[],
  tags: { bot: string; room: string },
): Extract<HostEvent, { type: 'link-sample' }> {
  const f = s.frames;
  return {
    type: 'link-sample',
    remote: s.remote,
    videoKbps: s.videoInKbps,
    audioKbps: s.audioInKbps,
    videoFps: s.videoInFps,
    lossPct: s.lossPct,
    netLossPct: s.netLossPct,
    jitterMs: s.jitterMs,
    rttMs: s.rttMs,
    packetsExpected: s.packetsExpected,
    packetsLost: s.packetsLost,
    packetsLostBeforeRepair: s.packetsLostBeforeRepair,
    frames: {
      received: f.framesReceived,
      incomplete: f.framesIncomplete,
      corrupt: f.framesCorrupt,
      freezeCount: f.freezeCount,
      freezeMs: Math.round(f.freezeMs),
    },
    latencyMs: systematicSample(latenciesMs, LATENCY_SAMPLES_PER_INTERVAL),
    ...(s.candidateType === undefined ? {} : { via: s.candidateType }),
    ...tags,
  };
}

/** Up to `n` values evenly spaced through `values` (all of them when there are fewer). */
function systematicSample(values: readonly number[], n: number): number[] {
  if (values.length <= n) return values.map(round1);
  const step = values.length / n;
  return Array.from({ length: n }, (_, i) => round1(values[Math.floor(i * step + step / 2)]!));
}

const round1 = (v: number) => Math.round(v * 10) / 10;

/** The bot's shaper: its share's profile then the run's schedule, both counted from the run's start. */
function botNet(net: BotNetSpec, name: string): NonNullable<BotOptions['net']> {
  const parts: NetSchedule[] = [];
  if (net.share !== undefined) parts.push(NetSchedule.parse(net.share, { untimedFirst: true }));
  if (net.schedule !== undefined) parts.push(NetSchedule.parse(net.schedule));
  return {
    schedule: NetSchedule.combine(...parts),
    // Worker threads have their own performance.now() origins; wall-clock time is common to all.
    origin: net.originEpochMs - wallClockMs(0),
    seed: seedFrom(name),
  };
}
