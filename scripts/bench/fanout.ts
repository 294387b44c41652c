/**
 * Benchmark: no-op steps per second through a 1,000-step fan-out DAG (root → 998 noop → sink),
 * in-process server, real worker threads, durability on (SQLite WAL, synchronous=NORMAL: every
 * acknowledged state survives kill -9).
 *
 *   npx tsx scripts/bench/fanout.ts [--runs 5] [--steps 1000] [--workers N] [--concurrent 1]
 *
 * A run's time is from its acceptance (startedUtc) to its end (endedUtc), as recorded.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { mintToken } from '../../src/auth/index.js';
import { API_BASE } from '../../src/core/paths.js';
import { parseFlags } from '../../src/cli/args.js';
import { SERVE_FLAGS, serveConfig } from '../../src/cli/config.js';
import { createLogger, startServer } from '../../src/cli/server.js';
import { RunEnds, schedulerEvents } from './run-ends.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    steps: { type: 'string', default: '1000' },
    workers: { type: 'string' },
    concurrent: { type: 'string', default: '1' },
    sync: { type: 'string', default: 'NORMAL' },
    profile: { type: 'string' },
  },
});
const RUNS = Number(values.runs);
const STEPS = Number(values.steps);
const CONCURRENT = Number(values.concurrent);

const dataDir = mkdtempSync(join(tmpdir(), 'orch-bench-'));
const args = ['--dev', '--port', '0', '--data-dir', dataDir, '--allow-unsigned', '--sync', values.sync!, '--rate-limit', '100000'];
if (values.workers) args.push('--workers', values.workers);
const { flags } = parseFlags(args, SERVE_FLAGS, {});
const config = serveConfig(flags);
const server = await startServer(config, createLogger('silent'));
const keys = server.devKeys!;
const token = await mintToken({
  privateKeyPem: keys.privateKeyPem, kid: keys.kid, tenants: ['bench'], scopes: ['orchestrator:admin'],
  ttlSec: 3600, issuer: keys.issuer, audience: keys.audience,
});
const base = `${server.url}${API_BASE}`;
const headers = { authorization: `Bearer ${token}`, 'x-stella-tenant': 'bench', 'content-type': 'application/json' };
async function post(path: string, body: unknown): Promise<any> {
  const res = await fetch(base + path, { method: 'POST', headers, body: JSON.stringify(body) });
  const json = await res.json();
  if (res.status >= 300) throw new Error(`${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

const mids = Array.from({ length: STEPS - 2 }, (_, i) => `n${String(i).padStart(4, '0')}`);
await post('/dags', {
  dagId: 'fanout',
  version: '1.0.0',
  steps: [{ id: 'root', plugin: 'noop' }, ...mids.map((id) => ({ id, plugin: 'noop' })), { id: 'sink', plugin: 'noop' }],
  edges: [...mids.map((id) => ({ from: 'root', to: id })), ...mids.map((id) => ({ from: id, to: 'sink' }))],
});

// Run ends are taken from the committed events (no polling).
const ends = new RunEnds(schedulerEvents(server));

async function once(): Promise<number> {
  const runs = await Promise.all(Array.from({ length: CONCURRENT }, () => post('/runs', { dagId: 'fanout' })));
  const t0 = Math.min(...runs.map((r) => Date.parse(r.startedUtc)));
  const endMs = await Promise.all(runs.map(async (r) => (await ends.endOf(r.runId)).tsMs));
  for (const r of runs) {
    const res = await fetch(`${base}/runs/${r.runId}`, { headers });
    const run = (await res.json()) as { status: string };
    if (run.status !== 'completed') throw new Error(`run ${r.runId} ended ${run.status}`);
  }
  return Math.max(...endMs) - t0;
}

await once(); // warm-up: workers start, plan compiled, statements prepared
const times: number[] = [];
const session = values.profile ? await startProfile() : undefined;
const cpu0 = process.cpuUsage();
for (let i = 0; i < RUNS; i++) times.push(await once());
const cpu = process.cpuUsage(cpu0);
if (session) await stopProfile(session, values.profile!);
const cpuUsPerStep = Math.round((cpu.user + cpu.system) / (RUNS * STEPS * CONCURRENT));
times.sort((a, b) => a - b);
const median = times[Math.floor(times.length / 2)]!;
const steps = STEPS * CONCURRENT;
const rate = (ms: number) => Math.round((steps / ms) * 1000);
console.log(
  JSON.stringify({
    benchmark: 'fanout',
    steps: STEPS,
    concurrentRuns: CONCURRENT,
    workers: config.workers,
    synchronous: config.synchronous,
    runMs: times,
    medianMs: median,
    stepsPerSecMedian: rate(median),
    stepsPerSecBest: rate(times[0]!),
    cpuUsPerStep,
    loadAvg1m: loadavg()[0],
  }),
);
console.log(`fan-out ${STEPS} no-op steps × ${CONCURRENT} run(s): ${rate(median).toLocaleString('en')} steps/s (median of ${RUNS}, ${median} ms per run, best ${rate(times[0]!).toLocaleString('en')} steps/s; ${cpuUsPerStep} µs CPU per step, all threads; load ${loadavg()[0]!.toFixed(1)})`);
await server.close();
rmSync(dataDir, { recursive: true, force: true });

/** `--profile FILE`: a CPU profile of the main thread over the timed runs only. */
async function startProfile(): Promise<import('node:inspector/promises').Session> {
  const { Session } = await import('node:inspector/promises');
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return session;
}

async function stopProfile(session: import('node:inspector/promises').Session, file: string): Promise<void> {
  const { profile } = await session.post('Profiler.stop');
  (await import('node:fs')).writeFileSync(file, JSON.stringify(profile));
  session.disconnect();
}
