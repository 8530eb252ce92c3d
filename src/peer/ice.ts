import { isIP } from 'node:net';
import {
  type RTCIceServer,
  type RTCPeerConnectionConfig,
  RTCRtpCodecParameters,
  useAbsSendTime,
} from 'werift';
import { UsageError } from '../util/errors.js';
import { hasTurnServer, iceServerHost, urlsOf } from './ice-servers.js';

/** True for 127.0.0.0/8, ::1 and localhost: a server on this machine. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || h.startsWith('::ffff:127.');
  return false;
}

/** True for a loopback IP literal (127.0.0.0/8, ::1, ::ffff:127.x): what a remote candidate may carry. */
export function isLoopbackAddress(address: string): boolean {
  const a = address.toLowerCase();
  if (isIP(a) === 4) return a.startsWith('127.');
  if (isIP(a) === 6) return a === '::1' || a.startsWith('::ffff:127.');
  return false;
}

/**
 * What keeps a bot of a loopback server on loopback whatever the remote side offers: a Chromium page
 * offers host candidates on every interface and would pair over the machine's own address. werift's agent
 * pairs only with loopback remote candidates (so no check and no media goes elsewhere) and answers
 * STUN checks only from loopback (so no peer-reflexive pair is learnt from elsewhere). A candidate
 * named by host name is no IP literal, so it is never paired; werift first resolves a `*.local` name
 * with a multicast mDNS query, which no configuration turns off (Chromium started with engage's flags
 * offers no such names).
 */
export const LOOPBACK_ONLY_REMOTES = {
  iceFilterCandidatePair: (pair: { remoteCandidate: { host: string } }) =>
    isLoopbackAddress(pair.remoteCandidate.host),
  iceFilterStunResponse: (_message: unknown, addr: readonly [string, number]) => isLoopbackAddress(addr[0]),
} satisfies RTCPeerConnectionConfig;

/** VP8 and Opus only: the codecs every browser and the original app share; H264 fails in werift interop. */
function codecs(): RTCPeerConnectionConfig['codecs'] {
  return {
    video: [
      new RTCRtpCodecParameters({
        mimeType: 'video/VP8',
        clockRate: 90000,
        rtcpFeedback: [
          { type: 'nack' },
          { type: 'nack', parameter: 'pli' },
          { type: 'ccm', parameter: 'fir' },
        ],
      }),
    ],
    audio: [new RTCRtpCodecParameters({ mimeType: 'audio/opus', clockRate: 48000, channels: 2 })],
  };
}

/**
 * abs-send-time (webrtc.org): the sender stamps each RTP packet with its NTP send time, 24 bits of
 * 1/2^18 s that wrap every 64 s; browsers negotiate it too. engage reads it to measure media latency.
 */
export const ABS_SEND_TIME_URI = 'http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time';

export interface PeerConfigOptions {
  /** ICE transport policy `relay`: only TURN relay candidates are gathered and paired. */
  relayOnly?: boolean;
}

/**
 * The werift configuration for a link. With a loopback server a bot sends to loopback remote candidates
 * only (LOOPBACK_ONLY_REMOTES), relays included. On loopback (the signaling server and every STUN/TURN server on
 * this machine) a bot offers exactly one 127.0.0.1 host candidate (no interface scan); elsewhere its real
 * interfaces. The given STUN/TURN servers are used either way, werift's default public STUN server
 * never. With `relayOnly` the bot gathers only a TURN relay candidate (ICE transport policy relay), so
 * every packet to its peers goes through the TURN server.
 */
export function peerConfig(
  serverUrl: string,
  iceServers: RTCIceServer[] = [],
  options: PeerConfigOptions = {},
): RTCPeerConnectionConfig {
  if (options.relayOnly && !hasTurnServer(iceServers)) {
    throw new UsageError('--relay-only needs a TURN server: --ice-server turn:user:pass@host:port');
  }
  const host = new URL(serverUrl).hostname;
  const base: RTCPeerConnectionConfig = {
    bundlePolicy: 'max-bundle',
    codecs: codecs(),
    headerExtensions: { video: [useAbsSendTime()], audio: [useAbsSendTime()] },
    iceServers,
    iceTransportPolicy: options.relayOnly ? 'relay' : 'all',
    ...(isLoopbackHost(host) ? LOOPBACK_ONLY_REMOTES : {}),
  };
  const onThisMachine =
    isLoopbackHost(host) && iceServers.every((s) => urlsOf(s).every((u) => isLoopbackHost(iceServerHost(u))));
  if (onThisMachine) {
    return { ...base, iceUseIpv4: false, iceUseIpv6: false, iceAdditionalHostAddresses: ['127.0.0.1'] };
  }
  return base;
}
