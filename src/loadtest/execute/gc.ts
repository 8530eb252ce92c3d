import { setFlagsFromString } from 'node:v8';

let applied = false;

/**
 * Makes V8 free the memory of dead Buffers on the thread that made them instead of on a helper thread.
 *
 * A bot makes several short-lived Buffers for every RTP packet (SRTP cipher output, headers, auth
 * tags). With V8's default concurrent ArrayBuffer sweeping, a worker encrypting packets in a loop ran
 * 88k AES-GCM packets/s for 145% CPU (the helper thread freeing their memory took half a core); with
 * this flag it ran 250k packets/s for 100%. On a 2-core load generator the helpers competed with the
 * bots themselves. Other GC flags measured made no difference (parallel scavenge, concurrent marking).
 *
 * V8 flags are process-wide, and this one is safe to change at run time: V8 reads it only when it
 * schedules a sweep, and finishes a sweep already running in the background as before. (Changing the
 * marking flags at run time is not safe: `--single-threaded-gc` crashed V8 mid-marking.)
 */
export function sweepBuffersOnOwnThread(): void {
  if (applied) return;
  applied = true;
  setFlagsFromString('--no-concurrent-array-buffer-sweeping');
}
