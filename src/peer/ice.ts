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
 * The werift configuration for a link. On loopback a bot offers exactly one 127.0.0.1 candidate (no
 * interface scan, no STUN); elsewhere its real interfaces plus the given STUN/TURN servers. werift's
 * default public STUN server is never used unless asked for.
 */
export function peerConfig(serverUrl: string, iceServers: RTCIceServer[] = []): RTCPeerConnectionConfig {
  const host = new URL(serverUrl).hostname;
  const base: RTCPeerConnectionConfig = { bundlePolicy: 'max-bundle', codecs: codecs() };
  if (isLoopbackHost(host) && iceServers.length === 0) {
    return {
      ...base,
      iceServers: [],
      iceUseIpv4: false,
      iceUseIpv6: false,
      iceAdditionalHostAddresses: ['127.0.0.1'],
    };
  }
  return { ...base, iceServers };
}
