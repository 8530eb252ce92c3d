#!/usr/bin/env node
// The CLI is compiled from src/ by `npm run build` (run automatically by `npm ci` via `prepare`).
import('../dist/cli/main.js').catch((err) => {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/cli/main.js')) {
    process.stderr.write('engage: not built yet; run `npm run build` (npm ci does it for you)\n');
    process.exit(1);
  }
  throw err;
});
