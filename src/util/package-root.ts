import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The folder holding engage's package.json, found by walking up from the calling module (`import.meta.url`),
 * so files shipped beside the code (assets/, src/web/) are found from src/ under vitest and from dist/.
 */
export function packageRoot(moduleUrl: string, lookingFor: string): string {
  let dir = path.dirname(fileURLToPath(moduleUrl));
  while (!existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir)
      throw new Error(`engage: cannot find the package root (package.json) to locate ${lookingFor}`);
    dir = parent;
  }
  return dir;
}
