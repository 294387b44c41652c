/**
 * Sustained throughput as a client sees it (client.ts): 10,000 no-op steps over HTTP, the server
 * in its own process, this process the client.
 *
 * Ours: 200 runs of root → 48 → sink (50 steps each), tenants `t1`/`t2` alternating, POSTed 20
 * at a time (`POST /runs`, keep-alive connections); from the first POST to the last
 * `run.completed` line read on the two tenants' streams (`GET /runs/stream?status=completed`,
 * opened before). The token for both tenants is minted from the server's dev key with
 * `orchestrator token` (the same program).
 *
 * BullMQ: 10,000 no-op jobs (`addBulk` in chunks of 1,000) to the worker process of
 * `bullmq-worker.ts` (concurrency 50); from the first add to the worker's report of the 10,000th
 * completion.
 */
import { spawnSync } from 'node:child_process';
import { API_BASE } from '../../src/core/paths.js';
import { eventStream, fanDag, httpJson, now, ROOT, type ChildServer } from './lib.js';

const RUNS = 200;
const WIDTH = 48;
export const SUSTAINED_STEPS = RUNS * (WIDTH + 2);
const TENANTS = ['t1', 't2'] as const;
/** How long one pass may take before the bench stops with an error instead of hanging. */
const DEADLINE_MS = 120_000;

/** Mints a dev token for t1 and t2 with the server's own program. */
function mint(dataDir: string, mode: 'binary' | 'source', bin?: string): string {
  const args = ['token', '--data-dir', dataDir, '--tenant', 't1', '--tenant', 't2', '--scopes', 'orchestrator:admin', '--ttl', '86400'];
  const r = mode === 'binary' && bin
    ? spawnSync(bin, args, { cwd: ROOT, encoding: 'utf8' })
    : spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts', ...args], { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`orchestrator token: ${r.status} ${r.stderr}`);
  return r.stdout.trim();
}

/** Prepares a server for the sustained figure; the returned function measures once (steps/s). */
export async function oursSustained(server: ChildServer, dataDir: string, mode: 'binary' | 'source', bin?: string): Promise<{ run: () => Promise<number>; close: () => void }> {
  const token = mint(dataDir, mode, bin);
  const hdr = (tenant: string, json = false): Record<string, string> => ({ authorization: `Bearer ${token}`, 'x-stella-tenant': tenant, ...(json ? { 'content-type': 'application/json' } : {}) });
  const dag = JSON.stringify(fanDag('fan48', WIDTH));
  for (const t of TENANTS) {
    const r = await httpJson(`${server.url}${API_BASE}/dags`, 'POST', hdr(t, true), dag);
    if (r.status !== 201) throw new Error(`publish fan48 for ${t}: ${r.status} ${JSON.stringify(r.body)}`);
  }
  const ended = new Set<string>();
  let waiting: { left: Set<string>; done: () => void } | null = null;
  const streams = await Promise.all(
    TENANTS.map((tenant) =>
      eventStream({ url: server.url, token }, 'status=completed', (e) => {
        if (e.type !== 'run.completed') return;
        ended.add(e.runId);
        if (waiting?.left.delete(e.runId) && waiting.left.size === 0) waiting.done();
      }, tenant),
    ),
  );
  const body = JSON.stringify({ dagId: 'fan48' });
  return {
    async run() {
      const t0 = now();
      const ids: string[] = [];
      for (let i = 0; i < RUNS; i += 20) {
        const batch = await Promise.all(
          Array.from({ length: 20 }, (_, k) => httpJson(`${server.url}${API_BASE}/runs`, 'POST', hdr(TENANTS[(i + k) % 2]!, true), body)),
        );
        for (const r of batch) {
          if (r.status !== 201) throw new Error(`POST /runs: ${r.status} ${JSON.stringify(r.body)}`);
          ids.push(r.body.runId as string);
        }
      }
      const left = new Set(ids.filter((id) => !ended.has(id)));
      // The streams carry completions only: a run that failed would be waited for forever.
      if (left.size > 0) {
        await withDeadline(new Promise<void>((done) => (waiting = { left, done })), () => `sustained: ${left.size} runs did not complete in ${DEADLINE_MS / 1000} s (failed?)`);
      }
      waiting = null;
      return (SUSTAINED_STEPS * 1000) / (now() - t0);
    },
    close() {
      for (const s of streams) s.abort();
    },
  };
}

/** `p`, or an error naming what did not happen once DEADLINE_MS have passed. */
async function withDeadline<T>(p: Promise<T>, message: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, fail) => (timer = setTimeout(() => fail(new Error(message())), DEADLINE_MS)));
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/**
 * The peer's sustained figure: jobs/s from the first add to the worker's report that it completed
 * the last one (a `sustained` line on its stdout: `bullmq-worker.ts` counts its `noop` jobs;
 * reading 10,000 `completed` events through QueueEvents could lose some, the events stream
 * being capped at 10,000 entries).
 */
export function peerSustained(queue: { addBulk(jobs: Array<{ name: string; data: unknown }>): Promise<unknown> }, workerOut: NodeJS.ReadableStream): () => Promise<number> {
  let onDone: (() => void) | null = null;
  let buf = '';
  workerOut.on('data', (c: Buffer | string) => {
    buf += String(c);
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (line === 'sustained') onDone?.();
    }
  });
  return async () => {
    const done = new Promise<void>((resolve) => (onDone = resolve));
    const t0 = now();
    for (let i = 0; i < SUSTAINED_STEPS; i += 1000) {
      await queue.addBulk(Array.from({ length: Math.min(1000, SUSTAINED_STEPS - i) }, (_, k) => ({ name: 'noop', data: { k: i + k } })));
    }
    await withDeadline(done, () => `sustained (peer): the worker did not report ${SUSTAINED_STEPS} completed jobs in ${DEADLINE_MS / 1000} s`).finally(() => (onDone = null));
    return (SUSTAINED_STEPS * 1000) / (now() - t0);
  };
}
