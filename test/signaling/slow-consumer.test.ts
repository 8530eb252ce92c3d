import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { useServer } from '../helpers/server.js';

const LIMIT = 64 * 1024;

describe('a member that stops reading, under a broadcast flood', () => {
  // Limits raised so one flooder can outrun a reader at all; the cut-off is what is under test.
  const s = useServer({ maxBufferedBytes: LIMIT, rate: 1_000_000, broadcastRate: 1_000_000 });

  it('is cut off once its unsent data passes --max-buffered-bytes; the room gets every message', async () => {
    const flooder = await s.join('r', 'flooder');
    const reader = await s.join('r', 'reader');
    const slow = await s.join('r', 'slow');
    await reader.client.next((m) => m.action === 'new-join' && m.peer === 'slow');
    await flooder.client.next((m) => m.action === 'new-join' && m.peer === 'slow');
    // Stop reading before the flood, so the kernel's receive window stays small.
    (slow.client.ws as unknown as { _socket: Socket })._socket.pause();

    const frames = 4000;
    const pad = 'x'.repeat(3500);
    for (let i = 0; i < frames; i++) {
      flooder.client.say('flooder', 'flood', { i, pad });
      if (i % 100 === 99) await new Promise((r) => setImmediate(r));
    }

    const left = await reader.client.next((m) => m.action === 'peer-left' && m.peer === 'slow', 30_000);
    expect(left.keyword.receiver_channel_name).toBe(slow.channel);
    for (const member of [reader, flooder]) {
      await member.client.next((m) => m.action === 'flood' && m.keyword.i === frames - 1, 30_000);
      const got = member.client.messages.filter((m) => m.action === 'flood').map((m) => m.keyword.i);
      expect(got).toEqual(Array.from({ length: frames }, (_, i) => i));
    }
    expect(await s.metric('engage_slow_consumers_cut_total')).toBe(1);
    // The slow member is gone from the server, and with it everything queued for it.
    expect(s.stats().sockets).toBe(2);
  }, 60_000);
});
