import { readFileSync } from 'node:fs';

/**
 * Debian's Chromium and its flags: fake camera and microphone, loopback ICE without mDNS, and no network
 * beyond 127.0.0.1. Kept in chromium.json so bench/bot-vs-browser launches it exactly the same way.
 */
const { executable, args } = JSON.parse(
  readFileSync(new URL('./chromium.json', import.meta.url), 'utf8'),
) as {
  executable: string;
  args: string[];
};
export const CHROMIUM = executable;
export const CHROMIUM_ARGS = args;
