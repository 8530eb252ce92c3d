import type { CandidateType } from '../../peer/ice-path.js';
import { COUNTER_METRICS, type CounterName, TREND_METRICS, type TrendName } from '../metrics/catalogue.js';
import type { BrowserView } from '../metrics/summary.js';

/** One bot of the plan, as a worker starts it. */
export interface BotSpec {
  name: string;
  room: string;
  url: string;
  mode: 'media' | 'signaling-only';
  video: string;
  audio: string;
  /** Members of its room other than itself, in the plan. */
  expectedPeers: number;
  chatIntervalMs: number;
  sampleIntervalMs: number;
  recordDir?: string;
  /** A browser participant (--browsers): a Chromium page of the browser host, never a worker's bot. */
  browser?: boolean;
  /** The bot's network, as the plan gave it (texts the plan checked; the host parses them again). */
  net?: BotNetSpec;
  /** STUN/TURN servers (`turn:user:pass@host:port`), and whether only relay candidates are used. */
  iceServers?: string[];
  relayOnly?: boolean;
}

export interface BotNetSpec {
  /** Its share's profile or schedule (`loss=5%`, `loss=5%;20s:none`); absent for a bot with no share. */
  share?: string;
  /** The run's --net-schedule. */
  schedule?: string;
  /** The run's start (ms since 1970): schedules count from it, so every bot changes at the same moment. */
  originEpochMs: number;
}

export interface LinkFrames {
  received: number;
  incomplete: number;
  corrupt: number;
  freezeCount: number;
  freezeMs: number;
}

/** Most latency values one link sample may carry (the bots send 20). */
const MAX_LATENCY_VALUES = 100;

/** Main thread → bot host (a worker thread, or the main thread itself with --workers 0). */
export type HostCommand =
  | { type: 'start'; spec: BotSpec }
  /** Every bot leaves cleanly (sends close, finalises recordings). */
  | { type: 'stop' };

/** Parses a command at the worker's boundary; undefined when it is not a HostCommand. */
export function parseHostCommand(m: unknown): HostCommand | undefined {
  if (typeof m !== 'object' || m === null) return undefined;
  const { type, spec } = m as { type?: unknown; spec?: unknown };
  if (type === 'stop') return { type };
  if (type === 'start' && typeof spec === 'object' && spec !== null) return m as HostCommand;
  return undefined;
}

/** Bot host → main thread: samples and state changes, never aggregates. */
export type HostEvent =
  | { type: 'bot'; bot: string; room: string; state: 'joined' | 'failed' | 'left'; error?: string }
  | { type: 'trend'; metric: TrendName; value: number; bot: string; room: string }
  | { type: 'count'; metric: CounterName; n: number; bot: string; room: string; code?: string }
  | {
      type: 'link';
      bot: string;
      room: string;
      remote: string;
      state: 'connected' | 'failed' | 'closed';
      /** Each pair is counted once: by its offerer. */
      pairOwner: boolean;
    }
  | {
      type: 'link-sample';
      bot: string;
      room: string;
      remote: string;
      videoKbps: number;
      audioKbps: number;
      videoFps: number;
      /** Of the interval's packets: never received (after NACK repair), and missing when due (before). */
      lossPct: number;
      netLossPct: number;
      jitterMs: number;
      rttMs: number | undefined;
      /** Cumulative since the link started, audio and video: sent (by sequence numbers), lost after and before repair. */
      packetsExpected: number;
      packetsLost: number;
      packetsLostBeforeRepair: number;
      /** Video frames and freezes, cumulative since the link started. */
      frames: LinkFrames;
      /** A sample of the interval's per-packet one-way delays, ms. */
      latencyMs: number[];
      /** What carried the link (relay when either end is a relay candidate); absent until known. */
      via?: CandidateType;
    }
  | { type: 'health'; loopLagP99Ms: number }
  /** A browser participant's running account of what it received and sent (replaces the one before). */
  | { type: 'browser-view'; bot: string; room: string; view: BrowserView }
  /** The host has loaded everything and takes bots: the run's clock starts when every host is ready. */
  | { type: 'ready' }
  /** Every bot of this host has left after a stop. */
  | { type: 'stopped' };

/** What actually crosses the thread boundary: events in arrival order, batched. */
export type HostMessage = { type: 'batch'; events: HostEvent[] };

/**
 * Parses a message from a worker at the boundary: a batch whose every event is a HostEvent (known type,
 * metric names from the catalogue, finite numbers). Undefined otherwise: the host is then broken.
 */
export function parseHostMessage(m: unknown): HostMessage | undefined {
  if (typeof m !== 'object' || m === null) return undefined;
  const { type, events } = m as { type?: unknown; events?: unknown };
  if (type !== 'batch' || !Array.isArray(events)) return undefined;
  return events.every(isHostEvent) ? (m as HostMessage) : undefined;
}

const isString = (v: unknown): v is string => typeof v === 'string';
const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isTagged = (e: Record<string, unknown>) => isString(e.bot) && isString(e.room);

const CANDIDATE_TYPES = new Set(['host', 'srflx', 'prflx', 'relay']);

function isFrames(v: unknown): v is LinkFrames {
  if (typeof v !== 'object' || v === null) return false;
  const f = v as Record<string, unknown>;
  return [f.received, f.incomplete, f.corrupt, f.freezeCount, f.freezeMs].every(isNumber);
}

const REMOTE_VIEW_NUMBERS = [
  'width',
  'height',
  'fpsAvg',
  'fpsMin',
  'framesDecoded',
  'framesDropped',
  'freezeCount',
  'freezeMs',
  'jitterBufferMs',
  'decodeMs',
  'concealedSamples',
] as const;

function isBrowserView(v: unknown): v is BrowserView {
  if (typeof v !== 'object' || v === null) return false;
  const { qualityLimitationReason, limitedMs, remotes } = v as Record<string, unknown>;
  if (!isString(qualityLimitationReason) || typeof limitedMs !== 'object' || limitedMs === null) return false;
  if (!Object.values(limitedMs).every(isNumber) || !Array.isArray(remotes)) return false;
  return remotes.every((r: unknown) => {
    if (typeof r !== 'object' || r === null) return false;
    const m = r as Record<string, unknown>;
    return (
      isString(m.remote) &&
      REMOTE_VIEW_NUMBERS.every((k) => isNumber(m[k])) &&
      typeof m.stalled === 'boolean' &&
      (m.via === undefined || CANDIDATE_TYPES.has(m.via as string))
    );
  });
}

function isHostEvent(m: unknown): m is HostEvent {
  if (typeof m !== 'object' || m === null) return false;
  const e = m as Record<string, unknown>;
  switch (e.type) {
    case 'bot':
      return (
        isTagged(e) &&
        (e.state === 'joined' || e.state === 'failed' || e.state === 'left') &&
        (e.error === undefined || isString(e.error))
      );
    case 'trend':
      return isTagged(e) && isString(e.metric) && Object.hasOwn(TREND_METRICS, e.metric) && isNumber(e.value);
    case 'count':
      return (
        isTagged(e) &&
        isString(e.metric) &&
        Object.hasOwn(COUNTER_METRICS, e.metric) &&
        isNumber(e.n) &&
        (e.code === undefined || isString(e.code))
      );
    case 'link':
      return (
        isTagged(e) &&
        isString(e.remote) &&
        (e.state === 'connected' || e.state === 'failed' || e.state === 'closed') &&
        typeof e.pairOwner === 'boolean'
      );
    case 'link-sample':
      return (
        isTagged(e) &&
        isString(e.remote) &&
        [
          e.videoKbps,
          e.audioKbps,
          e.videoFps,
          e.lossPct,
          e.netLossPct,
          e.jitterMs,
          e.packetsExpected,
          e.packetsLost,
          e.packetsLostBeforeRepair,
        ].every(isNumber) &&
        (e.rttMs === undefined || isNumber(e.rttMs)) &&
        isFrames(e.frames) &&
        Array.isArray(e.latencyMs) &&
        e.latencyMs.length <= MAX_LATENCY_VALUES &&
        e.latencyMs.every(isNumber) &&
        (e.via === undefined || CANDIDATE_TYPES.has(e.via as string))
      );
    case 'health':
      return isNumber(e.loopLagP99Ms);
    case 'browser-view':
      return isTagged(e) && isBrowserView(e.view);
    case 'ready':
    case 'stopped':
      return true;
    default:
      return false;
  }
}

/**
 * What the host pool tells the run: a host's own events, or that the host itself failed (a worker's
 * `error`, an exit nobody asked for, a message it could not have sent). A failed host's bots were
 * started and are gone: the run counts them failed with `reason`.
 */
export type PoolEvent =
  | { type: 'host_event'; host: number; event: HostEvent }
  | { type: 'host_failed'; host: number; reason: string; bots: string[] };

export type Post = (event: HostEvent) => void;
export type PostMessage = (message: HostMessage) => void;
