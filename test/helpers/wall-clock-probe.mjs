// One isolate's view of engage's wall clock, run as a child process (argv) or a worker thread
// (workerData): `offset` reports how its wall clock sits against the machine's monotonic clock;
// `send PORT COUNT` sends COUNT UDP datagrams to 127.0.0.1:PORT, each carrying its abs-send-time stamp.
import { createSocket } from 'node:dgram';
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { wallClockOriginUncertaintyMs } from 'werift';
import { absSendTimeOf, wallClockMs } from '../../dist/peer/media-latency.js';

const hrtimeMs = () => Number(process.hrtime.bigint()) / 1e6;

/** The wall clock minus CLOCK_MONOTONIC (common to every process), from the narrowest of many brackets. */
function offset() {
  let gap = Infinity;
  let value = NaN;
  for (let i = 0; i < 200; i++) {
    const before = hrtimeMs();
    const wall = wallClockMs();
    const after = hrtimeMs();
    if (after - before < gap) {
      gap = after - before;
      value = wall - (before + after) / 2;
    }
  }
  return { offset: value, gap, uncertainty: wallClockOriginUncertaintyMs() };
}

async function send(port, count) {
  const socket = createSocket('udp4');
  const datagram = Buffer.alloc(4);
  for (let i = 0; i < count; i++) {
    datagram.writeUInt32BE(absSendTimeOf(wallClockMs()));
    await new Promise((resolve, reject) =>
      socket.send(datagram, port, '127.0.0.1', (err) => (err ? reject(err) : resolve())),
    );
    if (i % 10 === 9) await new Promise((resolve) => setTimeout(resolve, 1));
  }
  socket.close();
  return { sent: count, uncertainty: wallClockOriginUncertaintyMs() };
}

const [mode, port, count] = isMainThread ? process.argv.slice(2) : workerData;
const result = mode === 'offset' ? offset() : await send(Number(port), Number(count));
if (isMainThread) process.stdout.write(JSON.stringify(result));
else parentPort.postMessage(result);
