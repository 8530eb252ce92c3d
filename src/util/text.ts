/**
 * Makes untrusted text safe to print on a terminal: control characters (escape sequences, carriage
 * returns, bells) are shown as `\xNN` / `\uNNNN` instead of acting on the terminal. Tabs stay.
 */
export function printable(text: string): string {
  let out = '';
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    if ((c < 0x20 && c !== 0x09) || (c >= 0x7f && c <= 0x9f)) {
      out += c <= 0xff ? `\\x${c.toString(16).padStart(2, '0')}` : `\\u${c.toString(16).padStart(4, '0')}`;
    } else if (c === 0x2028 || c === 0x2029 || (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069)) {
      // Line separators and bidi overrides can disguise what a line says.
      out += `\\u${c.toString(16)}`;
    } else {
      out += ch;
    }
  }
  return out;
}
