import { parentPort } from 'node:worker_threads';
import { BotHost } from './host.js';
import type { HostCommand } from './messages.js';

// A worker thread of `engage loadtest`: it only runs bots and posts samples to the main thread.
if (!parentPort) throw new Error('engage loadtest worker must run in a worker thread');
const port = parentPort;
const host = new BotHost((event) => port.postMessage(event));
port.on('message', (cmd: HostCommand) => host.handle(cmd));
