import type { Socket } from 'node:dgram';
import type { RTCPeerConnection } from 'werift';
import type { NetShaper } from './shaper.js';

/*
 * How the shaper reaches werift's packets, without a patch. werift 0.25.2's ICE agent (Connection) keeps
 * one protocol object per local candidate in `connection.protocols`:
 *   - a host candidate is a StunProtocol over a UdpTransport: every datagram it sends leaves through
 *     `transport.socket.send` (STUN checks and replies, DTLS, SCTP, and SRTP, which engage's patch sends
 *     straight to the socket), and every datagram it receives enters through `transport.onData`;
 *   - a relay candidate is a StunOverTurnProtocol whose TurnProtocol (`protocol.turn`) sends every TURN
 *     message or ChannelData frame through `turn.send`, over UDP, TCP or TLS to the TURN server, and takes
 *     each received frame, already split out of a TCP stream, into `handleChannelData` or
 *     `handleSTUNMessage`.
 * Those five entry points are wrapped per object (never on a prototype, so other connections are
 * untouched). The objects all exist once gathering completes, and no packet to or from the peer moves
 * before that: an offerer sends its offer only then, an answerer its answer. So the wrap happens when the
 * peer connection's gathering state becomes `complete`, before the first connectivity check. The TURN
 * allocation (made while gathering) is not shaped; its refreshes, permissions and channel binds are.
 * Over TURN/TCP (or TLS) only the relayed peer data is shaped, whole TURN frames at a time, as if the
 * impairment were beyond the reliable TCP hop; see shapeTurn.
 */

type Address = readonly [string, number];

interface UdpTransportLike {
  type: 'udp';
  socket: Socket;
  onData: (data: Buffer, addr: Address) => void;
}

interface TurnProtocolLike {
  transport: { type: string };
  send(data: Buffer, addr: Address): Promise<void>;
  handleChannelData(data: Buffer): void;
  handleSTUNMessage(data: Buffer, addr: Address): void;
}

interface ProtocolLike {
  type: string;
  transport?: UdpTransportLike;
  turn?: TurnProtocolLike;
}

interface IceTransportLike {
  connection?: { protocols?: ProtocolLike[] };
}

/** How a link's packets travel, as the hook found it (for the stats line). */
export interface ShapedPath {
  kind: 'host' | 'relay';
  /** Transport to the TURN server, for relays: udp, tcp or tls. */
  relayProtocol?: string;
}

export class NetHookError extends Error {
  constructor(message: string) {
    super(`network shaping: ${message} (werift internals differ from 0.25.2)`);
    this.name = 'NetHookError';
  }
}

/**
 * Puts every packet of `pc` through `shaper` from its first connectivity check on. `onError` is told if
 * werift's objects are not what the hook expects: the caller should fail the link rather than let it
 * run unshaped. Returns the paths shaped, filled in once gathering completes.
 */
export function shapePeerConnection(
  pc: RTCPeerConnection,
  shaper: NetShaper,
  onError: (err: Error) => void,
): ShapedPath[] {
  const paths: ShapedPath[] = [];
  const done = new WeakSet<object>();
  const sub = pc.iceGatheringStateChange.subscribe((state) => {
    if (state !== 'complete') return;
    try {
      for (const iceTransport of pc.iceTransports as unknown as IceTransportLike[]) {
        const protocols = iceTransport.connection?.protocols;
        if (!Array.isArray(protocols)) throw new NetHookError('no ICE protocols on the transport');
        for (const protocol of protocols) {
          if (done.has(protocol)) continue;
          done.add(protocol);
          paths.push(shapeProtocol(protocol, shaper));
        }
      }
    } catch (err) {
      sub.unSubscribe();
      onError(err instanceof Error ? err : new Error(String(err)));
    }
  });
  return paths;
}

function shapeProtocol(protocol: ProtocolLike, shaper: NetShaper): ShapedPath {
  if (protocol.type === 'stun') {
    const transport = protocol.transport;
    if (transport?.type !== 'udp' || typeof transport.socket?.send !== 'function') {
      throw new NetHookError('a host candidate without a UDP socket');
    }
    shapeUdpTransport(transport, shaper);
    return { kind: 'host' };
  }
  if (protocol.type === 'turn') {
    const turn = protocol.turn;
    if (
      typeof turn?.send !== 'function' ||
      typeof turn.handleChannelData !== 'function' ||
      typeof turn.handleSTUNMessage !== 'function'
    ) {
      throw new NetHookError('a relay candidate without its TURN client');
    }
    shapeTurn(turn, shaper);
    return { kind: 'relay', relayProtocol: turn.transport?.type };
  }
  throw new NetHookError(`candidates of protocol "${protocol.type}" cannot be shaped (ICE over TCP)`);
}

type SendArgs = unknown[];

function shapeUdpTransport(transport: UdpTransportLike, shaper: NetShaper): void {
  const socket = transport.socket;
  const send = socket.send as (...args: SendArgs) => void;
  (socket as unknown as { send: (...args: SendArgs) => void }).send = (...args: SendArgs) => {
    const data = args[0];
    const size = Buffer.isBuffer(data) ? data.length : 0;
    const sent = shaper.offer('out', size, () => send.apply(socket, args));
    // A lost datagram is silent, as on a real network; a caller waiting for the send callback still gets it.
    const callback = args.at(-1);
    if (!sent && typeof callback === 'function') process.nextTick(callback as () => void, null);
  };
  const onData = transport.onData;
  transport.onData = (data, addr) => {
    shaper.offer('in', data.length, () => onData(data, addr));
  };
}

/** STUN message types of TURN Send and Data indications (RFC 8656): peer data, not control. */
const SEND_INDICATION = 0x0016;
const DATA_INDICATION = 0x0017;

/** A TURN frame carrying peer data: ChannelData (first bits 01) or a Send/Data indication. */
function isPeerData(data: Buffer): boolean {
  if (data.length < 2) return false;
  if ((data[0]! & 0xc0) === 0x40) return true;
  const type = (data[0]! << 8) | data[1]!;
  return type === SEND_INDICATION || type === DATA_INDICATION;
}

function shapeTurn(turn: TurnProtocolLike, shaper: NetShaper): void {
  // Over TCP or TLS the hop to the TURN server is reliable: werift does not retransmit its requests
  // there, and a lost Allocate refresh, permission or channel bind would break the relay where a real
  // network only delays it. So over a stream only peer data is shaped (as if on the relay's far side);
  // over UDP every TURN message is, and werift retransmits requests as it would on a lossy path.
  const controlToo = turn.transport?.type === 'udp';
  const send = turn.send.bind(turn);
  turn.send = (data, addr) => {
    if (!controlToo && !isPeerData(data)) return send(data, addr);
    shaper.offer('out', data.length, () => {
      send(data, addr).catch(() => {});
    });
    return Promise.resolve();
  };
  const channelData = turn.handleChannelData.bind(turn);
  turn.handleChannelData = (data) => {
    shaper.offer('in', data.length, () => channelData(data));
  };
  const stunMessage = turn.handleSTUNMessage.bind(turn);
  turn.handleSTUNMessage = (data, addr) => {
    if (!controlToo && !isPeerData(data)) return stunMessage(data, addr);
    shaper.offer('in', data.length, () => stunMessage(data, addr));
  };
}
