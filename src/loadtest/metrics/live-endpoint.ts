import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { UsageError } from '../../util/errors.js';
import { type LiveValues, prometheusText } from './prometheus.js';

export interface LiveEndpointOptions {
  host: string;
  /** 0 picks a free port; `url` says which. */
  port: number;
  labels: Record<string, string>;
  values: LiveValues;
}

/**
 * `--metrics-port`: the run's live metrics at GET /metrics in Prometheus text, for Prometheus and
 * Grafana to watch a distributed run as it happens. Anything else is a 404; it only reads the run.
 */
export class LiveEndpoint {
  private closed = false;

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(o: LiveEndpointOptions): Promise<LiveEndpoint> {
    const server = createServer((req, res) => {
      if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('only GET /metrics here\n');
        return;
      }
      try {
        res
          .writeHead(200, { 'content-type': 'text/plain; version=0.0.4' })
          .end(prometheusText(o.values, o.labels));
      } catch (err) {
        res.writeHead(500, { 'content-type': 'text/plain' }).end(`${(err as Error).message}\n`);
      }
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) =>
        reject(
          err.code === 'EADDRINUSE' || err.code === 'EACCES'
            ? new UsageError(`--metrics-port ${o.port}: cannot listen on ${o.host}:${o.port} (${err.code})`)
            : err,
        ),
      );
      server.listen(o.port, o.host, () => resolve());
    });
    server.on('error', () => {});
    const { port } = server.address() as AddressInfo;
    const host = o.host.includes(':') ? `[${o.host}]` : o.host;
    return new LiveEndpoint(server, `http://${host}:${port}/metrics`);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
