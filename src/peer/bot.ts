import { EventEmitter } from 'node:events';
import type { RTCIceServer } from 'werift';
import { backoffPolicy, newSessionId, type ReconnectPolicy, SignalingClient } from '../signaling/client.js';
import type { SessionDescriptionInit } from '../signaling/protocol.js';
import { type Logger, silentLogger } from '../util/log.js';
import { peerConfig } from './ice.js';
import { type LinkRole, type MediaFeed, PeerLink } from './link.js';
import { TrackRecorder } from './media/recorder.js';
import { NetShaper, type NetShaperOptions } from './net/shaper.js';
import { shapePeerConnection } from './net/werift-hook.js';

export interface BotOptions {
  url: string;
  room: string;
  name: string;
  feeds?: MediaFeed[];
  iceServers?: RTCIceServer[];
  /** For a server run with --auth-secret. */
  token?: string;
  /** Record every remote track under this folder: `<dir>/<room>/<peer>/<start-time>-<kind>.webm`. */
  recordDir?: string;
  /**
   * When the signaling socket drops: how to retry (docs/protocol.md, "Sessions and reconnects"); media
   * links carry on meanwhile. `false` ends the bot's signaling at the first drop ('disconnected').
   * Default: backoffPolicy().
   */
  reconnect?: ReconnectPolicy | false;
  connectTimeoutMs?: number;
  /** Impair this bot's network in process (every link's packets, both directions as the profile says). */
  net?: Omit<NetShaperOptions, 'now'>;
  /** Only TURN relay candidates (ICE transport policy relay); needs a TURN server in iceServers. */
  relayOnly?: boolean;
  signal?: AbortSignal;
  logger?: Logger;
}

export interface BotEvents {
  /** A link to a member was created (before it connects). */
  link: [link: PeerLink];
  /** A chat line arrived on a data channel: untrusted text, never markup. */
  chat: [from: string, text: string];
  /** A recording was finalised. */
  recorded: [recorder: TrackRecorder];
  /** A recording could not start or went wrong; the link carries on without it. */
  recordingFailed: [recorder: TrackRecorder, error: Error];
  /** A member left or its link ended. */
  linkClosed: [link: PeerLink, reason: string];
  /** The signaling server refused something. */
  refused: [code: string, message: string];
  /** The signaling socket dropped; the next attempt starts in `delayMs`. Links carry on. */
  reconnecting: [attempt: number, delayMs: number, reason: string];
  /** Back in the room under the same name and session. */
  reconnected: [attempts: number, outageMs: number];
  /** A member rejoined (its signaling reconnected) and its working link was kept as it was. */
  linkKept: [link: PeerLink];
  /** Signaling ended for good while the bot was running (no reconnect, or the policy gave up). */
  disconnected: [code: number, reason: string];
  closed: [];
}

/**
 * A full member of a mesh room: one signaling client and one PeerLink per other member. Existing members
 * offer to newcomers; when two offers cross (a server that does not order joins), the member whose name
 * sorts first keeps its offer and the other answers it, so each pair ends with exactly one link.
 *
 * Links are peer to peer and outlive the signaling socket: when it drops, the client reconnects and
 * sends new-join again with the bot's session. A member that hears the new-join of a session it holds a
 * connected link to keeps that link; a new session under the same name is a restarted member, and its
 * link is replaced.
 */
export class Bot extends EventEmitter<BotEvents> {
  /** Live links by remote member name. */
  readonly links = new Map<string, PeerLink>();
  /** Offers that crossed ours and were settled by the name tie-break (a server without join ordering). */
  crossedOffers = 0;
  /** Rejoins of members whose link was kept rather than renegotiated. */
  linksKept = 0;
  /** The bot's network shaper, when it was given a profile; undefined means no packet is touched. */
  readonly net: NetShaper | undefined;
  private readonly recorders = new Set<TrackRecorder>();
  private readonly log: Logger;
  private closing: Promise<void> | undefined;
  private readonly config;

  private constructor(
    readonly opts: BotOptions,
    readonly signaling: SignalingClient,
  ) {
    super();
    this.log = (opts.logger ?? silentLogger).child({ component: 'bot', room: opts.room, peer: opts.name });
    this.config = peerConfig(opts.url, opts.iceServers, { relayOnly: opts.relayOnly });
    this.net = opts.net ? new NetShaper(opts.net) : undefined;
    signaling.on('join', (peer, channel, session) => this.onJoin(peer, channel, session));
    signaling.on('offer', (peer, channel, sdp, session) => this.onOffer(peer, channel, sdp, session));
    signaling.on('answer', (peer, channel, sdp, session) => this.onAnswer(peer, channel, sdp, session));
    signaling.on('leave', (peer) => this.endLink(peer, 'left'));
    signaling.on('refused', (code, message) => this.emit('refused', code, message));
    signaling.on('reconnecting', (attempt, delayMs, reason) => {
      if (!this.closed) this.emit('reconnecting', attempt, delayMs, reason);
    });
    signaling.on('reconnected', (attempts, outageMs) => {
      if (!this.closed) this.emit('reconnected', attempts, outageMs);
    });
    signaling.on('closed', (code, reason) => {
      if (!this.closed) this.emit('disconnected', code, reason);
    });
  }

  /** Connects to the room and announces itself; links form as members answer. */
  static async join(opts: BotOptions): Promise<Bot> {
    // A configuration that cannot work (--relay-only without TURN) fails before anything connects.
    peerConfig(opts.url, opts.iceServers, { relayOnly: opts.relayOnly });
    const session = newSessionId();
    const signaling = await SignalingClient.connect({
      url: opts.url,
      room: opts.room,
      name: opts.name,
      token: opts.token,
      session,
      reconnect: opts.reconnect === false ? undefined : (opts.reconnect ?? backoffPolicy({ seed: session })),
      signal: opts.signal,
      logger: opts.logger,
    });
    const bot = new Bot(opts, signaling);
    signaling.start().join();
    return bot;
  }

  get name(): string {
    return this.opts.name;
  }

  get closed(): boolean {
    return this.closing !== undefined;
  }

  /** This run's session: the same on every reconnect, new for every Bot. */
  get session(): string {
    return this.signaling.session;
  }

  /** Completed reconnects of the signaling socket. */
  get reconnects(): number {
    return this.signaling.reconnects;
  }

  /** Sends `"<name>: <text>"` to every member; members whose channel is not open yet get it when it opens. */
  chat(text: string): void {
    const line = `${this.name}: ${text}`;
    for (const link of this.links.values()) link.sendChat(line);
  }

  /** Says `close`, ends every link. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    await this.signaling.close(true);
    await Promise.all([...this.links.values()].map((l) => l.close('bot left')));
    this.links.clear();
    // Links close their recorders; any still finishing are awaited so no received media is lost.
    await Promise.all([...this.recorders].map((r) => r.close()));
    this.net?.close();
    this.emit('closed');
  }

  private createLink(peer: string, channel: string, session: string | undefined, role: LinkRole): PeerLink {
    // PeerLink.close() never rejects: fire and forget.
    void this.links.get(peer)?.close('replaced');
    const link = new PeerLink({
      localName: this.name,
      remoteName: peer,
      remoteChannel: channel,
      remoteSession: session,
      role,
      config: this.config,
      feeds: this.opts.feeds,
      connectTimeoutMs: this.opts.connectTimeoutMs,
      logger: this.opts.logger,
    });
    this.links.set(peer, link);
    if (this.net) {
      shapePeerConnection(link.pc, this.net, (err) => {
        this.log.error({ err, remote: peer }, 'network shaping failed');
        void link.close(`failed: ${err.message}`);
      });
    }
    link.on('chat', (text) => this.emit('chat', peer, text));
    if (this.opts.recordDir !== undefined) this.recordLink(link, this.opts.recordDir);
    link.once('closed', (reason) => {
      if (this.links.get(peer) === link) this.links.delete(peer);
      this.emit('linkClosed', link, reason);
    });
    this.emit('link', link);
    return link;
  }

  private recordLink(link: PeerLink, dir: string): void {
    const mine: TrackRecorder[] = [];
    link.on('track', (track, receiver) => {
      const recorder = new TrackRecorder({
        dir,
        room: this.opts.room,
        peer: link.remoteName,
        track,
        receiver,
        logger: this.opts.logger,
      });
      mine.push(recorder);
      this.recorders.add(recorder);
      recorder.once('failed', (err) => this.emit('recordingFailed', recorder, err));
      if (link.state === 'connected') recorder.requestKeyframe();
    });
    link.on('state', (state) => {
      // Keyframe requests sent before the connection is up are lost.
      if (state === 'connected') for (const r of mine) r.requestKeyframe();
    });
    link.once('closed', () => {
      for (const r of mine) {
        // close() reports its own failures as 'failed' and never rejects; a listener might throw.
        r.close()
          .then(() => {
            this.recorders.delete(r);
            if (r.state === 'finalised') this.emit('recorded', r);
          })
          .catch((err) => this.log.error({ err }, "a 'recorded' listener threw"));
      }
    });
  }

  /**
   * A member announced itself: a newcomer, or a member whose signaling reconnected. A connected link
   * to the same session is kept (only its channel is new); anything else gets a fresh offer.
   */
  private onJoin(peer: string, channel: string, session: string | undefined): void {
    if (this.closed) return;
    const existing = this.links.get(peer);
    if (
      existing &&
      session !== undefined &&
      existing.remoteSession === session &&
      existing.state === 'connected'
    ) {
      existing.remoteChannel = channel;
      this.linksKept++;
      this.log.debug({ remote: peer }, 'member rejoined; keeping its link');
      this.emit('linkKept', existing);
      return;
    }
    this.startLink(peer, channel, session);
  }

  private startLink(peer: string, channel: string, session: string | undefined): void {
    const link = this.createLink(peer, channel, session, 'offerer');
    link.offer().then(
      (sdp) => {
        if (!link.closed && this.links.get(peer) === link) this.signaling.offer(channel, sdp);
      },
      (err) => this.linkError(link, err),
    );
  }

  /** An offer always wins over what we hold (its sender found no working link), crossed offers aside. */
  private onOffer(
    peer: string,
    channel: string,
    sdp: SessionDescriptionInit,
    session: string | undefined,
  ): void {
    if (this.closed) return;
    const existing = this.links.get(peer);
    if (
      existing &&
      existing.role === 'offerer' &&
      existing.state !== 'connected' &&
      existing.remoteChannel === channel
    ) {
      // Crossed offers: the name that sorts first keeps its offer; the other side answers it.
      this.crossedOffers++;
      if (this.name < peer) {
        this.log.debug({ remote: peer }, 'crossed offers: keeping ours');
        return;
      }
      this.log.debug({ remote: peer }, 'crossed offers: answering theirs');
    }
    const link = this.createLink(peer, channel, session, 'answerer');
    link.answer(sdp).then(
      (answer) => {
        if (!link.closed && this.links.get(peer) === link) this.signaling.answer(channel, answer);
      },
      (err) => this.linkError(link, err),
    );
  }

  private onAnswer(
    peer: string,
    channel: string,
    sdp: SessionDescriptionInit,
    session: string | undefined,
  ): void {
    const link = this.links.get(peer);
    if (link?.role !== 'offerer' || link.signalingState !== 'have-local-offer') return;
    // Only the socket we offered to may answer.
    if (link.remoteChannel !== channel) return;
    link.remoteSession ??= session;
    link.accept(sdp).catch((err) => this.linkError(link, err));
  }

  private endLink(peer: string, reason: string): void {
    void this.links.get(peer)?.close(reason);
  }

  private linkError(link: PeerLink, err: unknown): void {
    this.log.warn({ err, remote: link.remoteName }, 'negotiation failed');
    void link.close(`negotiation failed: ${(err as Error)?.message ?? err}`);
  }
}
