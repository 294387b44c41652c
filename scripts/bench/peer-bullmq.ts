/**
 * The peer: BullMQ on a local redis-server started here (free loopback port, `--save ''`,
 * `--appendonly yes --appendfsync everysec`: the AOF is written before Redis answers and
 * fsynced each second, so an acknowledged job survives kill -9 of Redis but not a power loss —
 * the same promise as our WAL + synchronous=NORMAL). Same shapes as the engine, worker in this
 * process (like the engine's in-process server), no-op processor:
 *   chain40   a FlowProducer flow nested 40 deep (a parent runs after its child): add → top done;
 *   fanout100 root job; when it completes a flow `sink` with 100 children is added: → sink done;
 *   sustained 10,000 no-op jobs (addBulk in chunks of 1,000) at worker concurrency 50.
 * Exits with `{ skipped }` when redis-server is not installed.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { emit, fig, median, now } from './lib.js';

const { values } = parseArgs({ options: { reps: { type: 'string', default: '7' } } });
const REPS = Number(values.reps);

if (spawnSync('redis-server', ['--version']).error) {
  emit({ skipped: 'redis-server is not installed (apt-get install -y redis-server): no peer figures' });
  process.exit(0);
}
const port = await new Promise<number>((resolve) => {
  const srv = createServer().listen(0, '127.0.0.1', () => {
    const p = (srv.address() as { port: number }).port;
    srv.close(() => resolve(p));
  });
});
const dir = mkdtempSync(join(tmpdir(), 'orch-bench-redis-'));
const redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'yes', '--appendfsync', 'everysec', '--dir', dir], { stdio: ['ignore', 'pipe', 'inherit'] });
process.on('exit', () => redis.kill('SIGKILL'));
await new Promise<void>((resolve, reject) => {
  let out = '';
  redis.stdout!.setEncoding('utf8').on('data', (c: string) => {
    out += c;
    if (out.includes('Ready to accept connections')) resolve();
  });
  redis.once('exit', () => reject(new Error(`redis-server exited:\n${out}`)));
});
const version = spawnSync('redis-server', ['--version'], { encoding: 'utf8' }).stdout.trim();

const { FlowProducer, Queue, Worker } = await import('bullmq');
const connection = { host: '127.0.0.1', port, maxRetriesPerRequest: null };
const queue = new Queue('bench', { connection });
const flows = new FlowProducer({ connection });
const waiting = new Map<string, () => void>();
let completedCount = 0;
let onCount: (() => void) | null = null;
let countTarget = Infinity;
const fanRoots = new Set<string>();
const worker = new Worker('bench', async () => ({}), { connection, concurrency: 50 });
worker.on('completed', (job) => {
  completedCount++;
  if (completedCount >= countTarget) onCount?.();
  if (fanRoots.has(job.id!)) {
    fanRoots.delete(job.id!);
    void flows.add({ name: 'sink', queueName: 'bench', opts: { jobId: `${job.id}-sink` }, children: Array.from({ length: 100 }, (_, i) => ({ name: `m${i}`, queueName: 'bench' })) });
  }
  waiting.get(job.id!)?.();
});
await worker.waitUntilReady();
const doneOf = (id: string) => new Promise<void>((resolve) => waiting.set(id, () => { waiting.delete(id); resolve(); }));

let seq = 0;
async function chain(): Promise<number> {
  const id = `c${seq++}`;
  type Node = { name: string; queueName: string; opts?: { jobId: string }; children?: Node[] };
  let node: Node = { name: 's0', queueName: 'bench' };
  for (let i = 1; i < 40; i++) node = { name: `s${i}`, queueName: 'bench', children: [node] };
  node.opts = { jobId: id };
  const done = doneOf(id);
  const t0 = now();
  await flows.add(node);
  await done;
  return now() - t0;
}
async function fanout(): Promise<number> {
  const id = `f${seq++}`;
  const done = doneOf(`${id}-sink`);
  fanRoots.add(id);
  const t0 = now();
  await queue.add('root', {}, { jobId: id });
  await done;
  return now() - t0;
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

await chain();
await fanout();
const chains: number[] = [];
for (let i = 0; i < REPS; i++) chains.push(await chain());
const fans: number[] = [];
for (let i = 0; i < REPS; i++) fans.push(await fanout());
const rates: number[] = [];
for (let i = 0; i < 3; i++) rates.push(await sustained(10_000));

emit({
  peer: `BullMQ ${(await import('bullmq/package.json', { with: { type: 'json' } })).default.version} on ${version.split(' ').slice(0, 3).join(' ')}, appendonly everysec`,
  chain40: fig(median(chains), 'ms', undefined, chains),
  fanout100: fig(median(fans), 'ms', undefined, fans),
  sustained: fig(median(rates), 'jobs/s', { jobs: 10_000, concurrency: 50 }, rates),
});
await worker.close();
await flows.close();
await queue.close();
redis.kill('SIGTERM');
await new Promise((r) => redis.once('exit', r));
rmSync(dir, { recursive: true, force: true });
