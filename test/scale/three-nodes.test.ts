/**
 * Three nodes, one installation (CONTRACT §15, docs/SCALE-OUT.md): three `serve` processes on
 * one PostgreSQL database and one shared artifacts folder. 300 runs are started round-robin
 * (each with its Idempotency-Key, retried on another node when its node does not answer, as a
 * client behind a load balancer does); one node is SIGKILLed while its runs are in flight.
 *
 * - Every acknowledged run ends, exactly once: one run per key, no run that was not
 *   acknowledged, one terminal event each.
 * - Every step's attempts are explained: an attempt that is not the last was interrupted by the
 *   node's death (its error code says so), and the last one completed.
 * - The streams opened on the two live nodes each delivered every event of the tenant, in
 *   `seq` order, with no gap and no duplicate, and the hash chain of the export verifies.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { AUDIENCE, createTestKit, ISSUER } from '../../src/auth/testkit.js';
import { readNdjsonExport } from '../../src/core/index.js';
import { verifyEventChain } from '../../src/events/chain.js';
import { RESTART_CODE } from '../../src/engine/scheduler/recovery.js';
import { BASE } from '../helpers/base.js';
import { ROOT } from '../docs/harness.js';
import { testDatabase } from '../helpers/pg.js';
import { startServer, type ServeChild } from '../helpers/serve-child.js';
import { until } from '../helpers/wait.js';
import { openNdjson } from '../events/stream-client.js';

const RUNS = 300;
const TENANT = 'scale';
const LEASE_S = 3;
const TERMINAL = new Set(['completed', 'failed', 'cancelled']);

test(`three nodes on one PostgreSQL: ${RUNS} runs round-robin, one node SIGKILLed mid-flight; every acknowledged run ends once, attempts explained, streams whole`, { timeout: 600_000 }, async (ctx) => {
  const db = await testDatabase(ctx);
  if (!db) return;
  const root = mkdtempSync(join(tmpdir(), 'stella-3nodes-'));
  const kit = await createTestKit();
  const nodes: ServeChild[] = [];
  after(async () => {
    for (const n of nodes) await n.kill();
    kit.cleanup();
    for (const p of [root, `${root}-work1`, `${root}-work2`, `${root}-work3`]) rmSync(p, { recursive: true, force: true });
    await db.drop();
  });
  // docs/SCALE-OUT.md's line, as documented (its database, folders, node id, lease, keys and host
  // replaced by the test's), and what a test adds: port 0, one worker, no limits in the way.
  const doc = readFileSync(join(ROOT, 'docs', 'SCALE-OUT.md'), 'utf8').match(/^orchestrator serve --store [^\n]*$/m);
  assert.ok(doc, 'docs/SCALE-OUT.md shows the line that starts a node');
  const args = (i: number) => [
    ...doc[0]
      .replace('postgres://orch@db.example:5432/orch', db.url)
      .replace('/mnt/stella-nfs/artifacts', join(root, 'shared-artifacts'))
      .replace('/var/lib/stella/node1', join(root, `node${i}`))
      .replace('--node-id node1', `--node-id node${i}`)
      .replace('--lease-timeout 10', `--lease-timeout ${LEASE_S}`)
      .replace('/etc/stella/jwks.json', kit.jwksFile)
      .replace('https://idp.example', ISSUER)
      .replace('--audience stella-orchestrator', `--audience ${AUDIENCE}`)
      .replace('--host 0.0.0.0', '--host 127.0.0.1')
      .split(/\s+/)
      .slice(2),
    '--work-dir', `${root}-work${i}`, // plugin hosts (another user) reach their work folder, never the 0700 root
    '--port', '0', '--allow-unsigned', '--workers', '1', '--rate-limit', '100000', '--max-running-runs', '1000', '--log-level', 'warn',
  ];
  for (const i of [1, 2, 3]) nodes.push(await startServer(args(i), root));
  const now = Math.floor(Date.now() / 1000);
  const token = await kit.sign('EdDSA', { sub: 'scale-test', iss: ISSUER, aud: AUDIENCE, iat: now, exp: now + 3600, scope: 'orchestrator:admin', 'stellaops:tenant': TENANT });
  const headers = { authorization: `Bearer ${token}`, 'x-stella-tenant': TENANT, 'content-type': 'application/json' };
  const call = async (node: ServeChild, method: string, path: string, body?: unknown, extra: Record<string, string> = {}) => {
    const res = await fetch(`${node.url}${BASE}${path}`, { method, headers: { ...headers, ...extra }, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined, text };
  };

  // Two steps of I/O (sleep) per run: runs are in flight on every node when one dies. An attempt
  // the death interrupts is recorded failed (ORCHESTRATOR_RESTART, retryable) and counts as an
  // attempt (docs/RUNS.md, "Recovery and drain"): the retries make the step run again.
  const retries = { max: 2, backoffMs: 50 };
  const dag = { dagId: 'nap', version: '1.0.0', steps: [{ id: 'one', plugin: 'sleep', with: { ms: 300 }, retries }, { id: 'two', plugin: 'sleep', with: { ms: 300 }, retries }], edges: [{ from: 'one', to: 'two' }] };
  const published = await call(nodes[0]!, 'POST', '/dags', dag);
  assert.equal(published.status, 201, published.text);

  // The streams of the two nodes that live, from the first event.
  const streams = await Promise.all([nodes[1]!, nodes[2]!].map((n) => openNdjson({ url: n.url, token: async () => token } as never, '?since=0', { tenant: TENANT, token })));
  for (const s of streams) assert.equal(s.status, 200);

  // Start the runs, 12 at a time, round-robin; node 1 is killed once a third of them are acknowledged.
  const acked = new Map<string, string>(); // Idempotency-Key -> runId
  let retriedElsewhere = 0;
  let killed = false;
  const live = () => nodes.filter((n) => n.alive());
  const start = async (i: number): Promise<void> => {
    const key = `scale-${i}`;
    let last = '';
    for (let attempt = 0; attempt < 200; attempt++) {
      const pool = attempt === 0 ? [nodes[i % 3]!] : live();
      const node = pool[attempt % pool.length]!;
      if (attempt > 0) retriedElsewhere++;
      let r: Awaited<ReturnType<typeof call>>;
      try {
        r = await call(node, 'POST', '/runs', { dagId: 'nap' }, { 'idempotency-key': key });
      } catch (e) {
        last = String(e);
        continue; // the node is gone: the next live one
      }
      last = `${r.status} ${r.text}`;
      if (r.status === 201 || r.status === 200) {
        acked.set(key, r.body.runId);
        return;
      }
      // 409 IDEMPOTENCY_IN_FLIGHT: the dead node's claim, free once its lease ran out; 503: draining.
      assert.ok([409, 503].includes(r.status), `POST /runs on ${node.url}: ${r.status} ${r.text}`);
      await new Promise((res) => setTimeout(res, 250));
    }
    assert.fail(`run ${key} was never acknowledged; last answer: ${last}`);
  };
  const queue = Array.from({ length: RUNS }, (_, i) => i);
  await Promise.all(
    Array.from({ length: 12 }, async () => {
      for (let i = queue.shift(); i !== undefined; i = queue.shift()) {
        await start(i);
        if (!killed && acked.size >= RUNS / 3) {
          killed = true;
          await nodes[0]!.kill();
        }
      }
    }),
  );
  assert.equal(acked.size, RUNS);
  ctx.diagnostic(`${retriedElsewhere} starts retried on another node after node 1 died`);

  // Every acknowledged run ends (node 1's are taken over after its lease ran out).
  const ids = new Set(acked.values());
  assert.equal(ids.size, RUNS, 'one run per Idempotency-Key');
  const listAll = async () => {
    const out: any[] = [];
    let page: string | undefined;
    do {
      const r = await call(nodes[1]!, 'GET', `/runs?limit=200${page ? `&page_token=${encodeURIComponent(page)}` : ''}`);
      assert.equal(r.status, 200, r.text);
      out.push(...r.body.items);
      page = r.body.next_page_token ?? undefined;
    } while (page);
    return out;
  };
  await until(async () => (await listAll()).every((r) => TERMINAL.has(r.status)), 'every run ended', 300_000, 500);
  const runs = await listAll();
  assert.deepEqual(runs.map((r) => r.runId).sort(), [...ids].sort(), 'exactly the acknowledged runs, each once');

  // Attempts explained: only the node's death interrupts an attempt; the last one completed.
  let interrupted = 0;
  for (const id of ids) {
    const r = await call(nodes[2]!, 'GET', `/runs/${id}`);
    assert.equal(r.body.status, 'completed', `${id}: ${r.text}`);
    for (const step of r.body.steps) {
      const attempts = step.attempts as Array<{ status: string; errorCode: string | null }>;
      assert.equal(attempts.at(-1)!.status, 'completed', `${id}/${step.stepId}: ${JSON.stringify(attempts)}`);
      for (const a of attempts.slice(0, -1)) {
        assert.equal(a.errorCode, RESTART_CODE, `${id}/${step.stepId}: an earlier attempt not explained by the node's death: ${JSON.stringify(a)}`);
        interrupted++;
      }
    }
  }
  ctx.diagnostic(`${interrupted} attempts interrupted by the node's death and run again`);

  // The streams of the live nodes: every event, in order, once; the export's chain verifies.
  const exported = await fetch(`${nodes[2]!.url}${BASE}/events:export`, { headers });
  assert.equal(exported.status, 200);
  const { records, manifest } = readNdjsonExport(await exported.text());
  const chain = verifyEventChain(records, manifest);
  assert.equal(chain.ok, true, JSON.stringify(chain));
  const log = records as Array<{ seq: number }>;
  const head = log.at(-1)!.seq;
  assert.deepEqual(log.map((e) => e.seq), Array.from({ length: head }, (_, i) => i + 1));
  for (const s of streams) {
    await s.until((es) => es.some((e) => e.seq === head), 120_000);
    s.close();
    const seqs = s.events.filter((e) => e.type !== 'heartbeat').map((e) => e.seq as number);
    assert.deepEqual(seqs, Array.from({ length: head }, (_, i) => i + 1), 'the stream has every event once, in order');
  }
});
