/**
 * The BullMQ peer's parts: the flows it is measured with, and a private redis-server: a free loopback port, `--save ''`,
 * `--appendonly yes --appendfsync everysec` (the AOF is written before Redis answers and
 * fsynced each second, so an acknowledged job survives kill -9 of Redis but not a power loss —
 * the same promise as our WAL + synchronous=NORMAL). Null when redis-server is not installed.
 *
 * @example
 * const redis = await startRedis();
 * if (redis) { new Queue('bench', { connection: { port: redis.port } }); await redis.stop(); }
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { now } from './lib.js';

export interface Redis {
  port: number;
  /** `Redis server v=7.0.15` */
  version: string;
  stop(): Promise<void>;
}

export async function startRedis(): Promise<Redis | null> {
  if (spawnSync('redis-server', ['--version']).error) return null;
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
  const version = spawnSync('redis-server', ['--version'], { encoding: 'utf8' }).stdout.trim().split(' ').slice(0, 3).join(' ');
  return {
    port,
    version,
    async stop() {
      redis.kill('SIGTERM');
      await new Promise((r) => redis.once('exit', r));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A BullMQ flow node (FlowProducer.add's argument). */
export interface FlowNode { name: string; queueName: string; opts?: { jobId: string }; children?: FlowNode[] }

/** The peer's 40-step chain: a flow nested `length` deep (a parent runs after its child); the top job's id is `id`. */
export function chainFlow(id: string, length = 40): FlowNode {
  let node: FlowNode = { name: 's0', queueName: QUEUE };
  for (let i = 1; i < length; i++) node = { name: `s${i}`, queueName: QUEUE, children: [node] };
  node.opts = { jobId: id };
  return node;
}

/** The peer's fan-out, second half: added when the root job `rootId` completed; the sink's id is `${rootId}-sink`. */
export function sinkFlow(rootId: string, width = 100): FlowNode {
  return { name: 'sink', queueName: QUEUE, opts: { jobId: `${rootId}-sink` }, children: Array.from({ length: width }, (_, i) => ({ name: `m${i}`, queueName: QUEUE })) };
}

/** The queue every peer job goes to. */
export const QUEUE = 'bench';

/** ms from calling `add` until `done` (the awaited job's completion, registered before) settles. */
export async function timeUntil(done: Promise<void>, add: () => Promise<unknown>): Promise<number> {
  const t0 = now();
  await add();
  await done;
  return now() - t0;
}
