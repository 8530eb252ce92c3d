import { createCipheriv, randomBytes } from 'node:crypto';
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
      const { sender, receiver } = sessions(profile, saltBytes);
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
        // The receive path's own call: the decrypted body as the payload, no copy of the whole packet.
        const received = receiver.remoteContext.decryptRtpPacket(enc);
        expect(received.payload.equals(p.payload)).toBe(true);
        expect(received.header.paddingSize).toBe(padding);
        expect(received.header.sequenceNumber).toBe(stock.header.sequenceNumber);
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

function sessions(profile: number, saltBytes: number): { sender: SrtpSession; receiver: SrtpSession } {
  const a = { key: randomBytes(16), salt: randomBytes(saltBytes) };
  const b = { key: randomBytes(16), salt: randomBytes(saltBytes) };
  const keys = (local: typeof a, remote: typeof a) => ({
    localMasterKey: local.key,
    localMasterSalt: local.salt,
    remoteMasterKey: remote.key,
    remoteMasterSalt: remote.salt,
  });
  return {
    sender: new SrtpSession({ keys: keys(a, b), profile }),
    receiver: new SrtpSession({ keys: keys(b, a), profile }),
  };
}

describe('the patched RTP send path', () => {
  it('clones a header field by field: the same bytes, and the copy moves on its own', () => {
    const p = packet({ padding: 4 });
    const copy = p.clone();
    expect(copy.serialize().equals(p.serialize())).toBe(true);
    copy.header.sequenceNumber = 7;
    copy.header.ssrc = 1;
    expect(p.header.sequenceNumber).toBe(65_535);
    expect(p.header.ssrc).toBe(0x12345678);
  });

  it('serialises a header into a caller buffer exactly as into its own', () => {
    const h = packet().header;
    const own = h.serialize(h.serializeSize);
    const into = h.serializeTo(Buffer.alloc(h.serializeSize + 10, 0xff));
    expect(into.subarray(0, h.serializeSize).equals(own)).toBe(true);
    expect([...into.subarray(h.serializeSize)].every((b) => b === 0xff)).toBe(true);
  });

  it('encrypts AES-128-GCM as RFC 7714 says: header, ciphertext, tag, with IV = (ssrc, ROC, seq) ^ salt', () => {
    const { sender } = sessions(7, 12);
    // The session keys werift derived from the master keys (RFC 3711 KDF); the rest is done here.
    const cipher = (
      sender.localContext as unknown as { cipher: { srtpSessionKey: Buffer; srtpSessionSalt: Buffer } }
    ).cipher;
    for (const seq of [65_534, 65_535, 0, 1]) {
      const p = packet();
      p.header.sequenceNumber = seq;
      const enc = sender.encrypt(p.payload, p.header);
      const roc = seq >= 65_534 ? 0 : 1;
      const iv = Buffer.alloc(12);
      iv.writeUInt32BE(p.header.ssrc, 2);
      iv.writeUInt32BE(roc, 6);
      iv.writeUInt16BE(seq, 10);
      for (let i = 0; i < 12; i++) iv.writeUInt8(iv.readUInt8(i) ^ cipher.srtpSessionSalt.readUInt8(i), i);
      const header = p.header.serialize(p.header.serializeSize);
      const c = createCipheriv('aes-128-gcm', cipher.srtpSessionKey, iv);
      c.setAAD(header);
      const body = c.update(p.payload);
      c.final();
      expect(enc.equals(Buffer.concat([header, body, c.getAuthTag()]))).toBe(true);
    }
  });

  it('moves the rollover counter only for packets that authenticate', () => {
    const { sender, receiver } = sessions(7, 12);
    const sent = [65_533, 65_534, 65_535, 0, 1, 2].map((seq) => {
      const p = packet();
      p.header.sequenceNumber = seq;
      return { seq, payload: p.payload, enc: sender.encrypt(p.payload, p.header) };
    });
    for (const [i, s] of sent.entries()) {
      if (i === 3) {
        // A forged packet with the first sequence number after the wrap must not move the counter.
        const forged = Buffer.from(s.enc);
        forged.writeUInt8(forged.readUInt8(forged.length - 1) ^ 1, forged.length - 1);
        expect(() => receiver.remoteContext.decryptRtp(forged)).toThrow();
        expect(() => receiver.remoteContext.decryptRtpPacket(forged)).toThrow();
      }
      // Alternately through both decryptions: they share the rollover state.
      if (i % 2 === 0) {
        const [plain, header] = receiver.remoteContext.decryptRtp(s.enc);
        expect(header.sequenceNumber).toBe(s.seq);
        expect(plain.subarray(header.payloadOffset).equals(s.payload)).toBe(true);
      } else {
        const received = receiver.remoteContext.decryptRtpPacket(s.enc);
        expect(received.header.sequenceNumber).toBe(s.seq);
        expect(received.payload.equals(s.payload)).toBe(true);
      }
    }
  });
});
