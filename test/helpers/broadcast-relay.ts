import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';

/**
 * A relay that behaves like the original engage server: every `new-join` goes to everyone in the room
 * (no join ordering), offers and answers go to whatever channel they name. `holdJoinsUntil` queues
 * new-joins until that many sockets are in the room, so two joins cross for certain.
 */
export async function startBroadcastRelay(holdJoinsUntil = 0) {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((r) => wss.once('listening', r));
  const channels = new Map<string, WebSocket>();
  const rooms = new Map<string, Set<WebSocket>>();
  const held: Array<{ room: string; frame: string }> = [];
  const counts = { offers: 0, answers: 0 };
  const broadcast = (room: string, frame: string) => {
    for (const ws of rooms.get(room) ?? []) if (ws.readyState === WebSocket.OPEN) ws.send(frame);
  };
  wss.on('connection', (ws, req) => {
    const room = /\/room\/([^/?]+)/.exec(req.url ?? '')?.[1] ?? 'default';
    const channel = `specific.relay!${randomBytes(6).toString('hex')}`;
    channels.set(channel, ws);
    const members = rooms.get(room) ?? new Set();
    rooms.set(room, members);
    members.add(ws);
    ws.on('close', () => {
      channels.delete(channel);
      members.delete(ws);
    });
    ws.on('message', (data) => {
      const msg = JSON.parse(data.toString());
      const target = msg.keyword?.receiver_channel_name;
      msg.keyword = { ...msg.keyword, receiver_channel_name: channel };
      const frame = JSON.stringify(msg);
      if (msg.action === 'new-offer' || msg.action === 'new-answer') {
        counts[msg.action === 'new-offer' ? 'offers' : 'answers']++;
        channels.get(target)?.send(frame);
      } else if (msg.action === 'new-join' && members.size < holdJoinsUntil) {
        held.push({ room, frame });
      } else {
        for (const h of held.splice(0)) broadcast(h.room, h.frame);
        broadcast(room, frame);
      }
    });
  });
  return {
    counts,
    url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const ws of wss.clients) ws.terminate();
        wss.close(() => resolve());
      }),
  };
}
