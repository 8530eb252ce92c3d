import { isIP } from 'node:net';
import { type RTCIceServer, type RTCPeerConnectionConfig, RTCRtpCodecParameters } from 'werift';

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

/**
 * Parses `--ice-server` values: `stun:host:port`, `turn:host:port?transport=udp`, with credentials as
 * `turn:user:pass@host:port` (the shape most tools print).
 */
export function parseIceServer(text: string): RTCIceServer {
  const m = /^(stuns?|turns?):(?:([^:@]+):([^@]+)@)?(.+)$/.exec(text.trim());
  if (!m)
    throw new Error(`ICE server must look like stun:host:port or turn:user:pass@host:port, got "${text}"`);
  const [, scheme, username, credential, rest] = m;
  const server: RTCIceServer = { urls: `${scheme}:${rest}` };
  if (username !== undefined) {
    server.username = decodeURIComponent(username);
    server.credential = decodeURIComponent(credential!);
  }
  return server;
}

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
 * The werift configuration for a link. With a loopback server a bot sends to loopback remote candidates
 * only (LOOPBACK_ONLY_REMOTES), and without STUN/TURN servers it offers exactly one 127.0.0.1 candidate
 * (no interface scan); elsewhere its real interfaces plus the given STUN/TURN servers. werift's default
 * public STUN server is never used unless asked for.
 */
export function peerConfig(serverUrl: string, iceServers: RTCIceServer[] = []): RTCPeerConnectionConfig {
  const host = new URL(serverUrl).hostname;
  const base: RTCPeerConnectionConfig = { bundlePolicy: 'max-bundle', codecs: codecs() };
  if (!isLoopbackHost(host)) return { ...base, iceServers };
  if (iceServers.length > 0) return { ...base, iceServers, ...LOOPBACK_ONLY_REMOTES };
  return {
    ...base,
    ...LOOPBACK_ONLY_REMOTES,
    iceServers: [],
    iceUseIpv4: false,
    iceUseIpv6: false,
    iceAdditionalHostAddresses: ['127.0.0.1'],
  };
}
