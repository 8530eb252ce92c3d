/**
 * bench/bot-vs-browser runs where only loopback exists: headless Chromium gathers candidates on every
 * interface and would pair pages (and make bots send) over the machine's own address otherwise. When the
 * process is not in such a network namespace already, it runs itself again inside a new one, `unshare
 * --net` as root or `unshare --map-root-user --net` where user namespaces are allowed, with lo brought up;
 * when neither works it stops with the reason.
 */
import { spawnSync } from 'node:child_process';
import os from 'node:os';

const ENTERED = 'ENGAGE_BENCH_NETNS';

/** True when every network address this process can see is a loopback one. */
export function loopbackOnly() {
  return Object.values(os.networkInterfaces())
    .flat()
    .every((a) => a?.internal);
}

function works(prefix) {
  return spawnSync(prefix[0], [...prefix.slice(1), 'true'], { stdio: 'ignore' }).status === 0;
}

/**
 * Returns when this process is in a loopback-only namespace. Otherwise it runs the same command in one,
 * and exits with its exit code (never returns).
 */
export function ensureLoopbackOnly(log) {
  if (loopbackOnly()) {
    log('network: loopback only (a namespace with only lo)');
    return;
  }
  if (process.env[ENTERED]) throw new Error('entered a new network namespace, but it has more than lo');
  const prefix = [
    ['unshare', '--net'],
    ['unshare', '--map-root-user', '--net'],
  ].find(works);
  if (!prefix) {
    throw new Error(
      'this machine has interfaces besides lo, and no network namespace could be made (unshare --net needs ' +
        'root, or user namespaces for --map-root-user): run the bench as root, or in a namespace with only lo',
    );
  }
  log(`network: running in a new loopback-only namespace (${prefix.join(' ')}; only lo is up)`);
  const child = spawnSync(
    prefix[0],
    [
      ...prefix.slice(1),
      'sh',
      '-c',
      'ip link set lo up && exec "$@"',
      'sh',
      process.execPath,
      ...process.execArgv,
      ...process.argv.slice(1),
    ],
    { stdio: 'inherit', env: { ...process.env, [ENTERED]: '1' } },
  );
  if (child.error) throw child.error;
  process.exit(child.status ?? 1);
}
