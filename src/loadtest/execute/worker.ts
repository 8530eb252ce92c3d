import { parentPort, workerData } from 'node:worker_threads';
import { BotHost } from './host.js';
import type { FailOnPurpose, WorkerData } from './hosts.js';
import { parseHostCommand } from './messages.js';

// A worker thread of `engage loadtest`: it only runs bots and posts samples to the main thread.
if (!parentPort) throw new Error('engage loadtest worker must run in a worker thread');
const port = parentPort;
const data = workerData as WorkerData;

/** The test hook: once a bot of this worker has joined, the worker breaks as a real crash would. */
function failOnPurpose(how: FailOnPurpose): void {
  if (how === 'exit') process.exit(3);
  throw new Error(`test hook: worker ${data.index} failed on purpose`);
}

let armed = data.failOnPurpose;
const host = new BotHost((message) => {
  port.postMessage(message);
  if (armed && message.events.some((e) => e.type === 'bot' && e.state === 'joined')) {
    const how = armed;
    armed = undefined;
    setTimeout(() => failOnPurpose(how), 0);
  }
});
port.on('message', (m: unknown) => {
  const cmd = parseHostCommand(m);
  // The main thread is our own code: a command it could not have sent is a bug, and crashing says so.
  if (!cmd) throw new Error(`worker ${data.index} got a message that is not a command`);
  host.handle(cmd);
});
