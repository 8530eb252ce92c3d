import type { Command } from 'commander';
import { mergeReports, readReport } from '../loadtest/report/merge-files.js';
import { renderSummary } from '../loadtest/report/text.js';
import type { CommandContext } from './context.js';
import { collect } from './options.js';
import { emitReport } from './report-output.js';

interface MergeFlags {
  json?: string;
  html?: string;
  threshold?: string[];
}

export function registerReport(program: Command, ctx: CommandContext): void {
  const report = program
    .command('report')
    .summary('merge and show saved loadtest reports')
    .description('Work with the JSON reports of engage loadtest --json.');
  report
    .command('merge')
    .summary('merge the reports of the shards of one run into one exact report')
    .description(
      'Merge the --json reports of the shards of one run (engage loadtest --shard i/n --run-id ID) into the summary a single run of the whole plan would print: every trend from the pooled exact samples of all shards (never from averaged percentiles), counters added up, each link judged from both of its ends (a link between bots of two shards is connected only if both say so), thresholds checked on the merged data, and a per-shard table of the generators.\n\n' +
        'Thresholds are the ones given here, or else those the shards were given. Missing shards are named in the summary (PARTIAL). Reports of different runs or plans, or the same shard twice, are refused.\n\n' +
        'Exit codes: as engage loadtest: 0 ok, 1 part of a generator failed, 2 usage (unreadable report, parts of different runs or plans), 99 a threshold failed on the merged data, 130 a shard was interrupted.',
    )
    .argument('<reports...>', 'JSON reports of the shards (merged reports may be merged again)')
    .option('--json <file>', 'write the merged report as JSON (- for stdout)')
    .option('--html <file>', 'write the merged report as self-contained HTML')
    .option(
      '--threshold <expr>',
      "criterion on the merged data, e.g. 'ice_connect_ms:p(95)<500' (repeatable)",
      collect,
    )
    .addHelpText(
      'after',
      "\nExample:\n  engage report merge shard-0.json shard-1.json shard-2.json --json all.json --html all.html --threshold 'mesh_ready_ms:p(95)<5000'",
    )
    .action(async (files: string[], flags: MergeFlags) => {
      const summary = await mergeReports(files, flags.threshold);
      await emitReport(summary, { json: flags.json, html: flags.html }, ctx);
    });
  report
    .command('show')
    .summary('print the summary of a saved report')
    .argument('<report>', 'a JSON report of engage loadtest --json or engage report merge --json')
    .action(async (file: string) => {
      ctx.stdout(renderSummary(await readReport(file)));
    });
}
