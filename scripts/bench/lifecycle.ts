/**
 * Data lifecycle figures, in-process server (docs/OPERATIONS.md):
 *   backup   MB/s of `createBackup` (online, the server's own connection) of a folder holding
 *            --runs ended runs and 64 MiB of artifacts, beside a plain `cp -r` of the same
 *            folder (the machine's limit);
 *   restore  MB/s of `restoreBackup` of that archive (every hash verified, fsynced);
 *   prune    the p99 of a step of a 40-step chain (running commit → next step's) idle, and
 *            while retention prunes the --runs runs; the pruning rate in runs/s.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseFlags } from '../../src/cli/args.js';
import { SERVE_FLAGS, serveConfig } from '../../src/cli/config.js';
import { createLogger, startServer } from '../../src/cli/server.js';
import { createBackup, restoreBackup } from '../../src/lifecycle/index.js';
import { exportRunRecords, importRunRecords, type RunRecord } from '../../src/runs/transfer.js';
import { API_BASE, uuidv7 } from '../../src/core/index.js';
import type { TenantArtifacts } from '../../src/engine/pool/tenant-artifacts.js';
import { request as httpRequest } from 'node:http';
import { chainDag, emit, fig, hostReachableTmp, median, now, quantile } from './lib.js';
import { RunEnds, schedulerEvents } from './run-ends.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '100000' }, reps: { type: 'string', default: '7' } } });
const RUNS = Number(values.runs);
const REPS = Number(values.reps);
const work = hostReachableTmp('orch-bench-lifecycle-');
const dataDir = join(work, 'data');
const { flags } = parseFlags(['--dev', '--port', '0', '--data-dir', dataDir, '--allow-unsigned', '--artifact-gc-grace', '0', '--rate-limit', '1000000', '--workers', '2'], SERVE_FLAGS, {});
const server = await startServer(serveConfig(flags), createLogger('silent'));
const store = server.store!;
const TENANT = 't1';
/** Each run's end (a bench of failed runs measures nothing: it stops) and its steps' `running` commits. */
const ends = new RunEnds(schedulerEvents(server));
const token = await (await import('../../src/auth/index.js')).mintToken({
  ...server.devKeys!, tenants: [TENANT], scopes: ['orchestrator:admin'], ttlSec: 3600,
});
/**
 * One API call. node:http, not fetch: fetch gives up on a response whose headers take over 300 s,
 * and one retention pass over 100,000 runs (`:apply` answers when it ends) takes longer.
 */
function call(method: string, path: string, body?: unknown): Promise<any> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${server.url}${API_BASE}${path}`, {
      method, headers: { authorization: `Bearer ${token}`, 'x-stella-tenant': TENANT, 'content-type': 'application/json' },
    }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (c: string) => (text += c)).on('end', () => {
        if (res.statusCode! >= 300) reject(new Error(`${method} ${path}: ${res.statusCode} ${text}`));
        else resolve(JSON.parse(text));
      });
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}
async function runChain(): Promise<number[]> {
  const r = await call('POST', '/runs', { dagId: chain.dagId });
  const { type: end } = await ends.endOf(r.runId);
  if (end !== 'run.completed') throw new Error(`the chain run ${r.runId} ended ${end}: ${JSON.stringify((await call('GET', `/runs/${r.runId}`)).steps.find((s: any) => s.errorCode))}`);
  const at = ends.running(r.runId);
  ends.forget(r.runId);
  return at.slice(1).map((x, i) => x - at[i]!);
}

// echo: one commit and one plugin-host round trip per step (a noop chain is one commit, no hops).
const chain = chainDag(40, 'echo');
await call('POST', '/dags', chain);
await call('POST', '/dags', { dagId: 'tiny', version: '1.0.0', steps: [{ id: 'a', plugin: 'noop' }] });
const first = await call('POST', '/runs', { dagId: 'tiny' });
await Promise.race([ends.endOf(first.runId), new Promise((res) => setTimeout(res, 5000))]);
let tpl!: RunRecord;
for await (const rec of exportRunRecords(server.ports.runs, { tenant: TENANT, dagId: 'tiny' })) {
  tpl = rec;
  break;
}
const old = Date.now() - 400 * 86_400_000;
const iso = (ms: number) => new Date(ms).toISOString();
for (let i = 0; i < RUNS; i += 1000) {
  const chunk = Array.from({ length: Math.min(1000, RUNS - i) }, (_, k) => ({ ...tpl, runId: uuidv7(), runToken: null, startedUtc: iso(old + i + k), createdUtc: iso(old + i + k), endedUtc: iso(old + i + k + 1) }) as RunRecord);
  await importRunRecords(server.ports, chunk, { tenant: TENANT });
  await new Promise((r) => setImmediate(r));
}
const artifacts = server.deps.services.artifacts as TenantArtifacts;
for (let i = 0; i < 64; i++) await artifacts.put(TENANT, randomBytes(1 << 20), 'application/octet-stream', tpl.runId);
store.db.sqlite.pragma('wal_checkpoint(TRUNCATE)');

const out: Record<string, unknown> = {};
const du = (dir: string) => Number(execFileSync('du', ['-sb', dir]).toString().split('\t')[0]);
const MB = 1e6;
// cp -r: the machine's limit for copying this folder.
let t0 = now();
execFileSync('cp', ['-r', dataDir, join(work, 'copy')]);
const cpMs = now() - t0;
const folderBytes = du(join(work, 'copy'));
rmSync(join(work, 'copy'), { recursive: true, force: true });
const archive = join(work, 'backup.tar.gz');
const b = await createBackup({ dataDir, out: archive, maintenance: server.ports.maintenance });
out.backup = fig(b.dataBytes / MB / (b.durationMs / 1000), 'MB/s', { cpMBps: folderBytes / MB / (cpMs / 1000), dataMB: b.dataBytes / MB, archiveMB: b.bytes / MB, runs: RUNS });
t0 = now();
await restoreBackup(archive, join(work, 'restored'));
const restoreMs = now() - t0;
out.restore = fig(b.dataBytes / MB / (restoreMs / 1000), 'MB/s', { cpMBps: folderBytes / MB / (cpMs / 1000) });
rmSync(join(work, 'restored'), { recursive: true, force: true });

// Chain p99 idle, then while the runs are pruned.
await runChain();
const idle: number[] = [];
for (let i = 0; i < REPS; i++) idle.push(...(await runChain()));
await call('PUT', '/admin/retention', { maxAgeDays: 30, keepLast: 10 });
t0 = now();
let pruning = true;
const pass = call('POST', '/admin/retention:apply', {}).finally(() => { pruning = false; });
const busy: number[] = [];
let chains = 0;
while (pruning) {
  busy.push(...(await runChain()));
  chains++;
}
const report = await pass;
const pruneMs = now() - t0;
out.prune = fig(quantile(busy, 0.99), 'ms', {
  idleP99Ms: quantile(idle, 0.99), idleP50Ms: quantile(idle, 0.5), busyP50Ms: quantile(busy, 0.5), chainsDuringPrune: chains,
  prunedRuns: report.tenants[0]?.runs, runsPerSec: (report.tenants[0]?.runs ?? 0) / (pruneMs / 1000), medianIdleGapMs: median(idle),
});
await server.close();
rmSync(work, { recursive: true, force: true });
emit(out);
