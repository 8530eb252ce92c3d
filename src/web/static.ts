import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import * as protocolConstants from '../signaling/constants.js';
import { packageRoot } from '../util/package-root.js';

/** The page's files, by URL path. They are plain hand-written HTML, JS and CSS: no build step. */
const FILES = {
  '/web/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/web/style.css': { file: 'style.css', type: 'text/css; charset=utf-8' },
} as const;

/**
 * The protocol's constants as the page imports them: src/signaling/constants.ts itself, rendered to
 * JavaScript, at the path the page's `import '../signaling/constants.js'` resolves to from /web/app.js.
 */
export const CONSTANTS_PATH = '/signaling/constants.js';

/**
 * Paths that get the page itself: `/`, `/index.html`, and a plain GET (no Upgrade) of a room's
 * WebSocket path, `/room/<room>/` or `/ws/room/<room>/`, so that a link to a room opens it in a browser.
 * The page checks the room name itself and says what is wrong with it.
 */
const PAGE_PATH = /^\/(?:index\.html|(?:ws\/)?room\/[^/]*\/?)?$/;

/**
 * Only what the page needs, from its own origin: scripts, styles, media from the camera or a canvas,
 * and the WebSocket back to this server. Chat is rendered as text anyway; this is the second wall.
 */
const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "media-src 'self' blob: mediastream:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const COMMON_HEADERS = {
  'cache-control': 'no-cache',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

/** `src/web` under the package root, found from this module whether it runs from src/ or dist/. */
export function webDir(): string {
  return path.join(packageRoot(import.meta.url, 'src/web/'), 'src', 'web');
}

/** A JavaScript literal for a constant: data only (strings, numbers, booleans, RegExps, arrays, objects). */
function literal(value: unknown, name: string): string {
  if (value instanceof RegExp) return value.toString();
  if (Array.isArray(value)) return `Object.freeze([${value.map((v) => literal(v, name)).join(', ')}])`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}: ${literal(v, name)}`);
    return `Object.freeze({ ${entries.join(', ')} })`;
  }
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
    return JSON.stringify(value);
  }
  throw new Error(`signaling/constants.ts must hold data only, but ${name} is a ${typeof value}`);
}

/** signaling/constants.ts as a browser module: one `export const` per constant, in the same order. */
export function renderConstantsModule(constants: Record<string, unknown> = protocolConstants): string {
  const lines = Object.entries(constants).map(
    ([name, value]) => `export const ${name} = ${literal(value, name)};`,
  );
  return `// The protocol's constants (docs/protocol.md), rendered by engage serve from src/signaling/constants.ts.\n${lines.join('\n')}\n`;
}

interface Asset {
  body: Buffer;
  headers: Record<string, string | number>;
}

function asset(dir: string, file: string, type: string, extra: Record<string, string> = {}): Asset {
  const full = path.join(dir, file);
  let body: Buffer;
  try {
    body = readFileSync(full);
  } catch (err) {
    throw new Error(`engage: the web client file ${full} is missing (${(err as Error).message})`);
  }
  return {
    body,
    headers: { 'content-type': type, 'content-length': body.length, ...COMMON_HEADERS, ...extra },
  };
}

/**
 * The browser client that `engage serve` serves, as the server's `httpFallback`: GET or HEAD of the
 * page or its files answers and returns true; anything else returns false (the server answers 404).
 * The files are read once, here, so a missing file fails at start-up rather than on the first visitor.
 */
export function webClientHandler(
  dir: string = webDir(),
): (req: IncomingMessage, res: ServerResponse) => boolean {
  const page = asset(dir, 'index.html', 'text/html; charset=utf-8', { 'content-security-policy': CSP });
  const files = new Map<string, Asset>(
    Object.entries(FILES).map(([url, f]) => [url, asset(dir, f.file, f.type)]),
  );
  const constants = Buffer.from(renderConstantsModule());
  files.set(CONSTANTS_PATH, {
    body: constants,
    headers: {
      'content-type': 'text/javascript; charset=utf-8',
      'content-length': constants.length,
      ...COMMON_HEADERS,
    },
  });
  return (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    const urlPath = (req.url ?? '/').split('?')[0] ?? '/';
    const found = PAGE_PATH.test(urlPath) ? page : files.get(urlPath);
    if (!found) return false;
    res.writeHead(200, found.headers);
    res.end(req.method === 'HEAD' ? undefined : found.body);
    return true;
  };
}
