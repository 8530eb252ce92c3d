import { TimeoutError } from '../../util/wait.js';
import type { Plan, PlannedBot } from '../plan/plan.js';
import type { HostPool } from './host-pool.js';
import type { BotSpec } from './messages.js';

export type Phase = 'ramp' | 'steady' | 'leaving';

/** How the run ended: its plan ran out, Ctrl-C, or something broke (the reason is the abort's). */
export type RunEnd = 'completed' | 'interrupted' | 'aborted';

export interface ExecutorInput {
  plan: Plan;
  pool: HostPool;
  spec: (bot: PlannedBot) => BotSpec;
  /** Held after the last bot began joining. */
  durationMs: number;
  /** Bots get this long to leave cleanly; the caller cancels what is left by closing the pool. */
  graceMs: number;
  /** The plan's first milliseconds already past (a shard that began after --start-at): due bots start at once. */
  skipMs?: number;
  /** Ctrl-C: stop now, leave cleanly, report. */
  interrupt: AbortSignal;
  /** Something broke (a host failed): stop now, leave cleanly, fail. */
  abort: AbortSignal;
  onPhase?: (phase: Phase) => void;
}

export interface ExecutorOutcome {
  end: RunEnd;
  /** Some bots had not left when the grace period ran out. */
  graceOver: boolean;
}

/** A run stopped early waits less for its bots: the user or a failure already asked for the end. */
export const EARLY_END_GRACE_MS = 3000;
/** Longest a worker may take to load (werift and all) before the run gives up on it. */
export const HOSTS_READY_TIMEOUT_MS = 60_000;

/**
 * k6's init stage: waits until every host has loaded, so that the plan's clock starts when bots can
 * start, not while workers are still loading. An interrupt or an abort ends the wait early (the run
 * then ends at once); a host that never loads is an error.
 */
export async function hostsReady(
  pool: HostPool,
  interrupt: AbortSignal,
  abort: AbortSignal,
  timeoutMs = HOSTS_READY_TIMEOUT_MS,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const stopped = new AbortController();
  const onStop = () => stopped.abort();
  interrupt.addEventListener('abort', onStop, { once: true });
  abort.addEventListener('abort', onStop, { once: true });
  if (interrupt.aborted || abort.aborted) return;
  try {
    await Promise.race([
      pool.ready(),
      new Promise<void>((resolve) => stopped.signal.addEventListener('abort', () => resolve())),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new TimeoutError(`the ${pool.size} bot host(s) to load`, timeoutMs)),
          timeoutMs,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
    interrupt.removeEventListener('abort', onStop);
    abort.removeEventListener('abort', onStop);
    stopped.abort();
  }
}

/**
 * Drives the plan, as k6's executors do: bot i starts at its planned time on its host (ramp), the plan
 * holds for `durationMs` after the last start (steady), then every bot is asked to leave and gets the
 * grace period to do so (leaving). An interrupt or an abort cuts ramp and hold short. Every timer it
 * sets is cleared on every way out.
 */
export async function execute(input: ExecutorInput): Promise<ExecutorOutcome> {
  const { plan, pool } = input;
  const timers: NodeJS.Timeout[] = [];
  const at = (ms: number) => Math.max(0, ms - (input.skipMs ?? 0));
  try {
    input.onPhase?.('ramp');
    plan.bots.forEach((bot, i) => {
      timers.push(setTimeout(() => pool.start(i, input.spec(bot)), at(bot.startAtMs)));
    });
    timers.push(setTimeout(() => input.onPhase?.('steady'), at(plan.rampMs)));
    const end = await until(at(plan.rampMs + input.durationMs), input.interrupt, input.abort);
    for (const t of timers) clearTimeout(t);

    input.onPhase?.('leaving');
    const graceMs = end === 'completed' ? input.graceMs : Math.min(input.graceMs, EARLY_END_GRACE_MS);
    const graceTimer = new Promise<boolean>((resolve) => {
      timers.push(setTimeout(() => resolve(true), graceMs));
    });
    const graceOver = await Promise.race([pool.stop().then(() => false), graceTimer]);
    return { end, graceOver };
  } finally {
    for (const t of timers) clearTimeout(t);
  }
}

/** Waits `ms`, or less when a signal aborts first; says which ended the wait. */
function until(ms: number, interrupt: AbortSignal, abort: AbortSignal): Promise<RunEnd> {
  return new Promise<RunEnd>((resolve) => {
    const finish = (end: RunEnd) => {
      clearTimeout(timer);
      interrupt.removeEventListener('abort', onInterrupt);
      abort.removeEventListener('abort', onAbort);
      resolve(end);
    };
    const onInterrupt = () => finish('interrupted');
    const onAbort = () => finish('aborted');
    const timer = setTimeout(() => finish('completed'), ms);
    interrupt.addEventListener('abort', onInterrupt, { once: true });
    abort.addEventListener('abort', onAbort, { once: true });
    if (abort.aborted) onAbort();
    else if (interrupt.aborted) onInterrupt();
  });
}
