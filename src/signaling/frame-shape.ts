import { FRAME_SHAPE } from './constants.js';

export type ShapeProblem = { depth: number } | { values: number };
export interface ShapeLimits {
  maxDepth: number;
  maxValues: number;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

function isJsonSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/**
 * The index of the quote that ends the string whose text starts at `from` (or the text's length): a
 * quote is escaped when an odd run of backslashes precedes it. indexOf skips the string's body natively,
 * which is most of a frame (an SDP is one string).
 */
function closingQuote(text: string, from: number): number {
  for (let q = text.indexOf('"', from); q >= 0; q = text.indexOf('"', q + 1)) {
    let slashes = 0;
    while (q - 1 - slashes >= from && text.charCodeAt(q - 1 - slashes) === BACKSLASH) slashes++;
    if (slashes % 2 === 0) return q;
  }
  return text.length;
}

/**
 * Measures a JSON text's nesting depth and number of values (object members plus array elements) in one
 * pass, without recursion and without parsing, and stops at the first limit crossed. The frame path runs
 * it before `JSON.parse`, so nothing deeper or wider than docs/protocol.md allows is ever built, walked
 * or stringified (V8's `JSON.stringify` throws `RangeError` on a few thousand levels that `JSON.parse`
 * accepts). On text that is not JSON the counts are meaningless but bounded; the parser refuses it next.
 */
export function shapeProblem(text: string, limits: ShapeLimits = FRAME_SHAPE): ShapeProblem | null {
  let depth = 0;
  let values = 0;
  let inString = false;
  /** Just after `[` or `{`: the next token decides whether the container is empty. */
  let opened = false;
  for (let i = 0; i < text.length; i++) {
    if (inString) {
      i = closingQuote(text, i);
      inString = false;
      continue;
    }
    const c = text.charCodeAt(i);
    if (isJsonSpace(c)) continue;
    if (opened) {
      opened = false;
      if (c !== CLOSE_BRACKET && c !== CLOSE_BRACE && ++values > limits.maxValues) return { values };
    }
    if (c === QUOTE) inString = true;
    else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth > limits.maxDepth) return { depth };
      opened = true;
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) depth--;
    else if (c === COMMA && ++values > limits.maxValues) return { values };
  }
  return null;
}

export function describeShapeProblem(problem: ShapeProblem, limits: ShapeLimits = FRAME_SHAPE): string {
  return 'depth' in problem
    ? `frame nests deeper than ${limits.maxDepth} levels`
    : `frame holds more than ${limits.maxValues} values (object members and array elements)`;
}
