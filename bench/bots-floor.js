/**
 * The floor of bench/bots (forked by bench/bots.js): what K mesh bots in one process cannot avoid spending
 * on their media, measured on this machine in the same run. Nothing but the packets: the same clip feeds
 * (same packets, sizes and rates), K*(K-1)/2 connections of two loopback UDP sockets each, and per packet
 * and direction one SRTP protect (header + abs-send-time extension, as engage sends), one UDP send, one
 * receive and one unprotect with authentication, all with Node's crypto. No ICE, DTLS, RTCP, NACK, stats
 * or measurement. argv[2] is a JSON config: {profile, k, windowS, settleS, cipher: 'gcm' | 'cm'}.
 *   gcm: SRTP_AEAD_AES_128_GCM (what two werift peers negotiate: first in werift's list);
 *   cm:  SRTP_AES128_CM_HMAC_SHA1_80 (AES-128 counter mode + HMAC-SHA1, 80-bit tag).
 *
 * IPC: one {type: 'result', ...} or {type: 'error', message}, then exits.
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import dgram from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';

const cfg = JSON.parse(process.argv[2] ?? '{}');
process.on('disconnect', () => process.exit(0));
const send = (m) => new Promise((resolve) => (process.send ? process.send(m, () => resolve()) : resolve()));

// The load test's workers run with this flag (src/loadtest/execute/gc.ts); so do the bench's bots.
setFlagsFromString('--no-concurrent-array-buffer-sweeping');

/** RTP header 12 bytes + one-byte-header extension block with abs-send-time (4 + 4 bytes). */
const HEADER_BYTES = 20;
const GCM_TAG = 16;
const CM_TAG = 10;

/** One direction of one connection: its SSRC, keys and counters, as an SRTP context holds them. */
function newStream() {
  return {
    ssrc: randomBytes(4).readUInt32BE(0),
    seq: 0,
    key: randomBytes(16),
    salt: randomBytes(cfg.cipher === 'gcm' ? 12 : 14),
    auth: randomBytes(20),
  };
}

function writeHeader(buf, packet, stream) {
  const h = packet.header;
  buf[0] = 0x90; // V=2, X=1
  buf[1] = (h.marker ? 0x80 : 0) | (h.payloadType & 0x7f);
  buf.writeUInt16BE(stream.seq, 2);
  buf.writeUInt32BE(h.timestamp >>> 0, 4);
  buf.writeUInt32BE(stream.ssrc, 8);
  buf.writeUInt16BE(0xbede, 12);
  buf.writeUInt16BE(1, 14);
  buf[16] = 0x22; // id 2, length 3
  const ast = Math.floor(((performance.timeOrigin + performance.now()) / 1000) * 2 ** 18) % 2 ** 24;
  buf[17] = ast >>> 16;
  buf[18] = (ast >>> 8) & 0xff;
  buf[19] = ast & 0xff;
}

function gcmIv(stream, seq) {
  // RFC 7714 8.1: 00 00 || SSRC || ROC || SEQ, XOR the 12-byte salt (ROC 0 over a short window).
  const iv = Buffer.alloc(12);
  iv.writeUInt32BE(stream.ssrc, 2);
  iv.writeUInt16BE(seq, 10);
  for (let i = 0; i < 12; i++) iv[i] ^= stream.salt[i];
  return iv;
}

function cmCounter(stream, seq) {
  const iv = Buffer.alloc(16);
  iv.writeUInt32BE(stream.ssrc, 4);
  iv.writeUInt32BE(seq << 16, 12);
  for (let i = 0; i < 14; i++) iv[i] ^= stream.salt[i];
  return iv;
}

const ROC = Buffer.alloc(4);

function protect(packet, stream) {
  const payload = packet.payload;
  const header = Buffer.allocUnsafe(HEADER_BYTES);
  writeHeader(header, packet, stream);
  const seq = stream.seq;
  stream.seq = (stream.seq + 1) & 0xffff;
  if (cfg.cipher === 'gcm') {
    const c = createCipheriv('aes-128-gcm', stream.key, gcmIv(stream, seq));
    c.setAAD(header);
    const enc = c.update(payload);
    c.final();
    return Buffer.concat([header, enc, c.getAuthTag()]);
  }
  const enc = createCipheriv('aes-128-ctr', stream.key, cmCounter(stream, seq)).update(payload);
  const tag = createHmac('sha1', stream.auth)
    .update(header)
    .update(enc)
    .update(ROC)
    .digest()
    .subarray(0, CM_TAG);
  return Buffer.concat([header, enc, tag]);
}

/** Authenticates and decrypts; returns the payload, or throws on a bad tag. */
function unprotect(buf, stream) {
  const seq = buf.readUInt16BE(2);
  const extWords = buf.readUInt16BE(14);
  const offset = 12 + 4 + extWords * 4;
  const header = buf.subarray(0, offset);
  if (cfg.cipher === 'gcm') {
    const d = createDecipheriv('aes-128-gcm', stream.key, gcmIv(stream, seq));
    d.setAAD(header);
    d.setAuthTag(buf.subarray(buf.length - GCM_TAG));
    const out = d.update(buf.subarray(offset, buf.length - GCM_TAG));
    d.final();
    return out;
  }
  const tagAt = buf.length - CM_TAG;
  const expected = createHmac('sha1', stream.auth)
    .update(buf.subarray(0, tagAt))
    .update(ROC)
    .digest()
    .subarray(0, CM_TAG);
  if (!timingSafeEqual(expected, buf.subarray(tagAt))) throw new Error('SRTP authentication failed');
  return createDecipheriv('aes-128-ctr', stream.key, cmCounter(stream, seq)).update(
    buf.subarray(offset, tagAt),
  );
}

async function bound() {
  const s = dgram.createSocket('udp4');
  await new Promise((resolve, reject) => {
    s.once('error', reject);
    s.bind(0, '127.0.0.1', resolve);
  });
  return s;
}

async function run() {
  const { loadFeeds } = await import('../dist/peer/media/feeds.js');
  const feeds = await loadFeeds(cfg.profile, cfg.profile);
  const counts = { sent: 0, received: 0, bytes: 0, failed: 0 };
  /** Per socket: the directed flows it sends, one stream per feed. */
  const ends = [];
  const sockets = [];
  const pairs = (cfg.k * (cfg.k - 1)) / 2;
  for (let i = 0; i < pairs; i++) {
    const a = await bound();
    const b = await bound();
    sockets.push(a, b);
    for (const [from, to] of [
      [a, b],
      [b, a],
    ]) {
      const streams = new Map(feeds.map((f) => [f.kind, newStream()]));
      const bySsrc = new Map([...streams.values()].map((s) => [s.ssrc, s]));
      ends.push({ socket: from, port: to.address().port, streams });
      to.on('message', (msg) => {
        const stream = bySsrc.get(msg.readUInt32BE(8));
        try {
          const payload = unprotect(msg, stream);
          counts.received++;
          counts.bytes += payload.length;
        } catch {
          counts.failed++;
        }
      });
    }
  }
  const unsubscribe = feeds.map((feed) =>
    feed.subscribe((packet) => {
      for (const end of ends) {
        end.socket.send(protect(packet, end.streams.get(feed.kind)), end.port, '127.0.0.1');
        counts.sent++;
      }
    }),
  );
  await sleep(cfg.settleS * 1000);
  const before = { ...counts };
  const cpu0 = process.cpuUsage();
  const w0 = performance.now();
  await sleep(cfg.windowS * 1000);
  const cpu = process.cpuUsage(cpu0);
  const wallMs = performance.now() - w0;
  const after = { ...counts };
  for (const un of unsubscribe) un();
  for (const s of sockets) s.close();
  return {
    k: cfg.k,
    cipher: cfg.cipher,
    windowS: wallMs / 1000,
    cpuUs: cpu.user + cpu.system,
    cpuPct: ((cpu.user + cpu.system) / 1000 / wallMs) * 100,
    packetsSent: after.sent - before.sent,
    packetsReceived: after.received - before.received,
    authFailures: after.failed - before.failed,
    rssBytes: process.memoryUsage().rss,
  };
}

try {
  await send({ type: 'result', result: await run() });
} catch (err) {
  await send({ type: 'error', message: err?.stack ?? String(err) });
}
process.exit(0);
