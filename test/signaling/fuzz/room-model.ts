import { isDeepStrictEqual } from 'node:util';
import { WebSocket } from 'ws';
import { SERVER_PEER } from '../../../src/signaling/constants.js';
import type { Envelope, Expectation, Frame, SocketContext } from './frames.js';

/** One fuzz socket, a named member of the fuzz room, whose every received message is sorted on arrival. */
export class FuzzMember {
  readonly errors: Envelope[] = [];
  /** Messages relayed from member i, by i. */
  readonly from: Envelope[][];
  /** Anything else: from a peer that is not a member of this room. Must stay empty. */
  readonly strays: Envelope[] = [];
  channel = '';
  private wake: (() => void) | undefined;

  constructor(
    readonly ws: WebSocket,
    readonly index: number,
    readonly names: readonly string[],
  ) {
    this.from = names.map(() => []);
    ws.on('message', (data) => {
      const msg = JSON.parse(data.toString()) as Envelope;
      const sender = names.indexOf(msg.peer);
      if (msg.peer === SERVER_PEER && msg.action === 'error') this.errors.push(msg);
      else if (sender >= 0) this.from[sender]!.push(msg);
      else this.strays.push(msg);
      this.wake?.();
    });
  }

  get open(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  /** Resolves on the next message (or after `ms`). */
  nextEvent(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.wake = done;
    });
  }
}

/**
 * What every member of the fuzz room must have received, from the server and from each other member,
 * given the frames sent so far: the protocol's promise, written down once per frame.
 */
export class RoomModel {
  readonly expectedErrors: string[][];
  readonly expectedFrom: Envelope[][][];
  framesSent = 0;

  constructor(readonly members: FuzzMember[]) {
    this.expectedErrors = members.map(() => []);
    this.expectedFrom = members.map(() => members.map(() => []));
    this.checked = members.map(() => [0, ...members.map(() => 0)]);
  }

  context(me: number, foreignChannels: readonly string[]): SocketContext {
    return {
      me,
      names: this.members.map((m) => m.names[m.index]!),
      channels: this.members.map((m) => m.channel),
      foreignChannels,
    };
  }

  /** Sends `frame` from member `me` and writes down what it must cause. */
  send(me: number, frame: Frame): void {
    this.members[me]!.ws.send(frame.data, { binary: frame.binary });
    this.framesSent++;
    this.expect(me, frame.expect);
  }

  private expect(me: number, e: Expectation): void {
    if (e.kind === 'error') {
      this.expectedErrors[me]!.push(e.code);
      return;
    }
    const channel = this.members[me]!.channel;
    const value = { ...e.value, keyword: { ...e.value.keyword, receiver_channel_name: channel } };
    const to =
      e.kind === 'direct'
        ? [e.to]
        : e.value.action === 'new-join'
          ? // Glare-free joins: members joined in index order, so only the earlier ones hear it (and itself).
            this.members.map((m) => m.index).filter((i) => i <= me)
          : this.members.map((m) => m.index);
    for (const i of to) this.expectedFrom[i]![me]!.push(value);
  }

  private caughtUp(): boolean {
    return this.members.every(
      (m, y) =>
        m.errors.length >= this.expectedErrors[y]!.length &&
        m.from.every((got, x) => got.length >= this.expectedFrom[y]![x]!.length),
    );
  }

  /** Waits until every expected message has arrived, then checks that exactly those arrived, in order. */
  async verify(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.caughtUp()) {
      if (Date.now() > deadline) break;
      await Promise.race(this.members.map((m) => m.nextEvent(50)));
    }
    this.check();
  }

  /** How far each list has been checked already: [member][0] errors, [member][1 + x] from member x. */
  private readonly checked: number[][];

  /**
   * Compares what arrived with what was promised, from where the last check stopped; throws a readable
   * report on the first difference. A count that differs (a missing or an extra message) always fails.
   */
  check(): void {
    for (const [y, m] of this.members.entries()) {
      if (!m.open) throw new Error(`member ${y} was closed by the server`);
      if (m.strays.length > 0)
        throw new Error(`member ${y} got messages from outside its room: ${show(m.strays)}`);
      const done = this.checked[y]!;
      const want = this.expectedErrors[y]!;
      if (m.errors.length !== want.length) {
        throw new Error(
          `member ${y}: ${m.errors.length} errors, expected ${want.length}\n  got      ${show(m.errors.slice(done[0]).map((e) => [e.keyword.code, e.keyword.message]))}\n  expected ${show(want.slice(done[0]))}`,
        );
      }
      for (let i = done[0]!; i < want.length; i++) {
        const e = m.errors[i]!;
        if (e.keyword.code !== want[i] || typeof e.keyword.message !== 'string' || e.keyword.message === '') {
          throw new Error(`member ${y}: error ${i} is ${show(e)}, expected code ${want[i]}`);
        }
      }
      done[0] = want.length;
      for (const [x, got] of m.from.entries()) {
        const wantFrom = this.expectedFrom[y]![x]!;
        const from = done[1 + x]!;
        const at = got.findIndex((g, i) => i >= from && !isDeepStrictEqual(g, wantFrom[i]));
        if (got.length !== wantFrom.length || at >= 0) {
          const i = at >= 0 ? at : Math.min(got.length, wantFrom.length);
          throw new Error(
            `member ${y} from member ${x}: got ${got.length} messages, expected ${wantFrom.length}; first difference at ${i}:\n  got      ${show(got[i])}\n  expected ${show(wantFrom[i])}`,
          );
        }
        done[1 + x] = wantFrom.length;
      }
    }
  }

  get errorsReceived(): number {
    return this.members.reduce((n, m) => n + m.errors.length, 0);
  }
}

function show(v: unknown): string {
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 600 ? `${text.slice(0, 600)}…` : text;
}
