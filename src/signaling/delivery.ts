import type { Connection, OutboundFrame } from './connection.js';
import type { Delivery, Resync } from './engine/engine.js';
import type { SignalingMetrics } from './metrics.js';
import type { PeerLeft } from './protocol.js';

export interface DeliveryIo {
  metrics: SignalingMetrics;
  /** Sends one frame; false when the socket is closed (or was just cut off). */
  send(conn: Connection, frame: string): boolean;
  /** Tells the socket to rejoin (error `rejoin`, close 4503). */
  rejoin(conn: Connection, why: string): void;
}

const RESYNC_REASONS: Record<Resync['reason'], string> = {
  reset: 'the shared room state was lost (Redis restarted empty)',
  gap: 'this server missed room events it could no longer read back',
  swept: 'this server was out of touch long enough to be declared dead',
};

/**
 * The last step of the pipeline: what the room engine hands back for this server's sockets reaches them.
 * A member gets it at once; a socket whose claim is in flight gets it once the claim is decided; a pending
 * socket gets nothing (it is no member). Frames are relayed as the sender's server serialised them.
 */
export class Deliveries {
  private readonly byChannel = new Map<string, Connection>();

  constructor(private readonly io: DeliveryIo) {}

  add(conn: Connection): void {
    this.byChannel.set(conn.channel, conn);
  }

  remove(conn: Connection): void {
    if (this.byChannel.get(conn.channel) === conn) this.byChannel.delete(conn.channel);
  }

  deliver(delivery: Delivery): void {
    const out = outbound(delivery);
    let sent = 0;
    for (const channel of delivery.to) {
      const conn = this.byChannel.get(channel);
      if (!conn) continue;
      if (conn.standing === 'member') {
        if (this.io.send(conn, out.frame)) sent++;
      } else if (conn.standing === 'claiming') {
        conn.hold(out);
      }
    }
    if (sent > 0) this.io.metrics.countOut(out.action, sent);
  }

  /** A frame held during the claim, now that the socket is a member. */
  sendTo(conn: Connection, out: OutboundFrame): void {
    if (this.io.send(conn, out.frame)) this.io.metrics.countOut(out.action, 1);
  }

  resync(resync: Resync): void {
    for (const channel of resync.channels) {
      const conn = this.byChannel.get(channel);
      if (conn?.isOpen) this.io.rejoin(conn, `${RESYNC_REASONS[resync.reason]}; rejoin the room`);
    }
  }
}

function outbound(delivery: Delivery): OutboundFrame {
  const event = delivery.event;
  if (event.kind === 'frame') return { frame: event.frame, action: event.action };
  const left: PeerLeft = {
    peer: event.member.name,
    action: 'peer-left',
    keyword: { receiver_channel_name: event.member.channel },
  };
  return { frame: JSON.stringify(left), action: 'peer-left' };
}
