/** How the embedded server's child process is configured: argv[2], as JSON. */
export interface ServerProcessConfig {
  maxRoomSize: number;
  logLevel: string;
  /** The loopback port to listen on; 0 (the default) for a free one. A restart reuses its predecessor's. */
  port?: number;
}

/** Embedded server process → the run. */
export type ServerProcessMessage =
  | { type: 'listening'; url: string }
  /** The child's own accounting: CPU in µs since it started (user + system) at `atMs` of its clock. */
  | {
      type: 'usage';
      cpuUs: number;
      atMs: number;
      rssMb: number;
      sockets: number;
      /** Most sockets open at once since the process started. */
      peakSockets: number;
    }
  | { type: 'failed'; reason: string };

/** The run → embedded server process. */
export type ServerProcessCommand = { type: 'close' };

const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

export function parseServerMessage(m: unknown): ServerProcessMessage | undefined {
  if (typeof m !== 'object' || m === null) return undefined;
  const r = m as Record<string, unknown>;
  switch (r.type) {
    case 'listening':
      return typeof r.url === 'string' ? { type: 'listening', url: r.url } : undefined;
    case 'usage':
      return isNumber(r.cpuUs) &&
        isNumber(r.atMs) &&
        isNumber(r.rssMb) &&
        isNumber(r.sockets) &&
        isNumber(r.peakSockets)
        ? {
            type: 'usage',
            cpuUs: r.cpuUs,
            atMs: r.atMs,
            rssMb: r.rssMb,
            sockets: r.sockets,
            peakSockets: r.peakSockets,
          }
        : undefined;
    case 'failed':
      return typeof r.reason === 'string' ? { type: 'failed', reason: r.reason } : undefined;
    default:
      return undefined;
  }
}

export function parseServerCommand(m: unknown): ServerProcessCommand | undefined {
  return typeof m === 'object' && m !== null && (m as { type?: unknown }).type === 'close'
    ? { type: 'close' }
    : undefined;
}
