/**
 * The ceiling of bench/signaling.js: the smallest `ws` relay with engage's routing and none of its checks.
 *
 * Rooms by URL path, one channel id per socket, `new-join` (and anything that is not an offer or an answer)
 * to the whole room, `new-offer`/`new-answer` to the socket named by `keyword.receiver_channel_name`.
 * No validation, no rate or size limits, no identity binding, no backpressure check, no metrics, no logging.
 *
 * It rewrites `keyword.receiver_channel_name` with the sender's channel, exactly as engage does, so it pays
 * the same JSON.parse + JSON.stringify per frame. Forwarding the raw frame would be faster, but it would not
 * be the same protocol: a receiver learns the offerer's channel only from that field (the newcomer could
 * not answer, the join dance would not complete), so a raw-forwarding "ceiling" would measure a relay that
 * cannot do the job rather than the cost of engage's checks. The rewrite is part of the routing, not a check.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:http';
import { WebSocketServer } from 'ws';

const ROOM_PATH = /^\/(?:ws\/)?room\/([^/?]*)/;

export async function startCeiling({ host = '127.0.0.1', port = 0 } = {}) {
  /** room name -> Map(channel -> socket) */
  const rooms = new Map();
  const http = createServer((_req, res) => res.writeHead(404).end());
  const wss = new WebSocketServer({ server: http, perMessageDeflate: false });

  wss.on('connection', (ws, req) => {
    const roomName = ROOM_PATH.exec(req.url ?? '')?.[1] ?? '';
    let room = rooms.get(roomName);
    if (!room) {
      room = new Map();
      rooms.set(roomName, room);
    }
    const channel = `specific.ceiling!${randomBytes(9).toString('base64url')}`;
    room.set(channel, ws);
    ws.on('error', () => {});
    ws.on('close', () => {
      room.delete(channel);
      if (room.size === 0 && rooms.get(roomName) === room) rooms.delete(roomName);
    });
    ws.on('message', (data) => {
      // The try is not validation: it only keeps a malformed frame from crashing the process.
      try {
        const msg = JSON.parse(data.toString());
        const keyword = msg.keyword;
        const target = keyword.receiver_channel_name;
        keyword.receiver_channel_name = channel;
        const frame = JSON.stringify(msg);
        if (msg.action === 'new-offer' || msg.action === 'new-answer') {
          room.get(target)?.send(frame);
        } else {
          for (const peer of room.values()) peer.send(frame);
        }
      } catch {}
    });
  });

  http.listen(port, host);
  await once(http, 'listening');
  const address = http.address();
  return {
    url: `ws://${address.address}:${address.port}`,
    sockets: () => wss.clients.size,
    close: async () => {
      for (const ws of wss.clients) ws.terminate();
      wss.close();
      http.closeAllConnections();
      await new Promise((resolve) => http.close(() => resolve()));
    },
  };
}
