import { request } from 'node:http';
import { WebSocket } from 'ws';

// biome-ignore lint/suspicious/noExplicitAny: tests inspect whatever the server sent
export type Msg = { peer: string; action: string; keyword: Record<string, any> };

/** A raw protocol client for tests: sends anything, records everything it receives. */
export class TestClient {
  readonly messages: Msg[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  private waiters: Array<() => void> = [];
  private cursor = 0;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      this.messages.push(JSON.parse(data.toString()) as Msg);
      for (const w of this.waiters.splice(0)) w();
    });
    this.closed = new Promise((resolve) => {
      ws.on('close', (code, reason) => {
        resolve({ code, reason: reason.toString() });
        for (const w of this.waiters.splice(0)) w();
      });
    });
  }

  static async connect(
    baseUrl: string,
    room: string,
    opts: { username?: string; autoPong?: boolean; path?: string } = {},
  ): Promise<TestClient> {
    const query = opts.username === undefined ? '' : `?username=${encodeURIComponent(opts.username)}`;
    const ws = new WebSocket(`${baseUrl}${opts.path ?? '/room/'}${room}/${query}`, {
      autoPong: opts.autoPong ?? true,
    });
    const client = new TestClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return client;
  }

  send(msg: unknown): void {
    this.ws.send(typeof msg === 'string' || Buffer.isBuffer(msg) ? msg : JSON.stringify(msg));
  }

  /** Sends a protocol message as `peer`. */
  say(peer: string, action: string, keyword: Record<string, unknown> = {}): void {
    this.send({ peer, action, keyword });
  }

  /** Resolves with the next not-yet-consumed message matching `match`, in arrival order. */
  async next(match: (m: Msg) => boolean = () => true, timeoutMs = 2000): Promise<Msg> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (let i = this.cursor; i < this.messages.length; i++) {
        const m = this.messages[i]!;
        if (match(m)) {
          this.cursor = i + 1;
          return m;
        }
      }
      const left = deadline - Date.now();
      if (left <= 0 || this.ws.readyState === WebSocket.CLOSED) {
        throw new Error(
          `no matching message within ${timeoutMs} ms; got ${JSON.stringify(this.messages.slice(this.cursor))}`,
        );
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  nextAction(action: string, timeoutMs?: number): Promise<Msg> {
    return this.next((m) => m.action === action, timeoutMs);
  }

  nextError(code: string, timeoutMs?: number): Promise<Msg> {
    return this.next((m) => m.action === 'error' && m.keyword.code === code, timeoutMs);
  }

  /** Waits a little and returns every message received that matches, consumed or not. */
  async settle(ms = 150): Promise<Msg[]> {
    await new Promise((r) => setTimeout(r, ms));
    return this.messages;
  }

  close(): void {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close();
  }
}

/** The HTTP status a WebSocket upgrade to `path` gets (101 when accepted). */
export function upgradeStatus(
  baseUrl: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<number> {
  const url = new URL(baseUrl.replace(/^ws/, 'http'));
  return new Promise((resolve, reject) => {
    const req = request({
      host: url.hostname,
      port: url.port,
      path,
      headers: {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
        ...headers,
      },
    });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve(res.statusCode ?? 0);
    });
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

export const OFFER_SDP = { type: 'offer', sdp: 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n' };
export const ANSWER_SDP = { type: 'answer', sdp: 'v=0\r\no=- 3 4 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n' };
