/**
 * The BullMQ peer's worker in its own process, for the client-measured figures (client.ts):
 * like our server, the worker is not in the client's process. No-op processor, concurrency 50;
 * when a `root` job completes it adds the fan-out's sink flow (bullmq.ts `sinkFlow`); after every
 * SUSTAINED_STEPS `noop` jobs it prints `sustained` (client-sustained.ts).
 * Prints `ready` once connected; SIGTERM closes it.
 *
 *   node --import tsx scripts/bench/bullmq-worker.ts <redis port>
 */
import { QUEUE, sinkFlow } from './bullmq.js';
import { SUSTAINED_STEPS } from './client-sustained.js';

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port <= 0) throw new Error('usage: bullmq-worker.ts <redis port>');
const { FlowProducer, Worker } = await import('bullmq');
const connection = { host: '127.0.0.1', port, maxRetriesPerRequest: null };
const flows = new FlowProducer({ connection });
const worker = new Worker(QUEUE, async () => ({}), { connection, concurrency: 50 });
let noops = 0;
worker.on('completed', (job) => {
  if (job.name === 'root') void flows.add(sinkFlow(job.id!));
  // The sustained figure (client-sustained.ts): a line per SUSTAINED_STEPS no-op jobs completed.
  else if (job.name === 'noop' && ++noops % SUSTAINED_STEPS === 0) process.stdout.write('sustained\n');
});
await worker.waitUntilReady();
process.stdout.write('ready\n');
process.once('SIGTERM', () => {
  void Promise.all([worker.close(), flows.close()]).then(() => process.exit(0));
});
