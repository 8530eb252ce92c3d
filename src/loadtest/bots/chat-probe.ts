/**
 * Chat round trips over the data channel: a bot sends `"<name>: ping <seq>"` to one member, which answers
 * `"<name>: pong <seq>"` to that member only. Plain chat text, so a browser in the room just sees chat.
 */
const PING = /^(\S+): ping (\d+)$/;
const PONG = /^(\S+): pong (\d+)$/;

export type ChatProbeLine = { kind: 'ping'; seq: number } | { kind: 'pong'; seq: number } | undefined;

export function parseProbeLine(text: string): ChatProbeLine {
  const ping = PING.exec(text);
  if (ping) return { kind: 'ping', seq: Number(ping[2]) };
  const pong = PONG.exec(text);
  if (pong) return { kind: 'pong', seq: Number(pong[2]) };
  return undefined;
}

export const pingLine = (name: string, seq: number) => `${name}: ping ${seq}`;
export const pongLine = (name: string, seq: number) => `${name}: pong ${seq}`;
