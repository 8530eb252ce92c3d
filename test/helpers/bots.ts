import type { Bot } from '../../src/peer/bot.js';

/** Resolves when every bot has a connected link to every other (a full mesh), or throws naming who is missing. */
export async function fullMesh(bots: Bot[], timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const missing = () => {
    const out: string[] = [];
    for (const b of bots) {
      for (const o of bots) {
        if (o === b) continue;
        if (b.links.get(o.name)?.state !== 'connected') out.push(`${b.name}→${o.name}`);
      }
    }
    return out;
  };
  while (missing().length > 0) {
    if (Date.now() > deadline)
      throw new Error(`mesh incomplete after ${timeoutMs} ms: ${missing().join(', ')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function until(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
