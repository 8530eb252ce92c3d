import { randomBytes } from 'node:crypto';
import { backoffPolicy, newSessionId, SignalingClient } from '../../signaling/client.js';
import type { SessionDescriptionInit } from '../../signaling/protocol.js';
import type { BotSpec, Post } from '../execute/messages.js';
import { botReporter, ReconnectReport } from './bot-join.js';
import { JoinMeshTimer } from './join-mesh.js';

/**
 * A realistic description of audio, video and data with one host candidate (~2.5 KB, what a browser
 * sends without trickle), made once: signaling-only clients stress the server, not themselves.
 */
function syntheticSdp(type: 'offer' | 'answer'): SessionDescriptionInit {
  const ufrag = randomBytes(3).toString('hex');
  const pwd = randomBytes(12).toString('hex');
  const fp = Array.from(randomBytes(32), (b) => b.toString(16).padStart(2, '0').toUpperCase()).join(':');
  const media = (kind: string, mid: number, proto: string, fmt: string, extra: string[]) => [
    `m=${kind} 9 ${proto} ${fmt}`,
    'c=IN IP4 0.0.0.0',
    `a=ice-ufrag:${ufrag}`,
    `a=ice-pwd:${pwd}`,
    `a=fingerprint:sha-256 ${fp}`,
    `a=setup:${type === 'offer' ? 'actpass' : 'active'}`,
    `a=mid:${mid}`,
    'a=candidate:1 1 udp 2130706431 127.0.0.1 9 typ host',
    'a=end-of-candidates',
    ...extra,
  ];
  const lines = [
    'v=0',
    `o=- ${Date.now()} 2 IN IP4 127.0.0.1`,
    's=-',
    't=0 0',
    'a=group:BUNDLE 0 1 2',
    'a=msid-semantic: WMS engage',
    ...media('audio', 0, 'UDP/TLS/RTP/SAVPF', '111', [
      'a=sendrecv',
      'a=rtcp-mux',
      'a=rtpmap:111 opus/48000/2',
      'a=fmtp:111 minptime=10;useinbandfec=1',
      `a=ssrc:${randomBytes(4).readUInt32BE()} cname:engage`,
    ]),
    ...media('video', 1, 'UDP/TLS/RTP/SAVPF', '96', [
      'a=sendrecv',
      'a=rtcp-mux',
      'a=rtpmap:96 VP8/90000',
      'a=rtcp-fb:96 nack',
      'a=rtcp-fb:96 nack pli',
      'a=rtcp-fb:96 ccm fir',
      `a=ssrc:${randomBytes(4).readUInt32BE()} cname:engage`,
    ]),
    ...media('application', 2, 'UDP/DTLS/SCTP', 'webrtc-datachannel', ['a=sctp-port:5000']),
  ];
  return { type, sdp: `${lines.join('\r\n')}\r\n` };
}

const OFFER = syntheticSdp('offer');
const ANSWER = syntheticSdp('answer');

/**
 * A signaling-only client: the full protocol dance (new-join, offers to newcomers, answers to offers)
 * with synthetic descriptions and no WebRTC, so thousands can stress a server from one machine. A
 * "link" is a completed offer/answer exchange.
 *
 * It reconnects as a media bot does (same name, same session, the same backoff) and keeps its links the
 * same way: a rejoin of a member it has negotiated with under the same session is not renegotiated, so a
 * server restart costs the server one new-join per member, as it would with real clients.
 */
export class SignalingLoadBot {
  private client: SignalingClient | undefined;
  private readonly offeredAt = new Map<string, number>();
  /**
   * Members negotiated with: their session (to tell a reconnect, which keeps the link, from a restart,
   * which gets a new offer) and whether this bot offered (each pair is counted by its offerer).
   */
  private readonly negotiated = new Map<string, { session: string | undefined; pairOwner: boolean }>();
  private joinTimed = false;
  private reconnects: ReconnectReport | undefined;
  private joinedAt = 0;
  private meshReady = false;
  private joinMesh: JoinMeshTimer | undefined;
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly spec: BotSpec,
    private readonly post: Post,
  ) {}

  async start(): Promise<void> {
    const { spec, post } = this;
    const report = botReporter(spec, post);
    const { tags } = report;
    const session = newSessionId();
    const joined = await report.join(() =>
      SignalingClient.connect({
        url: spec.url,
        room: spec.room,
        name: spec.name,
        session,
        reconnect: backoffPolicy({ seed: session }),
      }),
    );
    if (!joined) return;
    const client = joined.value;
    this.client = client;
    this.joinedAt = joined.joinedAt;
    this.joinMesh = new JoinMeshTimer(joined.joinedAt, spec.expectedPeers);
    const reconnects = new ReconnectReport(report);
    this.reconnects = reconnects;
    client.on('join', (peer, channel, session) => {
      // A member we negotiated with, back under the same session: it reconnected; the link stands.
      if (session !== undefined && this.negotiated.get(peer)?.session === session) return;
      this.unlink(peer);
      this.offeredAt.set(peer, performance.now());
      client.offer(channel, OFFER);
    });
    client.on('offer', (peer, channel, _sdp, session) => {
      this.unlink(peer);
      this.offeredAt.delete(peer);
      client.answer(channel, ANSWER);
      this.linked(peer, false, session);
    });
    client.on('answer', (peer, _channel, _sdp, session) => {
      if (this.offeredAt.has(peer)) this.linked(peer, true, session);
    });
    client.on('leave', (peer) => this.unlink(peer));
    client.on('refused', (code) => post({ type: 'count', metric: 'signal_errors', n: 1, code, ...tags }));
    client.on('reconnecting', (attempt, _delayMs, reason) => reconnects.reconnecting(attempt, reason));
    client.on('reconnected', (_attempts, outageMs) => reconnects.reconnected(outageMs));
    client.on('closed', (code, reason) => {
      if (!this.stopping) reconnects.gaveUp(code, reason);
    });
    client.start().join();
    if (this.stopping) await client.close();
  }

  /** The link to `peer` ends: it left, restarted, or offers anew (it found no link to keep). */
  private unlink(peer: string): void {
    const link = this.negotiated.get(peer);
    if (!link) return;
    this.negotiated.delete(peer);
    const tags = { bot: this.spec.name, room: this.spec.room };
    this.post({ type: 'link', state: 'closed', remote: peer, pairOwner: link.pairOwner, ...tags });
  }

  private linked(peer: string, pairOwner: boolean, session: string | undefined): void {
    if (this.negotiated.has(peer)) return;
    const tags = { bot: this.spec.name, room: this.spec.room };
    if (!this.joinTimed) {
      this.joinTimed = true;
      this.post({ type: 'trend', metric: 'join_ms', value: performance.now() - this.joinedAt, ...tags });
    }
    this.negotiated.set(peer, { session, pairOwner });
    this.post({ type: 'link', state: 'connected', remote: peer, pairOwner, ...tags });
    // Members already in the room offer to a newcomer: a link it answered is one to a member present.
    this.joinMesh?.linked(peer, !pairOwner);
    this.joinMesh?.connected(peer, performance.now());
    const joinMeshMs = this.joinMesh?.take();
    if (joinMeshMs !== undefined)
      this.post({ type: 'trend', metric: 'join_mesh_ms', value: joinMeshMs, ...tags });
    if (!this.meshReady && this.negotiated.size >= this.spec.expectedPeers) {
      this.meshReady = true;
      this.post({
        type: 'trend',
        metric: 'mesh_ready_ms',
        value: performance.now() - this.joinedAt,
        ...tags,
      });
    }
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      if (!this.client) return;
      this.reconnects?.ended();
      await this.client.close(true);
      this.post({ type: 'bot', state: 'left', bot: this.spec.name, room: this.spec.room });
    })();
    return this.stopping;
  }
}
