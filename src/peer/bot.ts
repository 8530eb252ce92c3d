import { EventEmitter } from 'node:events';
import type { RTCIceServer } from 'werift';
import { SignalingClient } from '../signaling/client.js';
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
  /** A member left or its link ended. */
  linkClosed: [link: PeerLink, reason: string];
  /** The signaling server refused something. */
  refused: [code: string, message: string];
  /** The signaling socket closed while the bot was running. */
  disconnected: [code: number, reason: string];
  closed: [];
}

/**
 * A full member of a mesh room: one signaling client and one PeerLink per other member. Existing members
 * offer to newcomers; when two offers cross (a server that does not order joins), the member whose name
 * sorts first keeps its offer and the other answers it, so each pair ends with exactly one link.
 */
export class Bot extends EventEmitter<BotEvents> {
  /** Live links by remote member name. */
  readonly links = new Map<string, PeerLink>();
  /** Offers that crossed ours and were settled by the name tie-break (a server without join ordering). */
  crossedOffers = 0;
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
    signaling.on('join', (peer, channel) => this.startLink(peer, channel, 'offerer'));
    signaling.on('offer', (peer, channel, sdp) => this.onOffer(peer, channel, sdp));
    signaling.on('answer', (peer, _channel, sdp) => this.onAnswer(peer, sdp));
    signaling.on('leave', (peer) => this.endLink(peer, 'left'));
    signaling.on('refused', (code, message) => this.emit('refused', code, message));
    signaling.on('closed', (code, reason) => {
      if (!this.closed) this.emit('disconnected', code, reason);
    });
  }

  /** Connects to the room and announces itself; links form as members answer. */
  static async join(opts: BotOptions): Promise<Bot> {
    // A configuration that cannot work (--relay-only without TURN) fails before anything connects.
    peerConfig(opts.url, opts.iceServers, { relayOnly: opts.relayOnly });
    const signaling = await SignalingClient.connect({
      url: opts.url,
      room: opts.room,
      name: opts.name,
      token: opts.token,
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

  private createLink(peer: string, channel: string, role: LinkRole): PeerLink {
    this.links.get(peer)?.close('replaced');
    const link = new PeerLink({
      localName: this.name,
      remoteName: peer,
      remoteChannel: channel,
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
      if (link.state === 'connected') recorder.requestKeyframe();
    });
    link.on('state', (state) => {
      // Keyframe requests sent before the connection is up are lost.
      if (state === 'connected') for (const r of mine) r.requestKeyframe();
    });
    link.once('closed', () => {
      for (const r of mine) {
        r.close().then(() => {
          this.recorders.delete(r);
          if (r.path) this.emit('recorded', r);
        });
      }
    });
  }

  private startLink(peer: string, channel: string, role: 'offerer'): void {
    if (this.closed) return;
    const link = this.createLink(peer, channel, role);
    link.offer().then(
      (sdp) => {
        if (!link.closed && this.links.get(peer) === link) this.signaling.offer(channel, sdp);
      },
      (err) => this.linkError(link, err),
    );
  }

  private onOffer(peer: string, channel: string, sdp: SessionDescriptionInit): void {
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
    const link = this.createLink(peer, channel, 'answerer');
    link.answer(sdp).then(
      (answer) => {
        if (!link.closed && this.links.get(peer) === link) this.signaling.answer(channel, answer);
      },
      (err) => this.linkError(link, err),
    );
  }

  private onAnswer(peer: string, sdp: SessionDescriptionInit): void {
    const link = this.links.get(peer);
    if (link?.role !== 'offerer' || link.signalingState !== 'have-local-offer') return;
    link.accept(sdp).catch((err) => this.linkError(link, err));
  }

  private endLink(peer: string, reason: string): void {
    this.links.get(peer)?.close(reason);
  }

  private linkError(link: PeerLink, err: unknown): void {
    this.log.warn({ err, remote: link.remoteName }, 'negotiation failed');
    void link.close(`negotiation failed: ${(err as Error)?.message ?? err}`);
  }
}
