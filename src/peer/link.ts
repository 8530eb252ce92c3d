import { EventEmitter } from 'node:events';
import {
  MediaStreamTrack,
  PictureLossIndication,
  type RTCDataChannel,
  RTCPeerConnection,
  type RTCPeerConnectionConfig,
  type RTCRtpReceiver,
  type RtcpPacket,
  RtcpPayloadSpecificFeedback,
  type RtpPacket,
} from 'werift';
import type { SessionDescriptionInit } from '../signaling/protocol.js';
import { type Logger, silentLogger } from '../util/log.js';
import { within } from '../util/wait.js';
import { GatheringWatch } from './ice-path.js';
import { InboundQuality } from './inbound-quality.js';
import { setupGate } from './setup-gate.js';

/** A source of ready-made RTP packets shared by many links (one clip reader per process). */
export interface MediaFeed {
  readonly kind: 'audio' | 'video';
  subscribe(listener: (packet: RtpPacket) => void): () => void;
  /** A receiver lost the picture (PLI/FIR): skip ahead to a keyframe. */
  requestKeyframe(): void;
}

export type LinkRole = 'offerer' | 'answerer';
export type LinkState = 'new' | 'connecting' | 'connected' | 'failed' | 'closed';

export interface LinkEvents {
  state: [state: LinkState];
  /** The `channel` data channel opened. */
  channelOpen: [];
  chat: [text: string];
  /** The offer/answer exchange completed. */
  negotiated: [];
  /** The first complete video frame arrived. */
  firstFrame: [];
  /** A remote track appeared; its packets flow on `track.onReceiveRtp`. */
  track: [track: MediaStreamTrack, receiver: RTCRtpReceiver];
  closed: [reason: string];
}

export interface LinkOptions {
  localName: string;
  remoteName: string;
  remoteChannel: string;
  /** The remote member's engage session (docs/protocol.md), undefined for clients that send none. */
  remoteSession?: string;
  role: LinkRole;
  config: RTCPeerConnectionConfig;
  feeds?: MediaFeed[];
  /** A link that is not connected this long after it started fails. */
  connectTimeoutMs?: number;
  logger?: Logger;
}

/** Per-kind counters of what arrived on a link, counted as packets come (werift never decodes). */
export interface InboundCounters {
  packets: number;
  bytes: number;
  /** Video: frames completed (RTP marker bit). Audio: packets. */
  frames: number;
  firstPacketAt: number | undefined;
  lastPacketAt: number | undefined;
}

const DATA_CHANNEL_LABEL = 'channel';
/** RFC 5104 Full Intra Request: payload-specific feedback, FMT 4. */
const FIR_FMT = 4;

/**
 * One remote member: a werift RTCPeerConnection with the `channel` data channel, our feeds sent on
 * audio/video transceivers, and the remote tracks exposed for recording and counting.
 */
export class PeerLink extends EventEmitter<LinkEvents> {
  readonly pc: RTCPeerConnection;
  readonly startedAt = performance.now();
  connectedAt: number | undefined;
  /** When the offer/answer exchange completed (answer sent, or answer applied). */
  negotiatedAt: number | undefined;
  firstFrameAt: number | undefined;
  stateValue: LinkState = 'new';
  readonly inbound = {
    audio: newCounters(),
    video: newCounters(),
  };
  /** What our feeds handed to this link once it was connected (before that, packets go nowhere). */
  readonly outbound = { videoFrames: 0, audioPackets: 0 };
  /** The remote member's channel on its current socket: it changes when the member reconnects. */
  remoteChannel: string;
  /** The remote run this link belongs to; a member that restarts has a new one. */
  remoteSession: string | undefined;
  /** Loss before and after repair, media latency, frame integrity and freezes of what arrives. */
  readonly quality: InboundQuality;
  /** ICE gathering times (the TURN allocation time). */
  readonly gathering: GatheringWatch;
  private channel: RTCDataChannel | undefined;
  private readonly chatQueue: string[] = [];
  private readonly unsubscribers: Array<() => void> = [];
  private readonly log: Logger;
  private closing: Promise<void> | undefined;
  private connectTimer: NodeJS.Timeout | undefined;
  /** Held by an offerer from its offer until connected, failed or closed (see setup-gate.ts). */
  private releaseSetupSlot: () => void = () => {};

  constructor(readonly opts: LinkOptions) {
    super();
    this.remoteChannel = opts.remoteChannel;
    this.remoteSession = opts.remoteSession;
    this.log = (opts.logger ?? silentLogger).child({ component: 'link', remote: opts.remoteName });
    this.pc = new RTCPeerConnection(opts.config);
    this.quality = new InboundQuality(opts.feeds);
    this.gathering = new GatheringWatch(this.pc);
    this.pc.connectionStateChange.subscribe((s) => this.onConnectionState(s));
    this.pc.onTrack.subscribe((track) => this.onRemoteTrack(track));
    this.pc.onDataChannel.subscribe((dc) => {
      if (dc.label === DATA_CHANNEL_LABEL) this.adoptChannel(dc);
    });
  }

  get remoteName(): string {
    return this.opts.remoteName;
  }

  get role(): LinkRole {
    return this.opts.role;
  }

  get state(): LinkState {
    return this.stateValue;
  }

  get closed(): boolean {
    return this.closing !== undefined;
  }

  /** Offerer: creates the data channel and transceivers; resolves with the complete offer. */
  async offer(): Promise<SessionDescriptionInit> {
    this.releaseSetupSlot = await setupGate.acquire();
    if (this.closed) {
      this.releaseSetupSlot();
      throw new Error('link closed before its offer');
    }
    this.startConnectTimer();
    this.adoptChannel(this.pc.createDataChannel(DATA_CHANNEL_LABEL, { ordered: true }));
    for (const feed of this.opts.feeds ?? []) {
      this.pc.addTransceiver(this.trackFor(feed), { direction: 'sendrecv' });
    }
    // The original browser client creates transceivers for what it sends; ask for both kinds anyway so a
    // bot that sends nothing still receives.
    for (const kind of ['audio', 'video'] as const) {
      if (!(this.opts.feeds ?? []).some((f) => f.kind === kind))
        this.pc.addTransceiver(kind, { direction: 'recvonly' });
    }
    await this.pc.setLocalDescription(await this.pc.createOffer());
    return this.localDescription();
  }

  /** Answerer: takes the remote offer, attaches our feeds to its transceivers; resolves with the complete answer. */
  async answer(offer: SessionDescriptionInit): Promise<SessionDescriptionInit> {
    this.startConnectTimer();
    await this.pc.setRemoteDescription(offer as never);
    for (const feed of this.opts.feeds ?? []) {
      // addTrack after setRemoteDescription reuses the offer's transceiver of that kind.
      this.pc.addTrack(this.trackFor(feed));
    }
    await this.pc.setLocalDescription(await this.pc.createAnswer());
    const sdp = await this.localDescription();
    this.negotiatedAt = performance.now();
    this.emit('negotiated');
    return sdp;
  }

  async accept(answer: SessionDescriptionInit): Promise<void> {
    await this.pc.setRemoteDescription(answer as never);
    this.negotiatedAt = performance.now();
    this.emit('negotiated');
  }

  get signalingState(): string {
    return this.pc.signalingState;
  }

  /** Sends a chat line; lines sent before the channel opens wait for it, in order. */
  sendChat(text: string): void {
    if (this.closed) return;
    if (this.channel?.readyState === 'open') this.channel.send(text);
    else this.chatQueue.push(text);
  }

  get channelOpen(): boolean {
    return this.channel?.readyState === 'open';
  }

  /** Closes the peer connection and stops the feeds. Idempotent; never rejects. */
  close(reason = 'closed'): Promise<void> {
    this.closing ??= this.shutdown(reason);
    return this.closing;
  }

  private startConnectTimer(): void {
    const ms = this.opts.connectTimeoutMs ?? 20_000;
    this.connectTimer = setTimeout(() => {
      if (this.stateValue !== 'connected') this.fail(`not connected within ${ms} ms`);
    }, ms);
    this.connectTimer.unref();
  }

  private async shutdown(reason: string): Promise<void> {
    clearTimeout(this.connectTimer);
    this.releaseSetupSlot();
    for (const un of this.unsubscribers.splice(0)) un();
    this.quality.close();
    this.setState('closed');
    try {
      await within(this.pc.close(), 2000, `peer connection to ${this.remoteName} to close`);
    } catch (err) {
      this.log.debug({ err }, 'close');
    }
    try {
      this.emit('closed', reason);
    } catch (err) {
      // Callers fire and forget close(): a listener's bug must not become an unhandled rejection.
      this.log.error({ err }, "a 'closed' listener threw");
    }
  }

  private fail(why: string): void {
    if (this.closed) return;
    this.log.warn({ why }, 'link failed');
    this.setState('failed');
    void this.close(`failed: ${why}`);
  }

  private async localDescription(): Promise<SessionDescriptionInit> {
    // No trickle: the description is sent once gathering is complete, every candidate inside.
    if (this.pc.iceGatheringState !== 'complete') {
      await within(
        new Promise<void>((resolve) => {
          const sub = this.pc.iceGatheringStateChange.subscribe((s) => {
            if (s === 'complete') {
              sub.unSubscribe();
              resolve();
            }
          });
        }),
        10_000,
        'ICE gathering to complete',
      );
    }
    const desc = this.pc.localDescription!;
    const sdp: SessionDescriptionInit = { type: desc.type as 'offer' | 'answer', sdp: desc.sdp };
    this.setState('connecting');
    return sdp;
  }

  private trackFor(feed: MediaFeed): MediaStreamTrack {
    const track = new MediaStreamTrack({ kind: feed.kind });
    this.unsubscribers.push(
      feed.subscribe((packet) => {
        // Straight to the track's sender: werift's sender copies the packet before it rewrites the header
        // for this link, so the feed's packet stays intact; writeRtp would copy it once more per link.
        track.onReceiveRtp.execute(packet);
        if (this.stateValue !== 'connected') return;
        if (feed.kind === 'audio') this.outbound.audioPackets++;
        else if (packet.header.marker) this.outbound.videoFrames++;
      }),
    );
    return track;
  }

  private onConnectionState(s: string): void {
    if (this.closed) return;
    if (s === 'connected' && this.stateValue !== 'connected') {
      this.connectedAt = performance.now();
      clearTimeout(this.connectTimer);
      this.releaseSetupSlot();
      this.setState('connected');
      this.watchKeyframeRequests();
    } else if (s === 'failed') {
      this.fail('ICE/DTLS failed');
    } else if (s === 'closed') {
      void this.close('remote closed');
    }
  }

  /**
   * A receiver's PLI or FIR makes our feed jump to its next keyframe. werift 0.25.2 routes a PLI by its
   * sender SSRC first, and on a sendrecv transceiver that SSRC belongs to our own receiver, so the PLI
   * reaches `receiver.onRtcp` rather than `sender.onPictureLossIndication`; FIR it ignores altogether.
   * Both paths are watched, matching the media SSRC of our sender.
   */
  private watchKeyframeRequests(): void {
    for (const t of this.pc.getTransceivers()) {
      const feed = (this.opts.feeds ?? []).find((f) => f.kind === t.kind);
      if (feed?.kind !== 'video') continue;
      const onRtcp = (packet: RtcpPacket) => {
        if (packet.type !== RtcpPayloadSpecificFeedback.type) return;
        const fb = (packet as RtcpPayloadSpecificFeedback).feedback as { count: number; mediaSsrc?: number };
        const isPli = fb.count === PictureLossIndication.count && fb.mediaSsrc === t.sender.ssrc;
        const isFir = fb.count === FIR_FMT;
        if (isPli || isFir) feed.requestKeyframe();
      };
      const subs = [t.receiver.onRtcp.subscribe(onRtcp), t.sender.onRtcp.subscribe(onRtcp)];
      this.unsubscribers.push(() => {
        for (const s of subs) s.unSubscribe();
      });
    }
  }

  private onRemoteTrack(track: MediaStreamTrack): void {
    const counters = track.kind === 'video' ? this.inbound.video : this.inbound.audio;
    const sub = track.onReceiveRtp.subscribe((packet) => {
      counters.packets++;
      counters.bytes += packet.payload.length;
      counters.lastPacketAt = performance.now();
      counters.firstPacketAt ??= counters.lastPacketAt;
      if (track.kind !== 'video' || packet.header.marker) counters.frames++;
      if (track.kind === 'video' && counters.frames === 1 && this.firstFrameAt === undefined) {
        this.firstFrameAt = counters.lastPacketAt;
        this.emit('firstFrame');
      }
    });
    this.unsubscribers.push(() => sub.unSubscribe());
    const receiver = this.pc.getTransceivers().find((t) => t.receiver.tracks.includes(track))?.receiver;
    if (receiver) this.quality.watch(track, receiver);
    if (receiver) this.emit('track', track, receiver);
  }

  private adoptChannel(dc: RTCDataChannel): void {
    this.channel = dc;
    dc.stateChanged.subscribe((s) => {
      if (s !== 'open') return;
      for (const text of this.chatQueue.splice(0)) dc.send(text);
      this.emit('channelOpen');
    });
    dc.onMessage.subscribe((data) =>
      this.emit('chat', typeof data === 'string' ? data : data.toString('utf8')),
    );
  }

  private setState(s: LinkState): void {
    if (this.stateValue === s) return;
    this.stateValue = s;
    this.emit('state', s);
  }
}

function newCounters(): InboundCounters {
  return { packets: 0, bytes: 0, frames: 0, firstPacketAt: undefined, lastPacketAt: undefined };
}
