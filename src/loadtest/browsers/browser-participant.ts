import type { BrowserContext, Page } from 'playwright-core';
import { JoinMeshTimer } from '../bots/join-mesh.js';
import type { BotSpec, Post } from '../execute/messages.js';
import type { CounterName, TrendName } from '../metrics/catalogue.js';
import type { BrowserRemoteView, BrowserView } from '../metrics/summary.js';
import {
  ANSWER_PINGS_JS,
  type MemberReading,
  type PageReading,
  READ_PAGE_JS,
  RemoteMeter,
} from './page-stats.js';

/** Longest a page gets to load and join its room before it counts as failed. */
export const JOIN_TIMEOUT_MS = 30_000;
/** Longest one reading of the page may take: a hung renderer is a failed participant, not a hung run. */
export const READ_TIMEOUT_MS = 10_000;
/** How often the page's connection states are read (links connected, failed, closed). */
const LINK_POLL_MS = 500;

/** Resolves `p`, or rejects after `ms` saying what took too long. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} took over ${ms / 1000} s`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Running figures of one remote member, folded from its intervals. */
class RemoteAccount {
  readonly meter = new RemoteMeter();
  view: BrowserRemoteView;
  private fpsSum = 0;
  private fpsN = 0;
  private jbSum = 0;
  private jbN = 0;
  private decSum = 0;
  private decN = 0;

  constructor(remote: string) {
    this.view = {
      remote,
      width: 0,
      height: 0,
      fpsAvg: 0,
      fpsMin: 0,
      framesDecoded: 0,
      framesDropped: 0,
      freezeCount: 0,
      freezeMs: 0,
      jitterBufferMs: 0,
      decodeMs: 0,
      concealedSamples: 0,
      stalled: false,
    };
  }

  fold(i: ReturnType<RemoteMeter['next']>): void {
    const v = this.view;
    v.framesDecoded += i.framesDecoded;
    v.framesDropped += i.framesDropped;
    v.freezeCount += i.freezes;
    v.freezeMs += i.freezeMs;
    v.concealedSamples += i.concealedSamples;
    if (i.width > 0) {
      v.width = i.width;
      v.height = i.height;
    }
    if (i.fps !== undefined) {
      if (i.fps === 0 && v.framesDecoded > 0) v.stalled = true;
      v.fpsMin = this.fpsN === 0 ? i.fps : Math.min(v.fpsMin, i.fps);
      this.fpsSum += i.fps;
      this.fpsN++;
      v.fpsAvg = this.fpsSum / this.fpsN;
    }
    if (i.jitterBufferMs !== undefined) {
      this.jbSum += i.jitterBufferMs;
      v.jitterBufferMs = this.jbSum / ++this.jbN;
    }
    if (i.decodeMs !== undefined) {
      this.decSum += i.decodeMs;
      v.decodeMs = this.decSum / ++this.decN;
    }
  }
}

/**
 * One browser participant: a page of the engage web client in its own browser context (its own camera,
 * cookies and connections), joined to its room as a person would open the room's link. It reports what
 * a load bot reports about joining and links, and from the page's own getStats() what a person there
 * would have seen: decoded frame rate, drops, freezes, jitter-buffer and decode delay, the resolution
 * received, concealed audio, and why its own encoder was held back.
 *
 * Every step is bounded: a page that cannot load or join, crashes, or stops answering is one failed
 * participant with the reason; it never holds up the run.
 */
export class BrowserParticipant {
  private page: Page | undefined;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly remotes = new Map<string, RemoteAccount>();
  /** Members whose link is connected now, and whether this page offered (the pair's owner). */
  private readonly connected = new Map<string, boolean>();
  private readonly limitedS = new Map<string, Record<string, number>>();
  /** Whole units of a counter posted so far per member: counters are integers, their totals exact. */
  private readonly posted = new Map<string, number>();
  private reason = 'none';
  private joinedAt = 0;
  private meshReady = false;
  private joinMesh: JoinMeshTimer | undefined;
  private state: 'starting' | 'joined' | 'failed' | 'left' = 'starting';
  private stopping: Promise<void> | undefined;
  private reading = false;

  constructor(
    private readonly spec: BotSpec,
    private readonly context: () => Promise<BrowserContext>,
    private readonly post: Post,
  ) {}

  private get tags() {
    return { bot: this.spec.name, room: this.spec.room };
  }

  /**
   * The page of the room, as a person would open its link: the room's path under the server's URL, as
   * the bots' sockets have it (`ws://host/ws` gives `http://host/ws/room/<room>/`, which the page knows).
   */
  static pageUrl(spec: BotSpec): string {
    const u = new URL(spec.url);
    u.protocol = u.protocol === 'wss:' ? 'https:' : 'http:';
    u.pathname = `${u.pathname.replace(/\/$/, '')}/room/${encodeURIComponent(spec.room)}/`;
    u.search = `?username=${encodeURIComponent(spec.name)}`;
    return u.toString();
  }

  async start(): Promise<void> {
    this.post({ type: 'count', metric: 'bots_started', n: 1, ...this.tags });
    const t0 = performance.now();
    try {
      const context = await this.context();
      await context.addInitScript({ content: ANSWER_PINGS_JS });
      const page = await context.newPage();
      this.page = page;
      page.on('crash', () => this.fail('the page crashed (its renderer died)'));
      page.on('close', () => {
        if (!this.stopping) this.fail('the page closed (the browser went away)');
      });
      const url = BrowserParticipant.pageUrl(this.spec);
      const response = await page.goto(url, { timeout: JOIN_TIMEOUT_MS });
      if (response && !response.ok())
        throw new Error(
          `${url} answered HTTP ${response.status()}: the server must serve engage's web page (engage serve does)`,
        );
      await this.untilJoined(t0);
    } catch (err) {
      this.fail(`could not start: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
      return;
    }
    if (this.state !== 'starting') return;
    if (this.stopping) {
      // The run ended while this page was still on its way in: it leaves without having joined.
      this.state = 'left';
      this.post({ type: 'bot', state: 'left', ...this.tags });
      await within(this.page!.context().close(), READ_TIMEOUT_MS, 'closing the page').catch(() => {});
      return;
    }
    this.state = 'joined';
    this.joinedAt = performance.now();
    this.joinMesh = new JoinMeshTimer(this.joinedAt, this.spec.expectedPeers);
    this.post({ type: 'count', metric: 'bots_joined', n: 1, ...this.tags });
    this.post({ type: 'bot', state: 'joined', ...this.tags });
    this.every(LINK_POLL_MS, () => this.read(false));
    this.every(this.spec.sampleIntervalMs, () => this.read(true));
  }

  private async untilJoined(t0: number): Promise<void> {
    for (;;) {
      if (this.stopping || this.state !== 'starting') return;
      const r = await within(this.evaluate(false), READ_TIMEOUT_MS, 'reading the page');
      if (r.joined) return;
      if (r.error) throw new Error(`the page did not join: ${r.error}`);
      if (performance.now() - t0 > JOIN_TIMEOUT_MS)
        throw new Error(`the page did not join its room within ${JOIN_TIMEOUT_MS / 1000} s`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  private evaluate(withStats: boolean): Promise<PageReading> {
    return this.page!.evaluate(`(${READ_PAGE_JS})(${withStats})`) as Promise<PageReading>;
  }

  private every(ms: number, fn: () => void): void {
    const t = setInterval(fn, ms);
    this.timers.push(t);
  }

  /** One reading of the page; with stats, one sample interval. Readings never overlap. */
  private async read(withStats: boolean): Promise<void> {
    if (this.reading || this.state !== 'joined' || this.stopping) return;
    this.reading = true;
    try {
      const r = await within(this.evaluate(withStats), READ_TIMEOUT_MS, 'reading the page');
      if (this.state !== 'joined') return;
      if (!r.joined) {
        this.fail(`the page left its room${r.error ? `: ${r.error}` : ''}`);
        return;
      }
      this.links(r.members);
      if (withStats) this.sample(r.members, performance.now());
    } catch (err) {
      if (this.state === 'joined' && !this.stopping)
        this.fail(`stopped answering: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
    } finally {
      this.reading = false;
    }
  }

  private links(members: MemberReading[]): void {
    const seen = new Set<string>();
    for (const m of members) {
      seen.add(m.name);
      const pairOwner = m.role === 'offerer';
      const was = this.connected.has(m.name);
      // Members already in the room offer to a newcomer: an answering link is one to a member present.
      this.joinMesh?.linked(m.name, m.role === 'answerer');
      if (m.state === 'connected' && !was) {
        this.connected.set(m.name, pairOwner);
        // Seen at this reading: connected at most one poll (LINK_POLL_MS) earlier.
        this.joinMesh?.connected(m.name, performance.now());
        this.post({ type: 'link', state: 'connected', remote: m.name, pairOwner, ...this.tags });
      } else if ((m.state === 'failed' || m.state === 'closed') && was) {
        this.connected.delete(m.name);
        this.post({ type: 'link', state: m.state, remote: m.name, pairOwner, ...this.tags });
      }
    }
    // A member the page dropped (it left) took its connection with it.
    for (const [name, pairOwner] of this.connected) {
      if (seen.has(name)) continue;
      this.connected.delete(name);
      this.post({ type: 'link', state: 'closed', remote: name, pairOwner, ...this.tags });
    }
    const joinMeshMs = this.joinMesh?.take();
    if (joinMeshMs !== undefined)
      this.post({ type: 'trend', metric: 'join_mesh_ms', value: joinMeshMs, ...this.tags });
    if (!this.meshReady && this.connected.size >= this.spec.expectedPeers) {
      this.meshReady = true;
      this.post({
        type: 'trend',
        metric: 'mesh_ready_ms',
        value: performance.now() - this.joinedAt,
        ...this.tags,
      });
    }
  }

  private sample(members: MemberReading[], atMs: number): void {
    const count = (metric: CounterName, n: number) => {
      if (n > 0) this.post({ type: 'count', metric, n, ...this.tags });
    };
    let reason = 'none';
    for (const m of members) {
      if (m.state !== 'connected') continue;
      let account = this.remotes.get(m.name);
      if (!account) {
        account = new RemoteAccount(m.name);
        this.remotes.set(m.name, account);
      }
      const i = account.meter.next(m.video, m.audio, atMs);
      account.fold(i);
      if (m.via) account.view.via = m.via;
      const add = (metric: TrendName, v: number | undefined) => {
        if (v !== undefined) this.post({ type: 'trend', metric, value: v, ...this.tags });
      };
      add('browser_fps', i.fps);
      add('browser_dropped_fps', i.droppedFps);
      add('browser_jitter_buffer_ms', i.jitterBufferMs);
      add('browser_decode_ms', i.decodeMs);
      add('browser_concealed_pct', i.concealedPct);
      if (i.width > 0) {
        add('browser_frame_width', i.width);
        add('browser_frame_height', i.height);
      }
      count('browser_frames_decoded', i.framesDecoded);
      count('browser_frames_dropped', i.framesDropped);
      count('browser_freeze_count', i.freezes);
      this.countTo('browser_freeze_ms', m.name, account.view.freezeMs);
      count('browser_concealed_samples', i.concealedSamples);
      if (m.sending) {
        if (m.sending.qualityLimitationReason !== 'none') reason = m.sending.qualityLimitationReason;
        const before = this.limitedS.get(m.name) ?? {};
        const now = m.sending.qualityLimitationDurations;
        let limitedS = 0;
        for (const [r, s] of Object.entries(now))
          if (r !== 'none') limitedS += Math.max(0, s - (before[r] ?? 0));
        this.limitedS.set(m.name, now);
        count('browser_quality_limited_ms', limitedS * 1000);
      }
    }
    this.reason = reason;
    this.post({ type: 'browser-view', view: this.view(), ...this.tags });
  }

  /** Posts what a member's running `total` of `metric` grew by since the last post, in whole units. */
  private countTo(metric: CounterName, member: string, total: number): void {
    const key = `${metric}|${member}`;
    const n = Math.round(total) - (this.posted.get(key) ?? 0);
    if (n <= 0) return;
    this.posted.set(key, Math.round(total));
    this.post({ type: 'count', metric, n, ...this.tags });
  }

  private view(): BrowserView {
    const limitedMs: Record<string, number> = {};
    for (const durations of this.limitedS.values())
      for (const [r, s] of Object.entries(durations))
        if (r !== 'none') limitedMs[r] = (limitedMs[r] ?? 0) + s * 1000;
    return {
      qualityLimitationReason: this.reason,
      limitedMs,
      remotes: [...this.remotes.values()].map((a) => ({ ...a.view })),
    };
  }

  /** Counted failed once, with the reason; its page is closed (its links with it). */
  fail(reason: string): void {
    if (this.state === 'failed' || this.state === 'left') return;
    const wasJoined = this.state === 'joined';
    this.state = 'failed';
    for (const t of this.timers) clearInterval(t);
    if (wasJoined) this.closeLinks();
    this.post({ type: 'count', metric: 'bots_failed', n: 1, ...this.tags });
    this.post({ type: 'count', metric: 'browsers_failed', n: 1, ...this.tags });
    this.post({ type: 'bot', state: 'failed', error: `browser: ${reason}`, ...this.tags });
    this.page
      ?.context()
      .close()
      .catch(() => {});
  }

  private closeLinks(): void {
    for (const [remote, pairOwner] of this.connected)
      this.post({ type: 'link', state: 'closed', remote, pairOwner, ...this.tags });
    this.connected.clear();
  }

  /**
   * Leaves as a person would (the page's Leave button: `close` to the room), after one last reading so
   * the last interval's freezes and frames count. Idempotent; bounded by READ_TIMEOUT_MS per step.
   */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      for (const t of this.timers) clearInterval(t);
      // Still starting: start() sees `stopping` at its next step and leaves; failed or left: nothing to do.
      if (this.state !== 'joined' || !this.page) return;
      const page = this.page;
      try {
        while (this.reading) await new Promise((r) => setTimeout(r, 20));
        const r = await within(this.evaluate(true), READ_TIMEOUT_MS, 'reading the page');
        if (r.joined) this.sample(r.members, performance.now());
        await within(
          page.evaluate(`document.getElementById('leave-button')?.click()`),
          READ_TIMEOUT_MS,
          'leaving',
        );
      } catch {
        // Leaving is best effort: closing the context below ends its connections anyway.
      }
      if (this.state !== 'joined') return;
      this.state = 'left';
      this.closeLinks();
      this.post({ type: 'bot', state: 'left', ...this.tags });
      await within(page.context().close(), READ_TIMEOUT_MS, 'closing the page').catch(() => {});
    })();
    return this.stopping;
  }
}
