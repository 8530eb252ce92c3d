// Runs runLoadtest (from dist/) in a process of its own and prints its outcome as one JSON line. It never
// calls process.exit: the process ends by itself only if the run left nothing running behind it (no
// worker, no embedded server process, no timer, no socket). argv[2]: {options, throwOnTick?}.
import { runLoadtest } from '../../dist/loadtest/runner.js';

const { options, throwOnTick } = JSON.parse(process.argv[2]);
let ticks = 0;
const io = {
  signal: new AbortController().signal,
  progress: () => {
    ticks++;
    if (throwOnTick !== undefined && ticks >= throwOnTick) throw new Error('the progress renderer broke');
  },
};
try {
  const { summary } = await runLoadtest(options, io);
  process.stdout.write(`${JSON.stringify({ summary })}\n`);
} catch (err) {
  process.stdout.write(`${JSON.stringify({ error: err instanceof Error ? err.message : String(err) })}\n`);
}
