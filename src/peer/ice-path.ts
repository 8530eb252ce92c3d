import type { RTCPeerConnection } from 'werift';

export type CandidateType = 'host' | 'srflx' | 'prflx' | 'relay';

/**
 * When a link's ICE gathering started and when its TURN relay candidate arrived: the TURN allocation
 * time (connect to the TURN server, the 401 challenge, the authenticated Allocate), as the bot waits
 * for it. Read from werift's public candidate events.
 */
export class GatheringWatch {
  gatheringStartedAt: number | undefined;
  relayCandidateAt: number | undefined;

  constructor(pc: RTCPeerConnection) {
    const gathering = pc.iceGatheringStateChange.subscribe((state) => {
      if (state === 'gathering') this.gatheringStartedAt ??= performance.now();
      if (state === 'complete') gathering.unSubscribe();
    });
    const candidates = pc.onIceCandidate.subscribe((candidate) => {
      const text = (candidate as { candidate?: string } | undefined)?.candidate;
      if (text !== undefined && / typ relay( |$)/.test(text)) {
        this.relayCandidateAt ??= performance.now();
        candidates.unSubscribe();
      }
    });
  }

  /** Gathering start to relay candidate, ms; undefined without a relay candidate. */
  get turnAllocateMs(): number | undefined {
    if (this.gatheringStartedAt === undefined || this.relayCandidateAt === undefined) return undefined;
    return this.relayCandidateAt - this.gatheringStartedAt;
  }
}

/**
 * The transport to the TURN server (udp, tcp, tls) of the pair carrying a relayed link. werift's stats
 * do not report it (W3C's relayProtocol), so it is read from the nominated pair's TURN client.
 */
export function relayProtocolOf(pc: RTCPeerConnection): string | undefined {
  for (const t of pc.iceTransports as unknown as Array<{ connection?: unknown }>) {
    const nominated = (
      t.connection as { nominated?: { protocol?: { turn?: { transport?: { type?: unknown } } } } }
    )?.nominated;
    const type = nominated?.protocol?.turn?.transport?.type;
    if (typeof type === 'string') return type;
  }
  return undefined;
}
