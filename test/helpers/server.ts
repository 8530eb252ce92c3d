import { afterEach, beforeEach } from 'vitest';
import { type ServerOptions, SignalingServer } from '../../src/signaling/server.js';
import { TestClient } from './client.js';

/**
 * Starts a real server on 127.0.0.1:0 before each test and closes it, and every client the test opened
 * through `connect`, after it.
 */
export function useServer(options: ServerOptions = {}) {
  const ctx = {
    server: undefined as unknown as SignalingServer,
    clients: [] as TestClient[],
    get url(): string {
      return ctx.server.url;
    },
    async connect(room: string, opts?: Parameters<typeof TestClient.connect>[2]): Promise<TestClient> {
      const c = await TestClient.connect(ctx.server.url, room, opts);
      ctx.clients.push(c);
      return c;
    },
    async join(room: string, name: string): Promise<{ client: TestClient; channel: string }> {
      const client = await ctx.connect(room);
      client.say(name, 'new-join');
      const echo = await client.next((m) => m.action === 'new-join' && m.peer === name);
      return { client, channel: echo.keyword.receiver_channel_name as string };
    },
  };
  beforeEach(async () => {
    ctx.server = await SignalingServer.start({ host: '127.0.0.1', port: 0, ...options });
  });
  afterEach(async () => {
    for (const c of ctx.clients.splice(0)) c.close();
    await ctx.server.close();
  });
  return ctx;
}
