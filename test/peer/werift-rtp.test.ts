import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { RtpHeader, RtpPacket, rtpHeaderExtensionsParser, SrtpSession } from 'werift';
import { ABS_SEND_TIME_URI } from '../../src/peer/ice.js';

// What engage's werift patch changed on the per-packet RTP path (patches/werift+0.25.2.patch) must give
// what werift gave before: the same headers, extensions and payloads.

const MID_URI = 'urn:ietf:params:rtp-hdrext:sdes:mid';

function packet(opts: { padding?: number } = {}): RtpPacket {
  const header = new RtpHeader({
    payloadType: 96,
    sequenceNumber: 65_535,
    timestamp: 0xfffffff0,
    ssrc: 0x12345678,
    marker: true,
    extensions: [
      { id: 1, payload: Buffer.from('0') },
      { id: 3, payload: Buffer.from([0x12, 0x34, 0x56]) },
    ],
  });
  const payload = randomBytes(300);
  const p = new RtpPacket(header, payload);
  if (opts.padding) {
    header.padding = true;
    header.paddingSize = opts.padding;
  }
  return p;
}

describe('the patched RTP receive path', () => {
  it('parses every one-byte extension of a header', () => {
    const raw = packet().serialize();
    const h = RtpHeader.deSerialize(raw);
    expect(h.extensions.map((e) => [e.id, [...e.payload]])).toEqual([
      [1, [0x30]],
      [3, [0x12, 0x34, 0x56]],
    ]);
    expect(h.sequenceNumber).toBe(65_535);
    expect(h.marker).toBe(true);
  });

  it('maps extensions to values by URI, and none to an empty object', () => {
    const h = RtpHeader.deSerialize(packet().serialize());
    const values = rtpHeaderExtensionsParser(h.extensions, { 1: MID_URI, 3: ABS_SEND_TIME_URI });
    expect(values).toEqual({ [MID_URI]: '0', [ABS_SEND_TIME_URI]: 0x123456 });
    expect(rtpHeaderExtensionsParser([], {})).toEqual({});
    expect(rtpHeaderExtensionsParser(h.extensions, { 1: MID_URI })).toEqual({
      [MID_URI]: '0',
      unknown: Buffer.from([0x12, 0x34, 0x56]),
    });
  });

  for (const [name, profile, saltBytes] of [
    ['AES-128-GCM', 7, 12],
    ['AES-128-CM + HMAC-SHA1-80', 1, 14],
  ] as const) {
    it(`takes the header SRTP authenticated as the packet's (${name}), padding included`, () => {
      const key = randomBytes(16);
      const salt = randomBytes(saltBytes);
      const other = { key: randomBytes(16), salt: randomBytes(saltBytes) };
      const sender = new SrtpSession({
        keys: {
          localMasterKey: key,
          localMasterSalt: salt,
          remoteMasterKey: other.key,
          remoteMasterSalt: other.salt,
        },
        profile,
      });
      const receiver = new SrtpSession({
        keys: {
          localMasterKey: other.key,
          localMasterSalt: other.salt,
          remoteMasterKey: key,
          remoteMasterSalt: salt,
        },
        profile,
      });
      for (const padding of [0, 4]) {
        const p = packet({ padding });
        const payload = padding ? Buffer.concat([p.payload, Buffer.from([0, 0, 0, padding])]) : p.payload;
        const enc = sender.encrypt(payload, p.header);
        const [plain, header] = receiver.remoteContext.decryptRtp(enc);
        const patched = new RtpPacket(
          header,
          plain.subarray(header.payloadOffset, plain.length - header.paddingSize),
        );
        const stock = RtpPacket.deSerialize(plain);
        expect(patched.payload.equals(stock.payload)).toBe(true);
        expect(patched.payload.equals(p.payload)).toBe(true);
        for (const field of [
          'sequenceNumber',
          'timestamp',
          'ssrc',
          'marker',
          'payloadType',
          'payloadOffset',
          'paddingSize',
        ] as const) {
          expect(patched.header[field]).toEqual(stock.header[field]);
        }
        expect(patched.header.extensions.map((e) => [e.id, [...e.payload]])).toEqual(
          stock.header.extensions.map((e) => [e.id, [...e.payload]]),
        );
      }
    });
  }
});
