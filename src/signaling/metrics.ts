import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { ERROR_CODES, type ErrorCode, KNOWN_ACTIONS } from './protocol.js';

const KNOWN = new Set<string>(KNOWN_ACTIONS);

/** Where an exception was caught inside the server (the `where` label of engage_internal_errors_total). */
export const FAILURE_POINTS = [
  'frame',
  'upgrade',
  'connection',
  'close',
  'heartbeat',
  'request',
  'delivery',
] as const;
export type FailurePoint = (typeof FAILURE_POINTS)[number];

/**
 * Client-chosen actions become label values; folding unknown ones into `other` keeps a hostile client from
 * growing the metrics without bound.
 */
export function actionLabel(action: string | undefined): string {
  return action !== undefined && KNOWN.has(action) ? action : 'other';
}

/** The server's Prometheus metrics, in a registry of their own so several servers can live in one process. */
export class SignalingMetrics {
  readonly registry = new Registry();
  readonly sockets = new Gauge({
    name: 'engage_connected_sockets',
    help: 'Open WebSocket connections',
    registers: [this.registry],
  });
  readonly rooms = new Gauge({
    name: 'engage_rooms',
    help: 'Rooms with at least one member',
    registers: [this.registry],
  });
  readonly messagesIn = new Counter({
    name: 'engage_messages_in_total',
    help: 'Frames received from clients, by action (unknown actions as "other", unparsable as "invalid")',
    labelNames: ['action'],
    registers: [this.registry],
  });
  readonly messagesOut = new Counter({
    name: 'engage_messages_out_total',
    help: 'Messages delivered to clients, one per recipient, by action',
    labelNames: ['action'],
    registers: [this.registry],
  });
  readonly errors = new Counter({
    name: 'engage_errors_total',
    help: 'Refusals sent to clients as error messages, by code',
    labelNames: ['code'],
    registers: [this.registry],
  });
  readonly upgradesRefused = new Counter({
    name: 'engage_upgrades_refused_total',
    help: 'WebSocket upgrades refused before a socket existed, by HTTP status',
    labelNames: ['status'],
    registers: [this.registry],
  });
  readonly internalErrors = new Counter({
    name: 'engage_internal_errors_total',
    help: 'Exceptions caught inside the server, by where (frame, upgrade, connection, close, heartbeat, request, delivery); each is a bug, and the server carried on',
    labelNames: ['where'],
    registers: [this.registry],
  });
  readonly uncaughtErrors = new Counter({
    name: 'engage_uncaught_errors_total',
    help: 'Errors that escaped every handler of the engage serve process, by kind (exception, rejection); the process logged them and carried on',
    labelNames: ['kind'],
    registers: [this.registry],
  });
  readonly slowConsumersCut = new Counter({
    name: 'engage_slow_consumers_cut_total',
    help: 'Sockets terminated because their unsent data passed --max-buffered-bytes (their peer stopped reading)',
    registers: [this.registry],
  });
  readonly relayLatency = new Histogram({
    name: 'engage_relay_latency_seconds',
    help: 'Time from receiving a client message to the room engine having relayed it (in memory: handed to every recipient socket; with --redis: sequenced and published by Redis)',
    buckets: [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25],
    registers: [this.registry],
  });

  constructor() {
    // Pre-create the label sets so a scrape shows every series from the start, at zero.
    for (const action of [...KNOWN_ACTIONS, 'other']) {
      this.messagesIn.inc({ action }, 0);
      this.messagesOut.inc({ action }, 0);
    }
    this.messagesIn.inc({ action: 'invalid' }, 0);
    for (const code of ERROR_CODES) this.errors.inc({ code }, 0);
    for (const where of FAILURE_POINTS) this.internalErrors.inc({ where }, 0);
    for (const kind of ['exception', 'rejection']) this.uncaughtErrors.inc({ kind }, 0);
  }

  // Label children are looked up once: resolving labels on every relayed message showed in profiles.
  private readonly children = new Map<string, { inc(n?: number): void }>();

  private child(counter: Counter<'action'>, key: string, action: string): { inc(n?: number): void } {
    let child = this.children.get(key);
    if (!child) {
      child = counter.labels(action);
      this.children.set(key, child);
    }
    return child;
  }

  countIn(action: string): void {
    this.child(this.messagesIn, `in:${action}`, action).inc();
  }

  countOut(action: string, n: number): void {
    this.child(this.messagesOut, `out:${action}`, action).inc(n);
  }

  countError(code: ErrorCode): void {
    this.errors.inc({ code });
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
