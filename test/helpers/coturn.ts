import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const TURN_USER = 'engage';
export const TURN_PASSWORD = 'test-secret';

/** Whether Debian's coturn is installed (`.ci/run` installs it when missing). */
export function hasCoturn(): boolean {
  return spawnSync('turnserver', ['--help'], { stdio: 'ignore' }).error === undefined;
}

/** A port free for both TCP and UDP on 127.0.0.1 (TURN listens on both). */
async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const server = createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as { port: number }).port;
    const udp = createSocket('udp4');
    const ok = await new Promise<boolean>((resolve) => {
      udp.once('error', () => resolve(false));
      udp.bind(port, '127.0.0.1', () => resolve(true));
    });
    udp.close();
    server.close();
    await once(server, 'close');
    if (ok) return port;
  }
  throw new Error('no free port for coturn');
}

async function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export interface Coturn {
  port: number;
  /** `turn:user:pass@127.0.0.1:port` (werift picks UDP), or with `?transport=tcp`. */
  url(transport?: 'udp' | 'tcp'): string;
  /** coturn's log so far, for a failing test's message. */
  log(): string;
  close(): Promise<void>;
}

/**
 * Starts Debian's coturn on 127.0.0.1 with a free port and a test user, in the foreground (no daemon,
 * no CLI, no TLS/DTLS listeners, its own SQLite file), allowing loopback peers (coturn refuses relaying
 * to 127.0.0.0/8 unless told). Relay ports come from a random range so parallel runs rarely meet.
 */
export async function startCoturn(): Promise<Coturn> {
  const dir = await mkdtemp(join(tmpdir(), 'engage-coturn-'));
  const port = await freePort();
  const minPort = 20_000 + Math.floor(Math.random() * 200) * 200;
  const args = [
    '-n',
    '--listening-ip=127.0.0.1',
    '--relay-ip=127.0.0.1',
    `--listening-port=${port}`,
    `--min-port=${minPort}`,
    `--max-port=${minPort + 199}`,
    '--lt-cred-mech',
    `--user=${TURN_USER}:${TURN_PASSWORD}`,
    '--realm=engage.test',
    '--allow-loopback-peers',
    '--no-cli',
    '--no-tls',
    '--no-dtls',
    '--no-rfc5780',
    '--no-stun-backward-compatibility',
    '--no-software-attribute',
    `--userdb=${join(dir, 'turndb')}`,
    `--pidfile=${join(dir, 'turnserver.pid')}`,
    '--log-file=stdout',
    '--simple-log',
    // Sessions and allocations in the log, so a test can see the relay was used.
    '--verbose',
  ];
  const child: ChildProcess = spawn('turnserver', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout!.on('data', (d) => {
    log += d;
  });
  child.stderr!.on('data', (d) => {
    log += d;
  });
  const exited = once(child, 'exit');
  const deadline = Date.now() + 10_000;
  while (!(await canConnect(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      await rm(dir, { recursive: true, force: true });
      throw new Error(`coturn did not start on port ${port}:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  let closing: Promise<void> | undefined;
  return {
    port,
    url: (transport) =>
      `turn:${TURN_USER}:${TURN_PASSWORD}@127.0.0.1:${port}${transport ? `?transport=${transport}` : ''}`,
    log: () => log,
    close() {
      closing ??= (async () => {
        if (child.exitCode === null) {
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
          await exited;
          clearTimeout(timer);
        }
        await rm(dir, { recursive: true, force: true });
      })();
      return closing;
    },
  };
}
