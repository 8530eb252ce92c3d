/**
 * fast-check generators of client frames, each carrying the reply docs/protocol.md promises for it. A
 * generator makes one kind of mistake (or none) so that its expectation follows from one rule; the
 * order of the checks ("Checks, in order") is what decides a frame that could break two.
 */
import { isUtf8 } from 'node:buffer';
import fc from 'fast-check';
import {
  ACTION_MAX_LENGTH,
  FRAME_SHAPE,
  PROTOCOL_ACTIONS,
  USERNAME,
} from '../../../src/signaling/constants.js';
import type { ErrorCode } from '../../../src/signaling/protocol.js';

/** What the fuzz server runs with (the defaults, but for the rates, which have tests of their own). */
export const FUZZ_LIMITS = { maxMessageBytes: 64 * 1024, maxBroadcastBytes: 4 * 1024 };

/** What one fuzz socket knows when it builds a frame. */
export interface SocketContext {
  /** Index of the sending socket among the fuzz members; members joined in index order. */
  me: number;
  names: readonly string[];
  channels: readonly string[];
  /** Channels of members of another room (room isolation: never a valid target). */
  foreignChannels: readonly string[];
}

// biome-ignore lint/suspicious/noExplicitAny: a relayed envelope is whatever JSON the sender chose
export type Envelope = { peer: string; action: string; keyword: Record<string, any> };

export type Expectation =
  /** Exactly one `error` with this code, to the sender only. */
  | { kind: 'error'; code: ErrorCode }
  /** Relayed, with the sender's channel, to the room (new-join: to members that joined earlier, and itself). */
  | { kind: 'broadcast'; value: Envelope }
  /** Relayed, with the sender's channel, to member `to` only. */
  | { kind: 'direct'; to: number; value: Envelope };

export interface Frame {
  data: string | Buffer;
  binary: boolean;
  expect: Expectation;
}

/** A generated case: the generator's name and its arguments, printable when fast-check reports it. */
export interface FrameCase {
  gen: string;
  args: unknown;
}

interface Generator<A> {
  arb: fc.Arbitrary<A>;
  build(args: A, ctx: SocketContext): Frame;
  weight: number;
}

const bytes = (text: string) => Buffer.byteLength(text);
const error = (code: ErrorCode): Expectation => ({ kind: 'error', code });
/** The value the server relays for `text`: what JSON.parse builds, as JSON.stringify writes it back. */
const relayed = (text: string): Envelope => JSON.parse(JSON.stringify(JSON.parse(text)));

// ---- building blocks -----------------------------------------------------------------------------

const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c));
/** Any code point, lone surrogates included: they reach the server as JSON escapes. */
const anyChar = fc.oneof(
  { weight: 6, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
  { weight: 1, arbitrary: loneSurrogate },
);
const anyString = (maxLength = 16) => fc.string({ unit: anyChar, maxLength });

/** Keys that have tripped JavaScript servers before, beside arbitrary ones. */
const hostileKey = fc.oneof(
  fc.constantFrom(
    '__proto__',
    'constructor',
    'prototype',
    'toString',
    'hasOwnProperty',
    'receiver_channel_name',
  ),
  anyString(8),
);

const hugeNumber = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(Number.MAX_VALUE, -Number.MAX_VALUE, Number.MIN_VALUE, 2 ** 53 + 1, -(2 ** 63), 1e308),
  fc.integer(),
);

const scalar = fc.oneof(anyString(24), hugeNumber, fc.boolean(), fc.constant(null));

/** Small JSON-able values with hostile keys, at most 4 levels deep. */
const jsonish: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    scalar,
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(hostileKey, tie('value'), { maxKeys: 4 }),
  ),
})).value;

const keywordArb = fc.dictionary(hostileKey, jsonish, { maxKeys: 5 });

/** A name the fuzz sockets do not hold, valid as a username (lone surrogates are not control characters). */
const otherUsername = fc
  .string({ unit: anyChar, minLength: 1, maxLength: USERNAME.maxLength })
  .filter((n) => n.length <= USERNAME.maxLength && !USERNAME.forbidden.test(n) && !n.startsWith('@'))
  .map((n) => `o${n}`.slice(0, USERNAME.maxLength));

const PROTOCOL = new Set<string>(PROTOCOL_ACTIONS);
const customAction = fc
  .string({ unit: anyChar, minLength: 1, maxLength: ACTION_MAX_LENGTH })
  .filter((a) => a.length <= ACTION_MAX_LENGTH && !PROTOCOL.has(a));

/** A JSON value of every type but the ones `ok` accepts. */
const wrongValue = (ok: (v: unknown) => boolean) =>
  fc
    .oneof(
      fc.integer(),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.boolean(),
      fc.constant(null),
      fc.array(fc.integer(), { maxLength: 3 }),
      fc.dictionary(fc.string({ maxLength: 4 }), fc.integer(), { maxKeys: 2 }),
      anyString(8),
    )
    .filter((v) => !ok(v));

const isPlainObject = (v: unknown) => typeof v === 'object' && v !== null && !Array.isArray(v);
const isUsername = (v: unknown) =>
  typeof v === 'string' &&
  v.length >= 1 &&
  v.length <= USERNAME.maxLength &&
  !USERNAME.forbidden.test(v) &&
  !v.startsWith('@');

function description(type: 'offer' | 'answer') {
  return fc.record({ type: fc.constant(type), sdp: anyString(40).map((s) => `v=0\r\n${s}`) });
}

// ---- the generators ------------------------------------------------------------------------------

/** A valid room-wide message: relayed untouched, or too-large past --max-broadcast-bytes. */
const validBroadcast: Generator<{ action: string; keyword: Record<string, unknown>; pad: number }> = {
  weight: 6,
  arb: fc.record({
    action: fc.oneof({ weight: 4, arbitrary: customAction }, fc.constantFrom('new-join', 'close')),
    keyword: keywordArb,
    pad: fc.oneof({ weight: 5, arbitrary: fc.constant(0) }, fc.integer({ min: 3000, max: 6000 })),
  }),
  build({ action, keyword, pad }, ctx) {
    const kw = pad > 0 ? { ...keyword, pad: 'p'.repeat(pad) } : keyword;
    const text = JSON.stringify({ peer: ctx.names[ctx.me], action, keyword: kw });
    if (bytes(text) > FUZZ_LIMITS.maxBroadcastBytes)
      return { data: text, binary: false, expect: error('too-large') };
    return { data: text, binary: false, expect: { kind: 'broadcast', value: relayed(text) } };
  },
};

/** Arrays and objects nested 1-120 levels in a keyword (the envelope is level 1, keyword level 2). */
const deepNesting: Generator<{ levels: boolean[]; direct: boolean }> = {
  weight: 3,
  arb: fc.record({ levels: fc.array(fc.boolean(), { minLength: 1, maxLength: 120 }), direct: fc.boolean() }),
  build({ levels, direct }, ctx) {
    const open = levels.map((isArray) => (isArray ? '[' : '{"k":')).join('');
    const close = [...levels]
      .reverse()
      .map((isArray) => (isArray ? ']' : '}'))
      .join('');
    const inner = `${open}${levels[levels.length - 1] ? '' : 'null'}${close}`;
    const depth = 2 + levels.length;
    const peer = JSON.stringify(ctx.names[ctx.me]);
    if (direct) {
      const to = (ctx.me + 1) % ctx.names.length;
      const text = `{"peer":${peer},"action":"new-offer","keyword":{"sdp":{"type":"offer","sdp":"v=0"},"receiver_channel_name":${JSON.stringify(ctx.channels[to])},"deep":${inner}}}`;
      if (depth > FRAME_SHAPE.maxDepth) return { data: text, binary: false, expect: error('too-complex') };
      return { data: text, binary: false, expect: { kind: 'direct', to, value: relayed(text) } };
    }
    const text = `{"peer":${peer},"action":"deep","keyword":{"k":${inner}}}`;
    if (depth > FRAME_SHAPE.maxDepth) return { data: text, binary: false, expect: error('too-complex') };
    return { data: text, binary: false, expect: { kind: 'broadcast', value: relayed(text) } };
  },
};

/** An offer to nobody carrying n extra array elements: unknown-target, or too-complex past the limit. */
const wideFrame: Generator<number> = {
  weight: 2,
  // The offer itself holds 8 values (3 + 3 in keyword + 2 in sdp); around the limit is left to unit tests.
  arb: fc.oneof(
    fc.integer({ min: 0, max: FRAME_SHAPE.maxValues - 100 }),
    fc.integer({ min: FRAME_SHAPE.maxValues, max: 12_000 }),
  ),
  build(n, ctx) {
    const text = JSON.stringify({
      peer: ctx.names[ctx.me],
      action: 'new-offer',
      keyword: {
        sdp: { type: 'offer', sdp: 'v=0' },
        receiver_channel_name: 'specific.engage!nobody',
        pad: Array(n).fill(0),
      },
    });
    return {
      data: text,
      binary: false,
      expect: error(n + 8 > FRAME_SHAPE.maxValues ? 'too-complex' : 'unknown-target'),
    };
  },
};

type Field = 'peer' | 'action' | 'keyword' | 'sdp' | 'sdp.type' | 'sdp.sdp' | 'receiver_channel_name';
const FIELD_RULES: Record<Field, (v: unknown) => boolean> = {
  peer: isUsername,
  action: (v) => typeof v === 'string' && v.length >= 1 && v.length <= ACTION_MAX_LENGTH,
  keyword: isPlainObject,
  sdp: isPlainObject,
  // Replaced below by "the right type for the action" (offer or answer).
  'sdp.type': () => false,
  'sdp.sdp': (v) => typeof v === 'string' && v.length > 0,
  receiver_channel_name: (v) => typeof v === 'string' && v.length > 0,
};

/** Every wrong type (or no value at all) in every field, of every action: bad-envelope. */
const wrongType: Generator<{ action: string; field: Field; value: unknown; remove: boolean }> = {
  weight: 5,
  arb: fc
    .record({
      action: fc.constantFrom('new-join', 'close', 'new-offer', 'new-answer', 'custom-x'),
      field: fc.constantFrom<Field>(
        'peer',
        'action',
        'keyword',
        'sdp',
        'sdp.type',
        'sdp.sdp',
        'receiver_channel_name',
      ),
      remove: fc.boolean(),
    })
    .filter(
      (r) =>
        r.action.startsWith('new-o') ||
        r.action.startsWith('new-a') ||
        (!r.field.includes('sdp') && r.field !== 'receiver_channel_name'),
    )
    .chain((r) => {
      const expectedType = r.action === 'new-offer' ? 'offer' : 'answer';
      const ok = r.field === 'sdp.type' ? (v: unknown) => v === expectedType : FIELD_RULES[r.field];
      return wrongValue(ok).map((value) => ({ ...r, value }));
    }),
  build({ action, field, value, remove }, ctx) {
    const target = ctx.channels[(ctx.me + 1) % ctx.channels.length];
    // biome-ignore lint/suspicious/noExplicitAny: a template bent out of shape on purpose
    const frame: any = { peer: ctx.names[ctx.me], action, keyword: {} };
    if (action === 'new-offer' || action === 'new-answer') {
      frame.keyword = {
        sdp: { type: action === 'new-offer' ? 'offer' : 'answer', sdp: 'v=0' },
        receiver_channel_name: target,
      };
    }
    const [head, tail] = field.split('.') as [string, string | undefined];
    const holder = head === 'peer' || head === 'action' || head === 'keyword' ? frame : frame.keyword;
    const key = head === 'sdp' && tail ? tail : head;
    const parent = head === 'sdp' && tail ? frame.keyword.sdp : holder;
    if (remove) delete parent[key];
    else parent[key] = value;
    return { data: JSON.stringify(frame), binary: false, expect: error('bad-envelope') };
  },
};

/** JSON that is not an object at the top: bad-envelope. */
const notAnObject: Generator<unknown> = {
  weight: 1,
  arb: fc.oneof(scalar, fc.array(jsonish, { maxLength: 3 })),
  build(value) {
    return { data: JSON.stringify(value), binary: false, expect: error('bad-envelope') };
  },
};

/** A client speaking as the server, or sending what only the server sends: bad-envelope. */
const spoofedServer: Generator<{ peer: string | null; action: string }> = {
  weight: 2,
  arb: fc.record({
    peer: fc.option(
      anyString(10).map((s) => `@${s}`.slice(0, USERNAME.maxLength)),
      { nil: null },
    ),
    action: fc.constantFrom('peer-left', 'error', 'new-join', 'x'),
  }),
  build({ peer, action }, ctx) {
    const spoof = peer ?? (action === 'peer-left' || action === 'error' ? ctx.names[ctx.me] : '@server');
    const text = JSON.stringify({
      peer: spoof,
      action,
      keyword: { code: 'room-full', receiver_channel_name: ctx.channels[0] },
    });
    return { data: text, binary: false, expect: error('bad-envelope') };
  },
};

/** Another valid name than the socket's own: identity-changed. */
const otherName: Generator<{ name: string; action: string }> = {
  weight: 2,
  arb: fc.record({ name: otherUsername, action: fc.constantFrom('new-join', 'close', 'x') }),
  build({ name, action }, ctx) {
    const peer = name === ctx.names[ctx.me] ? `${name}2`.slice(-USERNAME.maxLength) : name;
    return {
      data: JSON.stringify({ peer, action, keyword: {} }),
      binary: false,
      expect: error('identity-changed'),
    };
  },
};

/** Number literals: JSON has no NaN or Infinity (bad-json); out-of-range ones parse to ±Infinity and relay as null. */
const numberLiterals: Generator<{ literal: string; valid: boolean }> = {
  weight: 2,
  arb: fc.oneof(
    fc
      .constantFrom('NaN', 'Infinity', '-Infinity', 'undefined', '0x10', '01', '+1', '1.', '.5', '1e', '--1')
      .map((literal) => ({ literal, valid: false })),
    fc
      .oneof(
        fc.integer({ min: 309, max: 100_000 }).map((e) => `1e${e}`),
        fc.integer({ min: 309, max: 100_000 }).map((e) => `-9.99e${e}`),
        fc.bigInt({ min: 10n ** 20n, max: 10n ** 400n }).map(String),
        fc.constantFrom('1e-400', '-0', '0e0', '123456789012345678901234567890'),
      )
      .map((literal) => ({ literal, valid: true })),
  ),
  build({ literal, valid }, ctx) {
    const text = `{"peer":${JSON.stringify(ctx.names[ctx.me])},"action":"num","keyword":{"n":${literal}}}`;
    if (!valid) return { data: text, binary: false, expect: error('bad-json') };
    return { data: text, binary: false, expect: { kind: 'broadcast', value: relayed(text) } };
  },
};

/** Any text that is not JSON (including truncated frames): bad-json. */
const notJson: Generator<{ text: string; truncate: number | null }> = {
  weight: 3,
  arb: fc.record({
    text: fc.string({ unit: anyChar, maxLength: 200 }),
    truncate: fc.option(fc.nat(), { nil: null }),
  }),
  build({ text, truncate }, ctx) {
    let data = text;
    if (truncate !== null) {
      const valid = JSON.stringify({ peer: ctx.names[ctx.me], action: 'x', keyword: { text } });
      data = valid.slice(0, truncate % valid.length);
    }
    // What the server will see: ws encodes a JS string as UTF-8, lone surrogates as U+FFFD.
    const seen = Buffer.from(data).toString('utf8');
    let parses = true;
    try {
      JSON.parse(seen);
    } catch {
      parses = false;
    }
    const opens = [...seen].filter((c) => c === '[' || c === '{').length;
    if (parses || opens > FRAME_SHAPE.maxDepth) data = `not json: ${data.replace(/[[{]/g, '(')}`;
    return { data, binary: false, expect: error('bad-json') };
  },
};

/** Text frames of bytes that are not UTF-8: bad-json. */
const invalidUtf8: Generator<{ prefix: Uint8Array; bad: number; suffix: Uint8Array }> = {
  weight: 2,
  arb: fc.record({
    prefix: fc.uint8Array({ maxLength: 40 }),
    bad: fc.nat(5),
    suffix: fc.uint8Array({ maxLength: 40 }),
  }),
  build({ prefix, bad, suffix }) {
    const sequences = [
      [0xff],
      [0xc0, 0x80],
      [0x80],
      [0xed, 0xa0, 0x80],
      [0xf4, 0x90, 0x80, 0x80],
      [0xe2, 0x82],
    ];
    // The truncated sequence must end the frame to be invalid whatever follows.
    const tail = bad === 5 ? [] : [...suffix];
    let data = Buffer.from([...prefix, ...sequences[bad]!, ...tail]);
    // A lone continuation byte can complete a lead byte at the end of the prefix; 0xff never can.
    if (isUtf8(data)) data = Buffer.concat([data, Buffer.from([0xff])]);
    return { data, binary: false, expect: error('bad-json') };
  },
};

/** Binary frames, a valid envelope's bytes among them: bad-envelope (the protocol is text only). */
const binaryFrame: Generator<{ raw: Uint8Array; envelope: boolean }> = {
  weight: 2,
  arb: fc.record({ raw: fc.uint8Array({ maxLength: 300 }), envelope: fc.boolean() }),
  build({ raw, envelope }, ctx) {
    const data = envelope
      ? Buffer.from(JSON.stringify({ peer: ctx.names[ctx.me], action: 'x', keyword: {} }))
      : Buffer.from(raw);
    return { data, binary: true, expect: error('bad-envelope') };
  },
};

/** Frames over --max-message-bytes (but under the hard cap), text or binary: too-large, the socket stays. */
const tooLarge: Generator<{ extra: number; binary: boolean }> = {
  weight: 1,
  arb: fc.record({ extra: fc.integer({ min: 1, max: 64 * 1024 }), binary: fc.boolean() }),
  build({ extra, binary }, ctx) {
    const head = JSON.stringify({
      peer: ctx.names[ctx.me],
      action: 'new-offer',
      keyword: { sdp: { type: 'offer', sdp: '' } },
    });
    const size = FUZZ_LIMITS.maxMessageBytes + extra;
    const data = `${head.slice(0, -4)}${'x'.repeat(size - head.length)}"}}}`;
    return { data: binary ? Buffer.from(data) : data, binary, expect: error('too-large') };
  },
};

type DirectTarget = 'member' | 'self' | 'foreign' | 'unknown';
/** Offers and answers: to a member (relayed to it alone), or to a channel outside the room (unknown-target). */
const direct: Generator<{
  action: 'new-offer' | 'new-answer';
  target: DirectTarget;
  pick: number;
  sdp: { type: string; sdp: string };
  keyword: Record<string, unknown>;
  channel: string;
}> = {
  weight: 4,
  arb: fc.constantFrom<'new-offer' | 'new-answer'>('new-offer', 'new-answer').chain((action) =>
    fc.record({
      action: fc.constant(action),
      target: fc.constantFrom<DirectTarget>('member', 'member', 'self', 'foreign', 'unknown'),
      pick: fc.nat(),
      sdp: description(action === 'new-offer' ? 'offer' : 'answer'),
      keyword: keywordArb,
      channel: anyString(30),
    }),
  ),
  build({ action, target, pick, sdp, keyword, channel }, ctx) {
    const others = ctx.names.map((_, i) => i).filter((i) => i !== ctx.me);
    const to = target === 'self' ? ctx.me : others[pick % others.length]!;
    const receiver =
      target === 'member' || target === 'self'
        ? ctx.channels[to]!
        : target === 'foreign'
          ? ctx.foreignChannels[pick % ctx.foreignChannels.length]!
          : `specific.engage!${channel}`;
    const text = JSON.stringify({
      peer: ctx.names[ctx.me],
      action,
      keyword: { ...keyword, sdp, receiver_channel_name: receiver },
    });
    if (bytes(text) > FUZZ_LIMITS.maxMessageBytes)
      return { data: text, binary: false, expect: error('too-large') };
    if (target === 'foreign' || target === 'unknown')
      return { data: text, binary: false, expect: error('unknown-target') };
    return { data: text, binary: false, expect: { kind: 'direct', to, value: relayed(text) } };
  },
};

const GENERATORS: Record<string, Generator<never>> = {
  validBroadcast,
  deepNesting,
  wideFrame,
  wrongType,
  notAnObject,
  spoofedServer,
  otherName,
  numberLiterals,
  notJson,
  invalidUtf8,
  binaryFrame,
  tooLarge,
  direct,
} as unknown as Record<string, Generator<never>>;

/** Every generator, weighted, as printable cases. */
export const frameCase: fc.Arbitrary<FrameCase> = fc.oneof(
  ...Object.entries(GENERATORS).map(([gen, g]) => ({
    weight: g.weight,
    arbitrary: (g.arb as fc.Arbitrary<unknown>).map((args) => ({ gen, args })),
  })),
);

export function buildFrame(c: FrameCase, ctx: SocketContext): Frame {
  const g = GENERATORS[c.gen];
  if (!g) throw new Error(`no generator ${c.gen}`);
  return g.build(c.args as never, ctx);
}
