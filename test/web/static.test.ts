import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as constants from '../../src/signaling/constants.js';
import { CONSTANTS_PATH, renderConstantsModule, webClientHandler } from '../../src/web/static.js';
import { upgradeStatus } from '../helpers/client.js';
import { useServer } from '../helpers/server.js';

describe('web client files (webClientHandler as the server httpFallback)', () => {
  const s = useServer({ httpFallback: webClientHandler() });
  const get = (path: string, init?: RequestInit) => fetch(`${s.url.replace(/^ws/, 'http')}${path}`, init);

  it('serves the page at / and at a plain GET of a room path, with a strict CSP', async () => {
    for (const path of ['/', '/index.html', '/room/demo/', '/room/demo/?username=ann', '/ws/room/demo']) {
      const res = await get(path);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
      expect(await res.text()).toContain('<script type="module" src="/web/app.js">');
    }
  });

  it('serves the script and the style sheet, answers HEAD without a body, and 404s the rest', async () => {
    const js = await get('/web/app.js');
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(js.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await js.text()).toContain("'new-join'");
    expect((await get('/web/style.css')).headers.get('content-type')).toBe('text/css; charset=utf-8');
    const head = await get('/', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(Number(head.headers.get('content-length'))).toBeGreaterThan(500);
    expect(await head.text()).toBe('');
    for (const path of ['/web/', '/web/static.ts', '/web/../package.json', '/room/a/b/', '/nope']) {
      expect((await get(path)).status, path).toBe(404);
    }
    expect((await get('/', { method: 'POST' })).status).toBe(404);
    // The server's own routes and the WebSocket upgrade are untouched.
    expect((await get('/healthz')).status).toBe(200);
    expect(await upgradeStatus(s.url, '/room/demo/')).toBe(101);
  });

  it('serves the protocol constants to the page as the very module the server uses', async () => {
    const res = await get(CONSTANTS_PATH);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    const text = await res.text();
    // Load it as a browser would: an ES module of its own, with nothing else in scope.
    const served = await import(`data:text/javascript,${encodeURIComponent(text)}`);
    expect(Object.keys(served).sort()).toEqual(Object.keys(constants).sort());
    for (const [name, value] of Object.entries(constants)) {
      const copy = served[name];
      if (value instanceof RegExp)
        expect([copy.source, copy.flags], name).toEqual([value.source, value.flags]);
      else expect(copy, name).toEqual(value);
      expect(Object.isFrozen(copy), name).toBe(Object.isFrozen(value));
    }
    // The page imports it by the relative path that resolves to CONSTANTS_PATH from /web/app.js ...
    const app = readFileSync(new URL('../../src/web/app.js', import.meta.url), 'utf8');
    expect(app).toMatch(/^import \{[^}]*\} from '\.\.\/signaling\/constants\.js';$/m);
    expect(new URL('../signaling/constants.js', 'http://h/web/app.js').pathname).toBe(CONSTANTS_PATH);
    // ... and keeps no copy of its own.
    expect(app).not.toMatch(/A-Za-z0-9_-|'@server'|4409|4429|4401/);
  });

  it('refuses to render a constants module that holds anything but data', () => {
    expect(() => renderConstantsModule({ fn: () => 1 })).toThrow(/data only.*fn is a function/);
  });

  it('fails at start-up, naming the file, when the page is missing', () => {
    expect(() => webClientHandler('/nonexistent')).toThrow(/\/nonexistent\/index\.html is missing/);
  });
});
