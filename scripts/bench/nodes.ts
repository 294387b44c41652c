/**
 * Several nodes on one PostgreSQL (docs/SCALE-OUT.md), each a real `serve` process (the esbuild
 * bundle of the program) on one durable throwaway cluster (fsync on; test/helpers/pg.ts):
 *   sleepN   throughput of I/O-bound steps on 1, 2 and 3 nodes: R runs of K `sleep` steps of
 *            S ms each (in parallel within a run), started round-robin at once; steps/s from the
 *            first POST to the last run's end. On this 2-core machine CPU-bound steps would only
 *            share the same cores; waiting steps show what more nodes add.
 *   takeover after SIGKILL of the node running a run's step: time from the kill to the step's
 *            next attempt starting on another node (--lease-timeout L: the lease runs out, the
 *            node's lease runs out and the live node, which looks again just after the dead node's
 *            lease ends, takes it), for L = 3 and 10 s; `--takeovers N` repeats it (a fresh pair
 *            of nodes each time: the kill falls anywhere in the dead node's heartbeat period).
 *
 * Usage: npx tsx scripts/bench/nodes.ts [--runs 60] [--steps 10] [--sleep-ms 500] [--nodes 1,2,3] [--leases 3,10] [--takeovers 1]
 *        --nodes '' measures the take-over only.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { AUDIENCE, createTestKit, ISSUER } from '../../src/auth/testkit.js';
import { API_BASE } from '../../src/core/paths.js';
import { emit, fig, median, now, sleep } from './lib.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '60' },
    steps: { type: 'string', default: '10' },
    'sleep-ms': { type: 'string', default: '500' },
    nodes: { type: 'string', default: '1,2,3' },
    leases: { type: 'string', default: '3,10' },
    takeovers: { type: 'string', default: '1' },
  },
});
const RUNS = Number(values.runs);
const STEPS = Number(values.steps);
const SLEEP_MS = Number(values['sleep-ms']);

process.env.STELLA_PG_DURABLE = '1';
process.env.STELLA_TEST_RUN = `bench-nodes-${process.pid}`;
const { testDatabase } = await import('../../test/helpers/pg.js');
const { startServer } = await import('../../test/helpers/serve-child.js');
type Node = Awaited<ReturnType<typeof startServer>>;

const kit = await createTestKit();
const t = Math.floor(Date.now() / 1000);
const token = await kit.sign('EdDSA', { sub: 'bench', iss: ISSUER, aud: AUDIENCE, iat: t, exp: t + 7200, scope: 'orchestrator:admin', 'stellaops:tenant': 'bench' });
const headers = { authorization: `Bearer ${token}`, 'x-stella-tenant': 'bench', 'content-type': 'application/json' };
async function call(node: Node, method: string, path: string, body?: unknown): Promise<any> {
  const res = await fetch(`${node.url}${API_BASE}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const json = await res.json();
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

/** n nodes on a fresh database; `lease`: --lease-timeout in seconds. */
async function cluster(n: number, lease: number): Promise<{ nodes: Node[]; close(): Promise<void> }> {
  const db = await testDatabase();
  const root = mkdtempSync(join(tmpdir(), 'stella-bench-nodes-'));
  const nodes: Node[] = [];
  for (let i = 1; i <= n; i++) {
    nodes.push(await startServer(['--store', db.url, '--artifacts-dir', join(root, 'artifacts'), '--data-dir', join(root, `node${i}`), '--work-dir', `${root}-work${i}`,
      '--node-id', `node${i}`, '--lease-timeout', String(lease), '--port', '0', '--jwks', kit.jwksFile, '--issuer', ISSUER, '--audience', AUDIENCE,
      '--allow-unsigned', '--workers', '1', '--rate-limit', '1000000', '--max-queued-runs', '100000', '--max-running-runs', '10000', '--log-level', 'warn'], root));
  }
  return {
    nodes,
    async close() {
      for (const x of nodes) await x.kill();
      for (const p of [root, ...nodes.map((_, i) => `${root}-work${i + 1}`)]) rmSync(p, { recursive: true, force: true });
      await db.drop();
    },
  };
}

async function waitEnded(node: Node, ids: string[], timeoutMs = 600_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const open = new Set(ids);
  while (open.size > 0) {
    for (const id of [...open]) {
      const r = await call(node, 'GET', `/runs/${id}`);
      if (['completed', 'failed', 'cancelled'].includes(r.status)) {
        if (r.status !== 'completed') throw new Error(`run ${id} ended ${r.status}`);
        open.delete(id);
      }
    }
    if (Date.now() > deadline) throw new Error(`${open.size} runs still open`);
    if (open.size > 0) await sleep(100);
  }
}

const out: Record<string, unknown> = {};
const dag = { dagId: 'naps', version: '1.0.0', steps: Array.from({ length: STEPS }, (_, i) => ({ id: `s${i}`, plugin: 'sleep', with: { ms: SLEEP_MS } })) };
for (const n of values.nodes!.split(',').filter(Boolean).map(Number)) {
  const c = await cluster(n, 10);
  try {
    await call(c.nodes[0]!, 'POST', '/dags', dag);
    const t0 = now();
    const ids = await Promise.all(Array.from({ length: RUNS }, async (_, i) => (await call(c.nodes[i % n]!, 'POST', '/runs', { dagId: 'naps' })).runId as string));
    await waitEnded(c.nodes[0]!, ids);
    const s = (now() - t0) / 1000;
    out[`sleep${n}`] = fig((RUNS * STEPS) / s, 'steps/s', { nodes: n, runs: RUNS, stepsPerRun: STEPS, sleepMs: SLEEP_MS, seconds: Math.round(s * 10) / 10 });
  } finally {
    await c.close();
  }
}

for (const lease of values.leases!.split(',').filter(Boolean).map(Number)) {
  const samples: number[] = [];
  for (let rep = 0; rep < Number(values.takeovers); rep++) samples.push(await takeover(lease));
  out[`takeover${lease}s`] = fig(median(samples), 's', { leaseTimeoutS: lease, heartbeatS: Math.round((lease / 3) * 10) / 10, max: Math.max(...samples) }, samples);
}

/** Seconds from the SIGKILL of the node running a step to that step's next attempt starting on the other node. */
async function takeover(lease: number): Promise<number> {
  const c = await cluster(2, lease);
  try {
    await call(c.nodes[0]!, 'POST', '/dags', { dagId: 'long', version: '1.0.0', steps: [{ id: 'wait', plugin: 'sleep', with: { ms: 600_000 }, retries: { max: 1, backoffMs: 0 } }] });
    const { runId } = await call(c.nodes[0]!, 'POST', '/runs', { dagId: 'long' });
    for (;;) {
      const r = await call(c.nodes[1]!, 'GET', `/runs/${runId}`);
      if (r.steps[0].status === 'running') break;
      await sleep(20);
    }
    const killedAt = Date.now();
    await c.nodes[0]!.kill();
    let again: number | undefined;
    while (again === undefined) {
      const r = await call(c.nodes[1]!, 'GET', `/runs/${runId}`);
      const a2 = r.steps[0].attempts.find((a: { attempt: number }) => a.attempt === 2);
      if (a2?.startedUtc) again = Date.parse(a2.startedUtc);
      else await sleep(20);
    }
    return (again - killedAt) / 1000;
  } finally {
    await c.close();
  }
}

out.config = { store: 'postgres (durable: fsync on), one database, shared artifacts folder', nodes: values.nodes, cores: (await import('node:os')).availableParallelism() };
emit(out);
kit.cleanup();
