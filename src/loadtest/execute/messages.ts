import type { CounterName, TrendName } from '../metrics/catalogue.js';

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
}

/** Main thread → bot host (a worker thread, or the main thread itself with --workers 0). */
export type HostCommand =
  | { type: 'start'; spec: BotSpec }
  /** Every bot leaves cleanly (sends close, finalises recordings). */
  | { type: 'stop' };

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
      lossPct: number;
      jitterMs: number;
      rttMs: number | undefined;
    }
  | { type: 'health'; loopLagP99Ms: number }
  /** Every bot of this host has left after a stop. */
  | { type: 'stopped' };

/** What actually crosses the thread boundary: events in arrival order, batched. */
export type HostMessage = { type: 'batch'; events: HostEvent[] };

export type Post = (event: HostEvent) => void;
export type PostMessage = (message: HostMessage) => void;
