/**
 * Control plane, start-up and footprint, with the server as a child process:
 *   - 1,000 DAG versions published through the API (100 DAGs × 10 versions), one real 3-step
 *     run, then `--stored-runs` (default 100,000) copies of that run (run, steps and attempts
 *     rows) seeded with one multi-row SQL statement per table in a transaction;
 *   - start-up: spawn → `listening on` (the built executable dist/orchestrator when present,
 *     median of 3; and from source through tsx); RSS idle after start-up;
 *   - autocannon, 10 connections, 5 s (after 1 s warm-up): GET /runs/{id} over 1,000 stored
 *     runs in turn, and GET /runs (first page, 50 runs); under each `--cpu` arrangement (default
 *     `shared,split`, lib.ts `CpuArrangement`): `getRun`/`listRuns` unpinned, `getRunSplit`/
 *     `listRunsSplit` with autocannon on CPU 0 and the server on CPU 1, each saying which.
 */
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { API_BASE } from '../../src/core/paths.js';
import { ARRANGEMENTS, arrangeCpus, BINARY, cannon, cpuArrangements, emit, fig, median, rssMb, sleep, startChildServer, type Figure } from './lib.js';

const { values } = parseArgs({ options: { 'stored-runs': { type: 'string', default: '100000' }, seconds: { type: 'string', default: '5' }, cpu: { type: 'string', default: 'shared,split' } } });
const CPUS = cpuArrangements(values.cpu!);
const N = Number(values['stored-runs']);
const SECONDS = Number(values.seconds);
const dataDir = mkdtempSync(join(tmpdir(), 'orch-bench-control-'));

// 1. DAG versions through the API, and one real run to copy.
let s = await startChildServer(dataDir);
const jobs: Array<() => Promise<void>> = [];
for (let d = 0; d < 100; d++) {
  for (let v = 0; v < 10; v++) {
    jobs.push(async () => {
      const r = await s.req('POST', '/dags', {
        dagId: `d${String(d).padStart(3, '0')}`, version: `1.${v}.0`,
        steps: [{ id: 'a', plugin: 'noop' }, { id: 'b', plugin: 'echo', with: { v } }, { id: 'c', plugin: 'noop' }],
        edges: [{ from: 'a', to: 'b' }, { from: 'b', to: 'c' }],
      });
      if (r.status !== 201) throw new Error(`publish: ${r.status} ${JSON.stringify(r.body)}`);
    });
  }
}
const tPub = performance.now();
for (let i = 0; i < jobs.length; i += 10) await Promise.all(jobs.slice(i, i + 10).map((j) => j()));
const publishMs = performance.now() - tPub;
const run = (await s.req('POST', '/runs', { dagId: 'd000' })).body;
for (let i = 0; ; i++) {
  const r = await s.req('GET', `/runs/${run.runId}`);
  if (r.body.status === 'completed') break;
  if (i > 3000) throw new Error(`the run to copy did not complete: ${r.body.status}`);
  await sleep(10);
}
await s.stop('SIGTERM');

// 2. Seed N copies of the run.
const tSeed = performance.now();
const db = new Database(join(dataDir, 'orchestrator.db'));
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');
const cols = (t: string) => (db.prepare(`pragma table_info(${t})`).all() as Array<{ name: string }>).map((c) => c.name);
db.transaction(() => {
  db.exec(`create temp table ids (n integer primary key, run_id text not null)`);
  db.prepare(
    `with recursive seq(n) as (select 1 union all select n + 1 from seq where n < ?)
     insert into ids select n, printf('%08x-%04x-7%03x-%x%03x-%012x', (? - n) / 65536, (? - n) % 65536, (n / 4096) % 4096, 8 + n % 4, n % 4096, n) from seq`,
  ).run(N, Date.now(), Date.now());
  const shift = (c: string) => (/_ms$/.test(c) ? `case when x.${c} is null then null else x.${c} - ids.n * 10 end` : c === 'run_id' ? 'ids.run_id' : c === 'run_token' ? 'null' : `x.${c}`);
  for (const t of ['runs', 'steps', 'attempts']) {
    const c = cols(t);
    db.prepare(`insert into ${t} (${c.join(', ')}) select ${c.map(shift).join(', ')} from ${t} x, ids where x.run_id = ?`).run(run.runId);
  }
})();
const seeded = (db.prepare(`select count(*) as n from runs`).get() as { n: number }).n;
const someIds = (db.prepare(`select run_id from temp.ids where n % ? = 0 limit 1000`).all(Math.max(1, Math.floor(N / 1000))) as Array<{ run_id: string }>).map((r) => r.run_id);
db.close();
const seedMs = performance.now() - tSeed;

// 3. Start-up: the executable (median of 3) and from source.
const startBinary: number[] = [];
if (existsSync(BINARY)) {
  for (let i = 0; i < 3; i++) {
    const c = await startChildServer(dataDir, [], 'binary');
    startBinary.push(c.listenMs);
    await c.stop('SIGTERM');
  }
}
s = await startChildServer(dataDir, [], 'source');
const startSource = s.listenMs;
await sleep(1000);
const rssIdle = rssMb(s.proc.pid);

// 4. Control plane.
const headers = { authorization: `Bearer ${s.token}`, 'x-stella-tenant': 'demo' };
const check = await s.req('GET', `/runs/${someIds[0]}`);
if (check.status !== 200 || check.body.steps.length !== 3) throw new Error(`seeded run unreadable: ${check.status}`);
const getPaths = someIds.map((id) => `${API_BASE}/runs/${id}`);
const listPaths = [`${API_BASE}/runs?page_size=50`];
const reads: Record<string, Figure> = {};
for (const cpu of CPUS) {
  arrangeCpus(cpu, s.proc.pid!);
  const named = { cpu, arrangement: ARRANGEMENTS[cpu] };
  await cannon(s.url, getPaths, headers, 1);
  const get = await cannon(s.url, getPaths, headers, SECONDS);
  await cannon(s.url, listPaths, headers, 1);
  const list = await cannon(s.url, listPaths, headers, SECONDS);
  const suffix = cpu === 'shared' ? '' : 'Split';
  reads[`getRun${suffix}`] = fig(get.rps, 'req/s', { p50: get.p50, p99: get.p99, errors: get.errors, non2xx: get.non2xx, ...named });
  reads[`listRuns${suffix}`] = fig(list.p99, 'ms', { rps: list.rps, p50: list.p50, errors: list.errors, non2xx: list.non2xx, ...named });
}
arrangeCpus('shared', s.proc.pid!);
const rssAfter = rssMb(s.proc.pid);
await s.stop('SIGTERM');

emit({
  ...reads,
  startup: fig(startBinary.length ? median(startBinary) : startSource, 'ms', {
    mode: startBinary.length ? 'dist/orchestrator' : 'source (tsx)', binarySamples: startBinary.map(Math.round), sourceMs: Math.round(startSource),
  }),
  rssServerIdle: fig(rssIdle, 'MB', { afterControlPlaneMb: rssAfter }),
  stored: { runs: seeded, dagVersions: 1000, publishMs: Math.round(publishMs), seedMs: Math.round(seedMs) },
});
rmSync(dataDir, { recursive: true, force: true });
