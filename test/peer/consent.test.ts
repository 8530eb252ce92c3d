import { afterEach, describe, expect, it, vi } from 'vitest';
import { Connection, classes, Message, methods, parseMessage } from 'werift';

// RFC 7675 consent freshness on a selected pair, as engage's werift patch drives it (one timer per
// connection, a check as a plain pending STUN transaction): a check every 4-6 s that the peer answers, and
// the connection failed once 30 s pass without an answer. Two real ICE agents on 127.0.0.1; the clock is
// faked (its timers, performance.now and Date) but checks and answers are real datagrams.

const LOOPBACK_ONLY = { useIpv4: false, useIpv6: false, additionalHostAddresses: ['127.0.0.1'] };

const open: Connection[] = [];
/** The real clock's timer, for waiting on real datagrams while the fake clock stands still. */
const realSetTimeout = globalThis.setTimeout;

afterEach(async () => {
  vi.useRealTimers();
  await Promise.all(open.splice(0).map((c) => c.close()));
});

async function connectedPair(): Promise<[Connection, Connection]> {
  const a = new Connection(true, LOOPBACK_ONLY);
  const b = new Connection(false, LOOPBACK_ONLY);
  open.push(a, b);
  await Promise.all([a.gatherCandidates(), b.gatherCandidates()]);
  a.setRemoteParams({ usernameFragment: b.localUsername, password: b.localPassword, iceLite: false });
  b.setRemoteParams({ usernameFragment: a.localUsername, password: a.localPassword, iceLite: false });
  for (const c of b.localCandidates) await a.addRemoteCandidate(c);
  for (const c of a.localCandidates) await b.addRemoteCandidate(c);
  await a.addRemoteCandidate(undefined);
  await b.addRemoteCandidate(undefined);
  let connected = false;
  const connecting = Promise.all([a.connect(), b.connect()]).finally(() => {
    connected = true;
  });
  for (let i = 0; i < 400 && !connected; i++) await advance(25, 25);
  await connecting;
  return [a, b];
}

/** Advances the fake clock in steps, letting real datagrams arrive between them. */
async function advance(ms: number, stepMs = 250): Promise<void> {
  for (let t = 0; t < ms; t += stepMs) {
    await vi.advanceTimersByTimeAsync(stepMs);
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => realSetTimeout(resolve, 2));
  }
}

/** Whether ICE lets application data go out on the selected pair (werift keeps this method private). */
function maySend(c: Connection): boolean {
  return (c as unknown as { canSendApplicationData(): boolean }).canSendApplicationData();
}

const FAKED = ['setTimeout', 'clearTimeout', 'performance', 'Date'] as const;

describe('ICE consent freshness (patched werift)', { timeout: 60_000 }, () => {
  it('checks the selected pair every 4-6 s and counts each answer with its round trip', async () => {
    vi.useFakeTimers({ toFake: [...FAKED] });
    const [a, b] = await connectedPair();
    const pair = a.nominated!;
    const sent = pair.consentRequestsSent;
    const answered = pair.responsesReceived;
    await advance(3_500);
    expect(pair.consentRequestsSent).toBe(sent); // the first check comes no sooner than 4 s
    await advance(9_000);
    // 12.5 s: two or three checks, each answered by the peer.
    expect(pair.consentRequestsSent - sent).toBeGreaterThanOrEqual(2);
    expect(pair.consentRequestsSent - sent).toBeLessThanOrEqual(3);
    expect(pair.responsesReceived - answered).toBe(pair.consentRequestsSent - sent);
    expect(pair.rtt).toBeGreaterThanOrEqual(0);
    expect(a.state).toBe('connected');
    expect(b.state).toBe('connected');
    expect(maySend(a)).toBe(true);
  });

  it('fails the connection 30 s after the last answer when the peer stops answering, not before', async () => {
    vi.useFakeTimers({ toFake: [...FAKED] });
    const [a, b] = await connectedPair();
    const states: string[] = [];
    a.stateChanged.subscribe((s) => states.push(s));
    await b.close(); // its socket is gone: a's checks go unanswered
    const pair = a.nominated!;
    const sent = pair.consentRequestsSent;
    await advance(28_000);
    expect(pair.consentRequestsSent - sent).toBeGreaterThanOrEqual(4);
    expect(a.state).toBe('connected');
    await advance(3_000);
    expect(a.state).toBe('failed');
    expect(states).toEqual(['failed']);
    expect(maySend(a)).toBe(false);
    const afterFailure = pair.consentRequestsSent;
    await advance(12_000);
    expect(pair.consentRequestsSent).toBe(afterFailure); // no checks once failed
  });

  it('keeps no consent timer after close', async () => {
    vi.useFakeTimers({ toFake: [...FAKED] });
    const [a, b] = await connectedPair();
    const pair = a.nominated!;
    const sent = pair.consentRequestsSent;
    expect(vi.getTimerCount()).toBeGreaterThan(0);
    await Promise.all([a.close(), b.close()]);
    expect(vi.getTimerCount()).toBe(0);
    await advance(12_000);
    expect(pair.consentRequestsSent).toBe(sent);
  });
});

describe('STUN messages (patched serialisation)', () => {
  it('writes MESSAGE-INTEGRITY and FINGERPRINT that the parser verifies, and rejects a wrong key', () => {
    const key = Buffer.from('a-password-of-some-length', 'utf8');
    const request = new Message(methods.BINDING, classes.REQUEST)
      .setAttribute('USERNAME', 'abcd:efgh')
      .setAttribute('PRIORITY', 1_853_824_767)
      .setAttribute('ICE-CONTROLLING', 0x1234_5678_9abc_def0n)
      .setAttribute('USE-CANDIDATE', null)
      .addMessageIntegrity(key)
      .addFingerprint();
    const bytes = request.bytes;
    expect(bytes.length % 4).toBe(0);
    expect(bytes.readUInt16BE(2)).toBe(bytes.length - 20);
    const parsed = parseMessage(bytes, key);
    expect(parsed?.getAttributeValue('USERNAME')).toBe('abcd:efgh');
    expect(parsed?.getAttributeValue('PRIORITY')).toBe(1_853_824_767);
    expect(parsed?.transactionIdHex).toBe(request.transactionIdHex);
    expect(parseMessage(bytes, Buffer.from('another'))).toBeUndefined();
    const corrupt = Buffer.from(bytes);
    corrupt[30] = (corrupt[30] ?? 0) ^ 1;
    expect(parseMessage(corrupt)).toBeUndefined(); // FINGERPRINT no longer matches
  });

  it('pads an attribute to four bytes with zeros', () => {
    const bytes = new Message(methods.BINDING, classes.REQUEST).setAttribute('USERNAME', 'abcde').bytes;
    // header 20 + attribute header 4 + "abcde" 5 + 3 zero bytes
    expect(bytes.length).toBe(32);
    expect([...bytes.subarray(29)]).toEqual([0, 0, 0]);
  });
});
