import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { RunSummary } from '../metrics/summary.js';

/**
 * The JSON report: the RunSummary itself, pretty-printed with a trailing newline. Its shape is
 * schema/loadtest-report.schema.json (`schema: "engage-loadtest/5"`, REPORT_SCHEMA).
 */
export function reportJson(summary: RunSummary): string {
  return `${JSON.stringify(summary, null, 2)}\n`;
}

/** Writes the JSON report to `target`, or hands the whole text to `stdout` when target is `-`. */
export async function writeJsonReport(
  summary: RunSummary,
  target: string,
  stdout: (text: string) => void,
): Promise<void> {
  const text = reportJson(summary);
  if (target === '-') {
    stdout(text);
    return;
  }
  await writeFileAtomic(target, text);
}

/**
 * Writes `text` to `path` so that the path holds either its old content or the whole new text, never a
 * part: parent directories are created, the text goes to a temporary file beside the target, is flushed
 * to disk, then renamed over it. The temporary file is removed if anything fails.
 */
export async function writeFileAtomic(path: string, text: string): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    const file = await open(tmp, 'wx');
    try {
      await file.writeFile(text, 'utf8');
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true }).catch(() => {});
    throw err;
  }
}
