import type { RoomEvent } from './engine.js';

/**
 * One room event as the Lua scripts write it to the stream and publish it:
 * `v1\n<epoch>\n<seq>\n<kind>\n<action>\n<from>\n<to>\n<body>`. Line-based so a script never re-encodes
 * the frame (a JSON frame inside JSON would be escaped twice); `body` is last, so whatever it holds is
 * kept whole. `kind` is `msg` (body: a client frame; `action`: its metrics label) or `left` (body: the
 * member's name). `to` is `*` (the whole room) or channels separated by spaces (channel ids have none).
 */
export interface RoomEntry {
  epoch: string;
  seq: number;
  to: readonly string[] | '*';
  event: RoomEvent;
}

const HEADER_LINES = 7;

/** Parses an entry; undefined for anything malformed (it came over the network: never trust, never throw). */
export function parseEntry(text: string): RoomEntry | undefined {
  const header: string[] = [];
  let at = 0;
  for (let i = 0; i < HEADER_LINES; i++) {
    const nl = text.indexOf('\n', at);
    if (nl < 0) return undefined;
    header.push(text.slice(at, nl));
    at = nl + 1;
  }
  const [version, epoch, seqText, kind, action, from, toText] = header as [
    string,
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  const body = text.slice(at);
  if (version !== 'v1' || epoch === '' || action === '' || from === '' || toText === '') return undefined;
  const seq = Number(seqText);
  if (!Number.isSafeInteger(seq) || seq < 1) return undefined;
  const to = toText === '*' ? '*' : toText.split(' ');
  switch (kind) {
    case 'msg':
      return { epoch, seq, to, event: { kind: 'frame', from, action, frame: body } };
    case 'left':
      if (body === '') return undefined;
      return { epoch, seq, to, event: { kind: 'left', member: { channel: from, name: body } } };
    default:
      return undefined;
  }
}
