/**
 * The load generator of bench/signaling.js: clients in rooms doing the engage join dance, then relaying
 * offers at a fixed rate or as fast as a bounded window allows. Every client lives in this one process, so
 * the performance.now() a sender stamps into a message and the one its receiver reads share a clock.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { WebSocket } from 'ws';

/**
 * Client sockets send with an all-zero mask (legal for a non-browser client; ws skips the XOR for it) and
 * skip UTF-8 validation, so the load generator spends its core on traffic rather than on busywork.
 * The servers still unmask and validate every frame as they would for any client.
 */
const CLIENT_OPTIONS = {
  perMessageDeflate: false,
  skipUTF8Validation: true,
  generateMask: (mask) => mask.fill(0),
};

/** The latency stamp is the last field of keyword, so a receiver reads it without parsing 4 KB of JSON. */
const STAMP = ',"bench_t":';
/** One relayed offer in this many is parsed in full and its routing checked. */
const VERIFY_EVERY = 64;

/** A plausible browser offer/answer: audio, video and a data channel, ICE complete (no trickle). */
export function syntheticSdp(type, targetBytes) {
  const hex = (n) => randomBytes(n).toString('hex');
  const fingerprint = randomBytes(32).toString('hex').toUpperCase().match(/../g).join(':');
  const ice = [
    `a=ice-ufrag:${randomBytes(3).toString('base64url')}`,
    `a=ice-pwd:${randomBytes(18).toString('base64url')}`,
    'a=ice-options:trickle',
    `a=fingerprint:sha-256 ${fingerprint}`,
    `a=setup:${type === 'offer' ? 'actpass' : 'active'}`,
  ];
  const stream = hex(8);
  const ssrc = () => 1_000_000 + Math.floor(Math.random() * 4_000_000_000);
  const [aSsrc, vSsrc, vRtx] = [ssrc(), ssrc(), ssrc()];
  const head = [
    'v=0',
    `o=- ${BigInt(`0x${hex(7)}`)} 2 IN IP4 127.0.0.1`,
    's=-',
    't=0 0',
    'a=group:BUNDLE 0 1 2',
    'a=extmap-allow-mixed',
    `a=msid-semantic: WMS ${stream}`,
  ];
  const audio = [
    'm=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126',
    'c=IN IP4 0.0.0.0',
    'a=rtcp:9 IN IP4 0.0.0.0',
    ...ice,
    'a=mid:0',
    'a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level',
    'a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time',
    'a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01',
    'a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid',
    'a=sendrecv',
    `a=msid:${stream} ${hex(16)}`,
    'a=rtcp-mux',
    'a=rtpmap:111 opus/48000/2',
    'a=rtcp-fb:111 transport-cc',
    'a=fmtp:111 minptime=10;useinbandfec=1',
    'a=rtpmap:63 red/48000/2',
    'a=fmtp:63 111/111',
    'a=rtpmap:9 G722/8000',
    'a=rtpmap:0 PCMU/8000',
    'a=rtpmap:8 PCMA/8000',
    'a=rtpmap:13 CN/8000',
    'a=rtpmap:110 telephone-event/48000',
    'a=rtpmap:126 telephone-event/8000',
    `a=ssrc:${aSsrc} cname:${hex(8)}`,
    `a=ssrc:${aSsrc} msid:${stream} ${hex(16)}`,
  ];
  const video = [
    'm=video 9 UDP/TLS/RTP/SAVPF 96 97 102 103 104 105 106 107 108 109 127 125 39 40 45 46 98 99 100 101',
    'c=IN IP4 0.0.0.0',
    'a=rtcp:9 IN IP4 0.0.0.0',
    ...ice,
    'a=mid:1',
    'a=extmap:14 urn:ietf:params:rtp-hdrext:toffset',
    'a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time',
    'a=extmap:13 urn:3gpp:video-orientation',
    'a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01',
    'a=extmap:5 http://www.webrtc.org/experiments/rtp-hdrext/playout-delay',
    'a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid',
    'a=sendrecv',
    `a=msid:${stream} ${hex(16)}`,
    'a=rtcp-mux',
    'a=rtcp-rsize',
  ];
  const codecs = [
    [96, 'VP8/90000', null],
    [102, 'H264/90000', 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f'],
    [104, 'H264/90000', 'level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42001f'],
    [106, 'H264/90000', 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f'],
    [108, 'H264/90000', 'level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42e01f'],
    [127, 'H264/90000', 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=4d001f'],
    [39, 'H264/90000', 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=64001f'],
    [45, 'AV1/90000', 'level-idx=5;profile=0;tier=0'],
    [98, 'VP9/90000', 'profile-id=0'],
    [100, 'VP9/90000', 'profile-id=2'],
  ];
  for (const [pt, name, fmtp] of codecs) {
    video.push(`a=rtpmap:${pt} ${name}`);
    for (const fb of ['goog-remb', 'transport-cc', 'ccm fir', 'nack', 'nack pli'])
      video.push(`a=rtcp-fb:${pt} ${fb}`);
    if (fmtp) video.push(`a=fmtp:${pt} ${fmtp}`);
    video.push(`a=rtpmap:${pt + 1} rtx/90000`, `a=fmtp:${pt + 1} apt=${pt}`);
  }
  video.push(
    `a=ssrc-group:FID ${vSsrc} ${vRtx}`,
    `a=ssrc:${vSsrc} cname:${hex(8)}`,
    `a=ssrc:${vRtx} cname:${hex(8)}`,
  );
  const data = [
    'm=application 9 UDP/DTLS/SCTP webrtc-datachannel',
    'c=IN IP4 0.0.0.0',
    ...ice,
    'a=mid:2',
    'a=sctp-port:5000',
    'a=max-message-size:262144',
  ];
  // ICE is not trickled: the candidates ride in the first m-section, as many as it takes to reach the size.
  const candidates = [];
  const size = () => [...head, ...audio, ...candidates, ...video, ...data].join('\r\n').length + 2;
  for (let i = 0; size() < targetBytes && i < 1000; i++) {
    const port = 40_000 + Math.floor(Math.random() * 20_000);
    const kind = i % 3;
    const foundation = 1_000_000_000 + Math.floor(Math.random() * 3_000_000_000);
    candidates.push(
      kind === 0
        ? `a=candidate:${foundation} 1 udp 2122260223 192.168.${i % 255}.${10 + (i % 200)} ${port} typ host generation 0 network-id 1 network-cost 10`
        : kind === 1
          ? `a=candidate:${foundation} 1 udp 1686052607 203.0.113.${i % 255} ${port} typ srflx raddr 192.168.1.10 rport ${port} generation 0 network-id 1 network-cost 10`
          : `a=candidate:${foundation} 1 tcp 1518280447 192.168.${i % 255}.${10 + (i % 200)} 9 typ host tcptype active generation 0 network-id 1 network-cost 10`,
    );
  }
  candidates.push('a=end-of-candidates');
  return `${[...head, ...audio, ...candidates, ...video, ...data].join('\r\n')}\r\n`;
}

function percentile(sorted, n, p) {
  if (n === 0) return null;
  return sorted[Math.min(n - 1, Math.max(0, Math.ceil(p * n) - 1))];
}

export function summarize(samples, n) {
  const sorted = samples.subarray(0, n).sort();
  return {
    samples: n,
    p50: percentile(sorted, n, 0.5),
    p90: percentile(sorted, n, 0.9),
    p99: percentile(sorted, n, 0.99),
    p999: percentile(sorted, n, 0.999),
    max: n > 0 ? sorted[n - 1] : null,
  };
}

/** Opens one socket; resolves when it is open, rejects on error or after `timeoutMs`. */
export function openSocket(url, timeoutMs = 10_000) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, CLIENT_OPTIONS);
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`connect timeout: ${url}`));
    }, timeoutMs);
    ws.once('open', () => {
      clearTimeout(timer);
      resolve(ws);
    });
    ws.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** Runs `fn` over `items` with at most `limit` at a time. */
export async function pool(items, limit, fn) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** Closes sockets and waits (bounded) until each has closed. */
export async function closeSockets(sockets, timeoutMs = 3000) {
  const open = sockets.filter((ws) => ws.readyState !== WebSocket.CLOSED);
  const closed = Promise.all(open.map((ws) => new Promise((resolve) => ws.once('close', resolve))));
  for (const ws of open) ws.close(1000);
  await Promise.race([closed, sleep(timeoutMs)]);
  for (const ws of open) if (ws.readyState !== WebSocket.CLOSED) ws.terminate();
}

class Client {
  constructor(fleet, index, room, name, url) {
    this.fleet = fleet;
    this.url = url;
    this.index = index;
    this.room = room;
    this.name = name;
    this.ws = undefined;
    this.channel = undefined;
    /** Room-mates: name -> channel, learned from new-join (later joiners) and new-offer (earlier ones). */
    this.mates = new Map();
    /** Prebuilt offer frames to each mate, everything but the stamp: [{prefix, to}]. */
    this.targets = [];
    this.nextTarget = 0;
    this.offerSdp = { type: 'offer', sdp: fleet.offerSdp };
    this.answerSdp = { type: 'answer', sdp: fleet.answerSdp };
    this.joined = undefined;
  }

  send(obj) {
    this.ws.send(JSON.stringify(obj));
  }

  /** Opens the socket and does the newcomer's half of the dance; resolves when every mate has answered. */
  async join(earlierCount) {
    const started = performance.now();
    const url = `${this.url}/room/${this.room.name}/?username=${encodeURIComponent(this.name)}`;
    this.ws = await openSocket(url);
    this.ws.on('message', (data) => this.fleet.onMessage(this, data));
    this.ws.on('error', () => {});
    await new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`join of ${this.name} in ${this.room.name} timed out`)),
        10_000,
      );
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      this.joined = { pendingAnswers: earlierCount, echo: false, resolve: done };
      this.send({ peer: this.name, action: 'new-join', keyword: {} });
    });
    return performance.now() - started;
  }

  checkJoined() {
    const j = this.joined;
    if (j?.echo && j.pendingAnswers === 0) {
      this.joined = undefined;
      j.resolve();
    }
  }

  /** Slow path: the dance, errors and anything unexpected. */
  onControl(msg) {
    const fleet = this.fleet;
    const kw = msg.keyword ?? {};
    switch (msg.action) {
      case 'new-join':
        if (msg.peer === this.name) {
          this.channel = kw.receiver_channel_name;
          if (this.joined) this.joined.echo = true;
          this.checkJoined();
        } else {
          // An existing member offers to the newcomer.
          this.mates.set(msg.peer, kw.receiver_channel_name);
          this.send({
            peer: this.name,
            action: 'new-offer',
            keyword: { sdp: this.offerSdp, receiver_channel_name: kw.receiver_channel_name },
          });
        }
        return;
      case 'new-offer':
        // The newcomer answers each existing member.
        this.mates.set(msg.peer, kw.receiver_channel_name);
        this.send({
          peer: this.name,
          action: 'new-answer',
          keyword: { sdp: this.answerSdp, receiver_channel_name: kw.receiver_channel_name },
        });
        return;
      case 'new-answer': {
        this.mates.set(msg.peer, kw.receiver_channel_name);
        const newcomer = this.room.clients.find((c) => c.name === msg.peer);
        if (newcomer?.joined) {
          newcomer.joined.pendingAnswers--;
          newcomer.checkJoined();
        }
        return;
      }
      case 'error':
        fleet.countError(kw.code ?? 'unknown');
        return;
      default:
        fleet.unexpected++;
    }
  }

  prepareTargets() {
    const sdp = JSON.stringify(this.offerSdp);
    const peer = JSON.stringify(this.name);
    this.targets = this.room.clients
      .filter((c) => c !== this)
      .map((c) => {
        const channel = this.mates.get(c.name);
        if (channel === undefined) throw new Error(`${this.name} never learned the channel of ${c.name}`);
        return {
          to: c.index,
          prefix:
            `{"peer":${peer},"action":"new-offer","keyword":{"sdp":${sdp},` +
            `"receiver_channel_name":${JSON.stringify(channel)},"bench_from":${this.index},"bench_to":${c.index}${STAMP}`,
        };
      });
  }

  sendStamped() {
    const target = this.targets[this.nextTarget];
    this.nextTarget = (this.nextTarget + 1) % this.targets.length;
    this.ws.send(`${target.prefix}${performance.now()}}}`);
  }
}

/**
 * Many clients in many rooms against one server, or against several instances sharing rooms (`url` an
 * array): member m of room r then connects to instance (r + m) mod n, so every room spans the instances.
 * join() does the dance; then a phase is startPhase(), any number of measured slices (fixedRate() or
 * saturate(), each with its own warm-up and drain), and phaseResult() over all of them. Slices let the bench
 * interleave the two servers in short turns, so a stretch of machine noise hits both alike.
 */
export class Fleet {
  constructor(url, { rooms, perRoom, sdpBytes }) {
    const urls = Array.isArray(url) ? url : [url];
    this.url = urls[0];
    this.offerSdp = syntheticSdp('offer', sdpBytes);
    this.answerSdp = syntheticSdp('answer', sdpBytes);
    this.rooms = [];
    this.clients = [];
    const tag = randomBytes(3).toString('hex');
    for (let r = 0; r < rooms; r++) {
      const room = { name: `bench-${tag}-${r}`, clients: [] };
      for (let m = 0; m < perRoom; m++) {
        const client = new Client(
          this,
          this.clients.length,
          room,
          `user-${r}-${m}`,
          urls[(r + m) % urls.length],
        );
        room.clients.push(client);
        this.clients.push(client);
      }
      this.rooms.push(room);
    }
    this.nextSender = 0;
    this.startPhase(0);
  }

  /** Clears every counter; `capacity` bounds the latency samples kept (the rest are counted as dropped). */
  startPhase(capacity) {
    this.errors = {};
    this.errorCount = 0;
    this.unexpected = 0;
    this.misrouted = 0;
    this.sent = 0;
    this.received = 0;
    this.windowStart = Number.POSITIVE_INFINITY;
    this.windowEnd = Number.POSITIVE_INFINITY;
    this.measuredMs = 0;
    this.sentInWindow = 0;
    this.receivedInWindow = 0;
    this.latencies = new Float64Array(capacity);
    this.latencyCount = 0;
    this.latencyDropped = 0;
    this.onDelivered = undefined;
    this.maxBehind = 0;
    this.undrained = 0;
  }

  countError(code) {
    this.errors[code] = (this.errors[code] ?? 0) + 1;
    this.errorCount++;
    // A refused message will never arrive; let a closed loop keep its window full.
    this.onDelivered?.();
  }

  /** Every room at once, members of a room one after another (each newcomer waits for its answers). */
  async join() {
    const started = performance.now();
    const joinMs = new Float64Array(this.clients.length);
    let n = 0;
    await Promise.all(
      this.rooms.map(async (room) => {
        for (let i = 0; i < room.clients.length; i++) {
          joinMs[n++] = await room.clients[i].join(i);
        }
      }),
    );
    for (const c of this.clients) c.prepareTargets();
    return { totalMs: performance.now() - started, perJoin: summarize(joinMs, n), errors: this.errorCount };
  }

  onMessage(client, data) {
    const now = performance.now();
    const text = data.toString();
    const at = text.length > 512 ? text.lastIndexOf(STAMP) : -1;
    if (at === -1) {
      let msg;
      try {
        msg = JSON.parse(text);
      } catch {
        this.unexpected++;
        return;
      }
      client.onControl(msg);
      return;
    }
    const sentAt = Number.parseFloat(text.slice(at + STAMP.length));
    this.received++;
    if (this.received % VERIFY_EVERY === 0) this.verify(client, text);
    if (now >= this.windowStart && now < this.windowEnd) this.receivedInWindow++;
    // The window stays set until the slice has drained, so late arrivals still count.
    if (sentAt >= this.windowStart && sentAt < this.windowEnd) {
      if (this.latencyCount < this.latencies.length) this.latencies[this.latencyCount++] = now - sentAt;
      else this.latencyDropped++;
    }
    this.onDelivered?.();
  }

  /** Full parse of a relayed offer: it reached its target, from a mate, with the sender's channel. */
  verify(client, text) {
    const msg = JSON.parse(text);
    const kw = msg.keyword;
    const from = this.clients[kw.bench_from];
    const ok =
      msg.action === 'new-offer' &&
      kw.bench_to === client.index &&
      from !== undefined &&
      from.room === client.room &&
      msg.peer === from.name &&
      kw.receiver_channel_name === from.channel &&
      kw.sdp?.sdp === this.offerSdp;
    if (!ok) this.misrouted++;
  }

  /** Round robin over every client, and over each client's mates. */
  sendOne() {
    this.clients[this.nextSender].sendStamped();
    this.nextSender = this.nextSender + 1 === this.clients.length ? 0 : this.nextSender + 1;
    this.sent++;
    if (performance.now() >= this.windowStart) this.sentInWindow++;
  }

  /** Runs one slice: warm-up, measured window (onWindow('start'/'end') at its edges), drain. */
  async slice({ warmupMs, durationMs, onWindow }, drive) {
    const before = { sent: this.sentInWindow, received: this.receivedInWindow, samples: this.latencyCount };
    const start = performance.now();
    this.windowStart = start + warmupMs;
    this.windowEnd = this.windowStart + durationMs;
    const windowTimer = setTimeout(() => onWindow?.('start'), warmupMs);
    await drive(start);
    clearTimeout(windowTimer);
    await onWindow?.('end');
    if (!(await this.drain(3000))) this.undrained++;
    this.measuredMs += durationMs;
    const seconds = durationMs / 1000;
    return {
      durationMs,
      sentPerSec: (this.sentInWindow - before.sent) / seconds,
      deliveredPerSec: (this.receivedInWindow - before.received) / seconds,
      /** This slice's latency samples: latencies[from, to), until phaseResult() sorts them all. */
      samples: [before.samples, this.latencyCount],
    };
  }

  /** Open loop: `rate` offers/s in total, sent on a 1 ms tick. */
  fixedRate({ rate, warmupMs, durationMs, onWindow }) {
    return this.slice({ warmupMs, durationMs, onWindow }, async (start) => {
      let sentHere = 0;
      await new Promise((resolve) => {
        const tick = () => {
          const now = performance.now();
          if (now >= this.windowEnd) return resolve();
          const due = Math.floor(((now - start) / 1000) * rate);
          this.maxBehind = Math.max(this.maxBehind, due - sentHere);
          // Bounded catch-up: a stalled generator sends at most 100 ms of backlog at once.
          const n = Math.min(due - sentHere, Math.ceil(rate / 10));
          for (let i = 0; i < n; i++) this.sendOne();
          sentHere += Math.max(n, 0);
          setTimeout(tick, 1);
        };
        tick();
      });
    });
  }

  /**
   * Closed loop: `window` offers in flight; each delivery (or refusal) sends the next, so the server runs as
   * fast as it can with no unbounded queue anywhere.
   */
  saturate({ window, warmupMs, durationMs, onWindow }) {
    return this.slice({ warmupMs, durationMs, onWindow }, async () => {
      this.onDelivered = () => {
        if (performance.now() < this.windowEnd) this.sendOne();
      };
      for (let i = 0; i < window; i++) this.sendOne();
      await sleep(warmupMs + durationMs);
      this.onDelivered = undefined;
    });
  }

  async drain(timeoutMs) {
    const until = performance.now() + timeoutMs;
    while (this.received + this.errorCount < this.sent && performance.now() < until) await sleep(2);
    return this.received + this.errorCount >= this.sent;
  }

  /** Latency summary over some slices only (call before phaseResult(), which reorders the samples). */
  latencyOf(slices) {
    const n = slices.reduce((a, t) => a + t.samples[1] - t.samples[0], 0);
    const picked = new Float64Array(n);
    let at = 0;
    for (const t of slices) {
      picked.set(this.latencies.subarray(t.samples[0], t.samples[1]), at);
      at += t.samples[1] - t.samples[0];
    }
    return summarize(picked, n);
  }

  /** Totals over every slice of the phase. */
  phaseResult() {
    const seconds = this.measuredMs / 1000;
    return {
      measuredMs: this.measuredMs,
      sent: this.sent,
      received: this.received,
      lost: this.sent - this.received - this.errorCount,
      sentPerSec: this.sentInWindow / seconds,
      deliveredPerSec: this.receivedInWindow / seconds,
      latencyMs: summarize(this.latencies, this.latencyCount),
      latencySamplesDropped: this.latencyDropped,
      maxBehind: this.maxBehind,
      undrainedSlices: this.undrained,
      errors: { ...this.errors },
      errorCount: this.errorCount,
      misrouted: this.misrouted,
      unexpected: this.unexpected,
    };
  }

  async close() {
    await closeSockets(this.clients.map((c) => c.ws).filter(Boolean));
  }
}
