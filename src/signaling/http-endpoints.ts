import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../util/log.js';

/** What /healthz reports. `unavailable`: the shared room state (Redis) cannot be reached. */
export interface Health {
  status: 'ok' | 'degraded' | 'closing' | 'unavailable';
  rooms: number;
  sockets: number;
  uptime_s: number;
  uncaught_errors: number;
  /** With --redis: this instance's id and its room engine's state. */
  instance?: string;
  engine?: string;
}

export interface HttpEndpoints {
  health(): Health;
  metrics(): Promise<{ contentType: string; text: string }>;
  /** Handles what the server itself does not serve (the web client); false for 404. */
  fallback?: (req: IncomingMessage, res: ServerResponse) => boolean;
  log: Logger;
}

/**
 * The plain HTTP side of `engage serve`: /healthz (503 unless the server can serve rooms, so a load
 * balancer takes it out), /metrics (Prometheus), then the fallback.
 */
export function handleRequest(req: IncomingMessage, res: ServerResponse, endpoints: HttpEndpoints): void {
  const path = (req.url ?? '/').split('?')[0];
  if (req.method === 'GET' && path === '/healthz') {
    const health = endpoints.health();
    const serving = health.status === 'ok' || health.status === 'degraded';
    res.writeHead(serving ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify(health));
    return;
  }
  if (req.method === 'GET' && path === '/metrics') {
    endpoints.metrics().then(
      ({ contentType, text }) => res.writeHead(200, { 'content-type': contentType }).end(text),
      (err) => {
        endpoints.log.error({ err }, 'metrics failed');
        res.writeHead(500).end();
      },
    );
    return;
  }
  if (endpoints.fallback?.(req, res)) return;
  res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
}
