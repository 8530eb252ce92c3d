import type { RunAggregate } from './aggregate.js';
import { mergeSnapshots, type PromSnapshot, serverSummary } from './server-metrics.js';
import type { InstanceSummary, ServerSummary } from './summary.js';

/** One instance as the run saw it: its /metrics at the start and the end, its sampled peak, its bots. */
export interface InstanceView {
  url: string;
  before: PromSnapshot | undefined;
  after: PromSnapshot | undefined;
  peakSockets: number | undefined;
  /** Names of the bots the plan put on it. */
  bots: string[];
}

function metricsUrl(wsUrl: string): string {
  const u = new URL(wsUrl);
  return `${u.protocol === 'wss:' ? 'https:' : 'http:'}//${u.host}/metrics`;
}

/**
 * The server section of a multi-instance run: each instance's counts (the generator's view of its bots,
 * and its own /metrics between the start and the end), and their sum over the instances that answered
 * both times. A total that misses an instance says so in `note`.
 */
export function clusterServerSummary(
  views: InstanceView[],
  agg: RunAggregate,
  peakSockets: number | undefined,
): ServerSummary {
  const instances = views.map((v) => instanceSummary(v, agg));
  const answered = views.filter((v) => v.before && v.after);
  const missing = views.filter((v) => !(v.before && v.after)).map((v) => v.url);
  if (answered.length === 0) {
    return {
      source: 'unavailable',
      instances,
      note: `no engage_ metrics at any of the ${views.length} instances' /metrics`,
    };
  }
  const total = serverSummary(
    'remote',
    mergeSnapshots(answered.map((v) => v.after!)),
    mergeSnapshots(answered.map((v) => v.before!)),
    peakSockets,
  );
  const notes = [
    ...(missing.length === 0
      ? []
      : [
          `the totals cover ${answered.length} of ${views.length} instances: no engage_ metrics from ${missing.join(', ')}`,
        ]),
    ...(total.note === undefined ? [] : [total.note]),
  ];
  return { ...total, instances, ...(notes.length === 0 ? {} : { note: notes.join('; ') }) };
}

function instanceSummary(v: InstanceView, agg: RunAggregate): InstanceSummary {
  const counts = agg.botCounts(v.bots);
  const ours = {
    url: v.url,
    bots: counts.bots,
    botsJoined: counts.joined,
    botsFailed: counts.failed,
    signalErrors: counts.signalErrors,
  };
  if (!v.before || !v.after) {
    const when = v.before ? 'at the end' : v.after ? 'at the start' : 'at the start or the end';
    return {
      ...ours,
      source: 'unavailable',
      ...(v.peakSockets === undefined ? {} : { peakSockets: v.peakSockets }),
      note: `no engage_ metrics at ${metricsUrl(v.url)} ${when}`,
    };
  }
  const s = serverSummary('remote', v.after, v.before, v.peakSockets);
  return {
    ...ours,
    source: 'remote',
    ...(s.peakSockets === undefined ? {} : { peakSockets: s.peakSockets }),
    messagesIn: s.messagesIn ?? 0,
    messagesOut: s.messagesOut ?? 0,
    errors: s.errors ?? {},
    ...(s.relayLatencyP50Ms === undefined ? {} : { relayLatencyP50Ms: s.relayLatencyP50Ms }),
    ...(s.relayLatencyP99Ms === undefined ? {} : { relayLatencyP99Ms: s.relayLatencyP99Ms }),
    ...(s.note === undefined ? {} : { note: s.note }),
  };
}
