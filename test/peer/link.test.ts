import { afterEach, expect, it } from 'vitest';
import type { RtpPacket } from 'werift';
import { peerConfig } from '../../src/peer/ice.js';
import { type MediaFeed, PeerLink } from '../../src/peer/link.js';
import { loadClip } from '../../src/peer/media/clip.js';
import { ClipSource } from '../../src/peer/media/source.js';
import { within } from '../../src/util/wait.js';

const open: Array<{ close(): unknown }> = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((o) => o.close()));
});

/** Records every packet a feed hands out, as it was at that moment and as it is after every link sent it. */
function watched(feed: MediaFeed) {
  const seen: Array<{ packet: RtpPacket; header: string }> = [];
  const headerOf = (p: RtpPacket) => {
    const { sequenceNumber, timestamp, payloadType, ssrc, marker } = p.header;
    return JSON.stringify({
      sequenceNumber,
      timestamp,
      payloadType,
      ssrc,
      marker,
      payload: p.payload.length,
    });
  };
  const unsubscribe = feed.subscribe((packet) => seen.push({ packet, header: headerOf(packet) }));
  return {
    feed,
    unsubscribe,
    changed: () => seen.filter((s) => headerOf(s.packet) !== s.header).length,
    count: () => seen.length,
  };
}

function connected(link: PeerLink): Promise<void> {
  return new Promise((resolve) => {
    const check = () => {
      if (link.state !== 'connected') return;
      link.off('state', check);
      resolve();
    };
    link.on('state', check);
    check();
  });
}

async function pair(feeds: MediaFeed[], a: string, b: string): Promise<[PeerLink, PeerLink]> {
  const config = peerConfig('ws://127.0.0.1:1');
  const offerer = new PeerLink({
    localName: a,
    remoteName: b,
    remoteChannel: b,
    role: 'offerer',
    config,
    feeds,
  });
  const answerer = new PeerLink({
    localName: b,
    remoteName: a,
    remoteChannel: a,
    role: 'answerer',
    config,
    feeds,
  });
  open.push(offerer, answerer);
  await offerer.accept(await answerer.answer(await offerer.offer()));
  return [offerer, answerer];
}

// Every link of a process sends the same packet objects of one shared clip reader: a link that changed a
// packet's header for its own stream would corrupt every link after it.
it('sends one shared feed on several links, leaving its packets as they were', async () => {
  const source = new ClipSource(await loadClip('builtin-light', 'video'), { payloadType: 96 });
  open.push(source);
  const feed = watched(source);
  const links = [...(await pair([source], 'a', 'b')), ...(await pair([source], 'c', 'd'))];
  await within(Promise.all(links.map(connected)), 10_000, 'links to connect');
  const receivedAtStart = links.map((l) => l.inbound.video.frames);
  await new Promise((resolve) => setTimeout(resolve, 1500));
  feed.unsubscribe();

  expect(feed.count()).toBeGreaterThan(10);
  expect(feed.changed()).toBe(0);
  // ...and every link still delivers the stream (about 15 frames a second each way).
  links.forEach((l, i) => {
    expect(l.inbound.video.frames - receivedAtStart[i]!).toBeGreaterThan(10);
  });
});
