import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import { type ServerOptions, SignalingServer } from '../../src/signaling/server.js';
import { TestClient } from './client.js';
import { RedisProcess } from './redis.js';

/**
 * How many `engage serve --redis` instances `useServer` starts: 0 (the default) starts one server on the
 * in-memory engine. test/cluster/protocol-suite.test.ts sets it before importing the protocol tests, so
 * the very same tests run against a cluster.
 */
let clusterSize = 0;

export function useCluster(instances: number): void {
  clusterSize = instances;
}

export function clusterMode(): boolean {
  return clusterSize > 0;
}

type ConnectOptions = Parameters<typeof TestClient.connect>[2] & {
  /** Pin the client to this instance (for a limit of one instance); default: the room's next one. */
  instance?: number;
};

/**
 * Starts a real server on 127.0.0.1:0 before each test and closes it, and every client the test opened
 * through `connect`, after it. In cluster mode (useCluster) it starts a real redis-server for the file
 * and that many instances on it for each test, and puts each client of a room on the next instance in
 * turn, so every client is on another instance than the peers it joined after.
 */
export function useServer(options: ServerOptions = {}) {
  const size = clusterSize;
  let redis: RedisProcess | undefined;
  const placed = new Map<string, number>();
  const ctx = {
    servers: [] as SignalingServer[],
    clients: [] as TestClient[],
    /** The first instance (the only one without a cluster). */
    get server(): SignalingServer {
      return ctx.servers[0]!;
    },
    get url(): string {
      return ctx.server.url;
    },
    get cluster(): boolean {
      return size > 0;
    },
    /** The URL the next client of `room` goes to (and moves the turn on). */
    urlFor(room: string): string {
      const turn = placed.get(room) ?? 0;
      placed.set(room, turn + 1);
      return ctx.servers[turn % ctx.servers.length]!.url;
    },
    async connect(room: string, opts: ConnectOptions = {}): Promise<TestClient> {
      const { instance, ...rest } = opts;
      const url = instance === undefined ? ctx.urlFor(room) : ctx.servers[instance]!.url;
      const c = await TestClient.connect(url, room, rest);
      ctx.clients.push(c);
      return c;
    },
    async join(room: string, name: string): Promise<{ client: TestClient; channel: string }> {
      const client = await ctx.connect(room);
      client.say(name, 'new-join');
      const echo = await client.next((m) => m.action === 'new-join' && m.peer === name);
      return { client, channel: echo.keyword.receiver_channel_name as string };
    },
    /** Open sockets on every instance together; rooms: the most that any one instance hosts. */
    stats(): { rooms: number; sockets: number } {
      const all = ctx.servers.map((s) => s.stats);
      return {
        rooms: Math.max(...all.map((s) => s.rooms)),
        sockets: all.reduce((n, s) => n + s.sockets, 0),
      };
    },
    /** /healthz of every instance together: sockets summed, rooms the most that any one hosts. */
    async health(): Promise<{ rooms: number; sockets: number }> {
      const all = await Promise.all(
        ctx.servers.map(
          async (s) =>
            (await (await fetch(`${s.url.replace(/^ws/, 'http')}/healthz`)).json()) as {
              rooms: number;
              sockets: number;
            },
        ),
      );
      return {
        rooms: Math.max(...all.map((h) => h.rooms)),
        sockets: all.reduce((n, h) => n + h.sockets, 0),
      };
    },
    /** One series of /metrics, summed over every instance. */
    async metric(line: string): Promise<number> {
      const escaped = line.replace(/[{}]/g, '\\$&');
      let sum = 0;
      for (const server of ctx.servers) {
        const text = await (await fetch(`${server.url.replace(/^ws/, 'http')}/metrics`)).text();
        const m = new RegExp(`^${escaped} (\\S+)$`, 'm').exec(text);
        if (!m) throw new Error(`no metric ${line} in /metrics of ${server.url}`);
        sum += Number(m[1]);
      }
      return sum;
    },
  };
  if (size > 0) {
    beforeAll(async () => {
      redis = await RedisProcess.start();
    });
    afterAll(async () => {
      await redis?.stop();
    });
  }
  beforeEach(async () => {
    placed.clear();
    if (size === 0) {
      ctx.servers = [await SignalingServer.start({ host: '127.0.0.1', port: 0, ...options })];
      return;
    }
    // A key prefix per test: nothing one test leaves in Redis can reach the next.
    const prefix = `t${randomBytes(4).toString('hex')}:`;
    ctx.servers = await Promise.all(
      Array.from({ length: size }, (_, i) =>
        SignalingServer.start({
          host: '127.0.0.1',
          port: 0,
          ...options,
          redis: { url: redis!.url, instanceId: `i${i}`, prefix },
        }),
      ),
    );
  });
  afterEach(async () => {
    for (const c of ctx.clients.splice(0)) c.close();
    await Promise.all(ctx.servers.map((s) => s.close()));
  });
  return ctx;
}
