import chalk, { Chalk } from 'chalk';
import type { RunSummary } from '../loadtest/metrics/summary.js';
import { writeHtmlReport } from '../loadtest/report/html.js';
import { writeJsonReport } from '../loadtest/report/json.js';
import { describeFailure, renderSummary, type TextStyle } from '../loadtest/report/text.js';
import { EngageError, EXIT } from '../util/errors.js';
import type { CommandContext } from './context.js';

/**
 * Prints a run's summary, writes its reports, and ends as the run did: 1 when part of a generator
 * failed, 130 when interrupted, 99 when a threshold was crossed. `engage loadtest` and `engage report
 * merge` both end here, so one summary always prints and exits the same.
 */
export async function emitReport(
  summary: RunSummary,
  out: { json?: string; html?: string },
  ctx: CommandContext,
): Promise<void> {
  const jsonToStdout = out.json === '-';
  const print = jsonToStdout ? (t: string) => process.stderr.write(`${t}\n`) : ctx.stdout;
  const useColor = jsonToStdout ? process.stderr.isTTY : process.stdout.isTTY;
  const c = new Chalk({ level: useColor ? chalk.level || 1 : 0 });
  const style: TextStyle = { ok: c.green, bad: c.red, warn: c.yellow, dim: c.dim, bold: c.bold };
  print(renderSummary(summary, style));
  if (out.json !== undefined) await writeJsonReport(summary, out.json, (text) => process.stdout.write(text));
  if (out.html !== undefined) await writeHtmlReport(summary, out.html);
  if (out.json !== undefined && !jsonToStdout) print(`JSON report: ${out.json}`);
  if (out.html !== undefined) print(`HTML report: ${out.html}`);
  const [failure] = summary.run.failures;
  if (failure) throw new EngageError(`the run failed: ${describeFailure(failure)}`, EXIT.internal);
  if (summary.run.interrupted)
    throw new EngageError('interrupted; summary and reports written', EXIT.interrupted);
  const failedThresholds = summary.thresholds.filter((t) => !t.ok).length;
  if (failedThresholds > 0)
    throw new EngageError(`${failedThresholds} threshold(s) crossed`, EXIT.thresholds);
}
