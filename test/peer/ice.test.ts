import dgram from 'node:dgram';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { RTCPeerConnection, type RTCSessionDescription } from 'werift';
import { isLoopbackAddress, LOOPBACK_ONLY_REMOTES, peerConfig } from '../../src/peer/ice.js';
import { within } from '../../src/util/wait.js';

describe('isLoopbackAddress', () => {
  it('accepts 127.0.0.0/8 and ::1 literals only', () => {
    for (const a of ['127.0.0.1', '127.255.0.9', '::1', '::ffff:127.0.0.1'])
      expect(isLoopbackAddress(a), a).toBe(true);
    for (const a of [
      '10.0.0.1',
      '192.168.1.20',
      '0.0.0.0',
      '::',
      'fe80::1',
      '::2',
      'localhost',
      'a1b2.local',
      '128.0.0.1',
    ])
      expect(isLoopbackAddress(a), a).toBe(false);
  });
});

describe('peerConfig', () => {
  it('keeps a bot of a loopback server to loopback remotes, with or without STUN/TURN servers', () => {
    for (const url of ['ws://127.0.0.1:8080', 'ws://localhost:1', 'wss://[::1]:443']) {
      expect(peerConfig(url)).toMatchObject(LOOPBACK_ONLY_REMOTES);
      expect(peerConfig(url, [{ urls: 'turn:127.0.0.1:3478' }])).toMatchObject(LOOPBACK_ONLY_REMOTES);
    }
    expect(peerConfig('wss://meet.example.com').iceFilterCandidatePair).toBeUndefined();
  });
});

/** Every UDP datagram this process sends, by destination address. */
function recordDatagrams(): string[] {
  const to: string[] = [];
  const send = dgram.Socket.prototype.send;
  vi.spyOn(dgram.Socket.prototype, 'send').mockImplementation(function (
    this: dgram.Socket,
    ...args: unknown[]
  ) {
    // send(msg, port, address, cb) is werift's form; send(msg, offset, length, port, address, cb) the other.
    const address = args.find((a, i) => i > 0 && typeof a === 'string');
    if (typeof address === 'string') to.push(address);
    return (send as (...a: unknown[]) => void).apply(this, args);
  });
  return to;
}

/** Non-loopback host candidates, first in priority, as a Chromium page on a machine with a LAN offers them. */
function withForeignCandidates(desc: RTCSessionDescription): { type: 'offer'; sdp: string } {
  const foreign = [
    'a=candidate:9001 1 udp 2130706431 192.0.2.10 40000 typ host generation 0',
    'a=candidate:9002 1 udp 2130706431 10.255.255.1 40001 typ host generation 0',
    'a=candidate:9003 1 udp 2130706431 2001:db8::1 40002 typ host generation 0',
  ];
  const sdp = desc.sdp.replace(/(a=candidate:[^\r\n]*\r\n)/, `${foreign.join('\r\n')}\r\n$1`);
  expect(sdp).toContain('192.0.2.10');
  return { type: 'offer', sdp };
}

describe('a bot of a loopback server, offered candidates on other interfaces', () => {
  const open: RTCPeerConnection[] = [];
  afterEach(async () => {
    vi.restoreAllMocks();
    await Promise.all(open.splice(0).map((pc) => pc.close()));
  });

  it('connects over loopback and sends not one datagram anywhere else', async () => {
    const sent = recordDatagrams();
    const remote = new RTCPeerConnection(peerConfig('ws://127.0.0.1:1'));
    const bot = new RTCPeerConnection(peerConfig('ws://127.0.0.1:1'));
    open.push(remote, bot);
    const channel = remote.createDataChannel('channel');
    await remote.setLocalDescription(await remote.createOffer());
    await bot.setRemoteDescription(withForeignCandidates(remote.localDescription!) as never);
    await bot.setLocalDescription(await bot.createAnswer());
    await remote.setRemoteDescription(bot.localDescription!);

    const heard = new Promise<string>((resolve) =>
      bot.onDataChannel.subscribe((dc) => dc.onMessage.subscribe((m) => resolve(m.toString()))),
    );
    await within(
      new Promise((r) => {
        channel.onopen = () => r(undefined);
      }),
      10_000,
      'the data channel to open',
    );
    channel.send('over loopback');
    expect(await within(heard, 10_000, 'the message')).toBe('over loopback');
    // Time for the checks a bot without the filter would have sent to the offered foreign candidates.
    await new Promise((r) => setTimeout(r, 500));

    expect(sent.length).toBeGreaterThan(0);
    expect(sent.filter((a) => !isLoopbackAddress(a))).toEqual([]);
  });
});
