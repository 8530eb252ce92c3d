import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/**
 * The room engine's own figures. They register into the server's registry so one `/metrics` scrape shows
 * them beside the socket counts; a process with several engines (the tests) gives each its own registry.
 */
export class EngineMetrics {
  readonly roundTrip: Histogram<'op'>;
  readonly errors: Counter<'kind'>;
  readonly gaps: Counter<'outcome'>;
  readonly resyncs: Counter<'reason'>;
  readonly replayed: Counter;
  readonly swept: Counter;
  readonly available: Gauge;

  constructor(registry: Registry) {
    const registers = [registry];
    this.roundTrip = new Histogram({
      name: 'engage_redis_roundtrip_seconds',
      help: 'Time from sending a command to Redis to its reply, by operation',
      labelNames: ['op'],
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers,
    });
    this.errors = new Counter({
      name: 'engage_engine_errors_total',
      help: 'Engine calls that failed: timeout, connection (Redis unreachable), refused (while unavailable), overloaded (too many in flight), error (a Redis error reply)',
      labelNames: ['kind'],
      registers,
    });
    this.gaps = new Counter({
      name: 'engage_engine_gaps_total',
      help: 'Room sequence gaps: detected live, filled from the room stream, or lost (the stream no longer held them; the room resynced)',
      labelNames: ['outcome'],
      registers,
    });
    this.resyncs = new Counter({
      name: 'engage_engine_resyncs_total',
      help: 'Rooms whose local sockets were told to rejoin, by reason (reset, gap, swept)',
      labelNames: ['reason'],
      registers,
    });
    this.replayed = new Counter({
      name: 'engage_engine_replayed_events_total',
      help: 'Room events delivered from the room stream instead of live pub/sub',
      registers,
    });
    this.swept = new Counter({
      name: 'engage_engine_swept_members_total',
      help: 'Members of dead instances released by this instance',
      registers,
    });
    this.available = new Gauge({
      name: 'engage_engine_available',
      help: '1 while the shared room state is reachable, 0 while unavailable',
      registers,
    });
    for (const kind of ['timeout', 'connection', 'refused', 'overloaded', 'error'])
      this.errors.inc({ kind }, 0);
    for (const outcome of ['detected', 'filled', 'lost']) this.gaps.inc({ outcome }, 0);
    for (const reason of ['reset', 'gap', 'swept']) this.resyncs.inc({ reason }, 0);
  }
}
