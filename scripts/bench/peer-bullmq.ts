/**
 * The peer: BullMQ on a local redis-server started here (bullmq.ts: AOF, fsync every second —
 * the same promise as our WAL + synchronous=NORMAL). Same shapes as the engine, worker in this
 * process (like the engine's in-process server), no-op processor:
 *   chain40   a FlowProducer flow nested 40 deep (a parent runs after its child): add → top done;
 *   fanout100 root job; when it completes a flow `sink` with 100 children is added: → sink done;
 *   sustained 10,000 no-op jobs (addBulk in chunks of 1,000) at worker concurrency 50.
 * Exits with `{ skipped }` when redis-server is not installed. `--only sustained`: that figure
 * alone (after one warm-up pass), for the benchmark's alternation with the engine's (index.ts).
 */
import { parseArgs } from 'node:util';
import { emit, fig, median, now } from './lib.js';
import { chainFlow, QUEUE, sinkFlow, startRedis, timeUntil } from './bullmq.js';

const { values } = parseArgs({ options: { reps: { type: 'string', default: '7' }, warmup: { type: 'string', default: '40' }, only: { type: 'string' } } });
const onlySustained = values.only === 'sustained';
const REPS = Number(values.reps);
/** Warm-up runs, as many as the engine's (engine.ts --warmup): both measured warm. */
const WARMUP = Number(values.warmup);

const redis = await startRedis();
if (!redis) {
  emit({ skipped: 'redis-server is not installed (apt-get install -y redis-server): no peer figures' });
  process.exit(0);
}
const { port, version } = redis;

const { FlowProducer, Queue, Worker } = await import('bullmq');
const connection = { host: '127.0.0.1', port, maxRetriesPerRequest: null };
const queue = new Queue(QUEUE, { connection });
const flows = new FlowProducer({ connection });
const waiting = new Map<string, () => void>();
let completedCount = 0;
let onCount: (() => void) | null = null;
let countTarget = Infinity;
const fanRoots = new Set<string>();
const worker = new Worker(QUEUE, async () => ({}), { connection, concurrency: 50 });
worker.on('completed', (job) => {
  completedCount++;
  if (completedCount >= countTarget) onCount?.();
  if (fanRoots.has(job.id!)) {
    fanRoots.delete(job.id!);
    void flows.add(sinkFlow(job.id!));
  }
  waiting.get(job.id!)?.();
});
await worker.waitUntilReady();
const doneOf = (id: string) => new Promise<void>((resolve) => waiting.set(id, () => { waiting.delete(id); resolve(); }));

let seq = 0;
async function chain(): Promise<number> {
  const id = `c${seq++}`;
  return timeUntil(doneOf(id), () => flows.add(chainFlow(id)));
}
async function fanout(): Promise<number> {
  const id = `f${seq++}`;
  fanRoots.add(id);
  return timeUntil(doneOf(`${id}-sink`), () => queue.add('root', {}, { jobId: id }));
}
async function sustained(n: number): Promise<number> {
  completedCount = 0;
  countTarget = n;
  const done = new Promise<void>((resolve) => (onCount = resolve));
  const t0 = now();
  for (let i = 0; i < n; i += 1000) {
    await queue.addBulk(Array.from({ length: Math.min(1000, n - i) }, (_, k) => ({ name: 'noop', data: { k: i + k } })));
  }
  await done;
  const ms = now() - t0;
  countTarget = Infinity;
  return (n * 1000) / ms;
}

for (let i = 0; i < (onlySustained ? 0 : Math.max(1, WARMUP)); i++) {
  await chain();
  if (i % 4 === 0) await fanout();
}
await sustained(10_000);
const chains: number[] = [];
for (let i = 0; i < (onlySustained ? 0 : REPS); i++) chains.push(await chain());
const fans: number[] = [];
for (let i = 0; i < (onlySustained ? 0 : REPS); i++) fans.push(await fanout());
const rates: number[] = [];
for (let i = 0; i < 3; i++) rates.push(await sustained(10_000));

emit({
  peer: `BullMQ ${(await import('bullmq/package.json', { with: { type: 'json' } })).default.version} on ${version}, appendonly everysec`,
  ...(onlySustained ? {} : { chain40: fig(median(chains), 'ms', undefined, chains), fanout100: fig(median(fans), 'ms', undefined, fans) }),
  sustained: fig(median(rates), 'jobs/s', { jobs: 10_000, concurrency: 50 }, rates),
});
await worker.close();
await flows.close();
await queue.close();
await redis.stop();
