/**
 * Engine figures, in-process server (real worker threads, durability on: WAL,
 * synchronous=NORMAL; every acknowledged state survives kill -9):
 *   chain    40 no-op steps in sequence: run time (run.started → run.completed commits) and per
 *            step the time from a step's `running` commit to the next step's (p50/p99); once of
 *            `noop` steps (completed by the scheduler itself, all in one commit) and once of
 *            `echo` steps (the no-op that runs code, each through a plugin host: `chain40Echo`);
 *   fanout   root → 100 no-op → sink: run time;
 *   sustained 10,000 no-op steps as 200 runs of root → 48 → sink, two tenants, all submitted at
 *            once: steps/s from the first POST to the last run's end;
 *   stream   step completed (its event's timestamp) → its line read by an open NDJSON stream
 *            client (ms-resolution start stamp: overstates by < 1 ms);
 *   hosts    the cost of plugin-host isolation for a new tenant: its first run of one echo
 *            step (the spare host, kept ready, is taken; a noop step needs no host) and its first `exec /bin/true` step
 *            (a cold host of the exec profile is started);
 *   fairness a one-step run of tenant t2: run time idle, and while tenant t1 floods (a run of
 *            endless `sleep` steps, twice as many as there are step slots, holding its share);
 *   rss      of this process idle (warm, after the chain/fan-out) and after the sustained runs,
 *            and of its plugin-host processes (every descendant) after the sustained runs.
 * Times are taken when the scheduler publishes committed events (performance.now()).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { PerformanceObserver, constants as perfConstants } from 'node:perf_hooks';
import { mintToken } from '../../src/auth/index.js';
import { parseFlags } from '../../src/cli/args.js';
import { SERVE_FLAGS, serveConfig } from '../../src/cli/config.js';
import { createLogger, startServer } from '../../src/cli/server.js';
import { API_BASE } from '../../src/core/paths.js';
import { chainDag, emit, fanDag, fig, median, now, quantile, rssMb, sleep } from './lib.js';
import { schedulerEvents } from './run-ends.js';

/** A database of a durable throwaway cluster of this benchmark's own (test/helpers/pg.ts). */
async function benchDatabase() {
  process.env.STELLA_PG_DURABLE = '1';
  process.env.STELLA_TEST_RUN = `bench-${process.pid}`;
  const { testDatabase } = await import('../../test/helpers/pg.js');
  return testDatabase();
}

const { values } = parseArgs({
  options: {
    reps: { type: 'string', default: '7' },
    warmup: { type: 'string', default: '40' },
    sync: { type: 'string', default: 'NORMAL' },
    profile: { type: 'string' },
    // A sampling heap profile of the measured part, objects already collected included: who
    // allocates the garbage (`.heapprofile`, Chrome DevTools' Memory tab reads it).
    'heap-profile': { type: 'string' },
    only: { type: 'string' },
    // `postgres`: the same figures on the PostgreSQL store (one node), on a throwaway cluster
    // with fsync, synchronous commit and full-page writes on (test/helpers/pg.ts).
    store: { type: 'string' },
  },
});
const REPS = Number(values.reps);
const WARMUP = Number(values.warmup);

const dataDir = mkdtempSync(join(tmpdir(), 'orch-bench-engine-'));
const pgDb = values.store === 'postgres' ? await benchDatabase() : undefined;
const { flags } = parseFlags(
  ['--dev', '--port', '0', '--data-dir', dataDir, '--allow-unsigned', '--sync', values.sync!, '--rate-limit', '1000000', '--max-queued-runs', '100000', '--exec-allow', '/bin/true', ...(pgDb ? ['--store', pgDb.url] : [])],
  SERVE_FLAGS,
  {},
);
const config = serveConfig(flags);
const server = await startServer(config, createLogger('silent'));
const keys = server.devKeys!;
const token = await mintToken({
  privateKeyPem: keys.privateKeyPem, kid: keys.kid, tenants: ['t1', 't2', ...Array.from({ length: REPS }, (_, i) => `h${i}`)], scopes: ['orchestrator:admin'],
  ttlSec: 3600, issuer: keys.issuer, audience: keys.audience,
});
const base = `${server.url}${API_BASE}`;
const hdr = (tenant: string) => ({ authorization: `Bearer ${token}`, 'x-stella-tenant': tenant, 'content-type': 'application/json' });
async function post(path: string, body: unknown, tenant = 't1'): Promise<any> {
  const res = await fetch(base + path, { method: 'POST', headers: hdr(tenant), body: JSON.stringify(body) });
  const json = await res.json();
  if (res.status >= 300) throw new Error(`${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

// ---- DAGs ----
/** One step that runs code (in a plugin host): noop steps are completed by the scheduler itself. */
const echo = (id: string) => ({ id, plugin: 'echo' });
const chain = chainDag(40);
const echoChain = chainDag(40, 'echo');
const fan = fanDag;
const slots = config.stepSlots;
const flood = { dagId: 'flood', version: '1.0.0', steps: Array.from({ length: 2 * slots }, (_, i) => ({ id: `f${i}`, plugin: 'sleep', with: { ms: 2_147_483_647 } })) };
for (const t of ['t1', 't2']) {
  await post('/dags', chain, t);
  await post('/dags', echoChain, t);
  await post('/dags', fan('fan100', 100), t);
  await post('/dags', fan('fan48', 48), t);
  await post('/dags', { dagId: 'one', version: '1.0.0', steps: [echo('only')] }, t);
}
await post('/dags', flood, 't1');

// ---- committed-event timing (no polling) ----
interface Ev { type: string; runId: string; stepId: string | null; status: string; tsMs: number; seq: number; tenant: string }
const started = new Map<string, number>();
const ended = new Map<string, { at: number; status: string }>();
const waiters = new Map<string, () => void>();
const stepRunning = new Map<string, Array<{ stepId: string; at: number }>>();
let trackSteps = false;
let countFlood = false;
let floodRunning = 0;
schedulerEvents(server).on('committed', (rows: Ev[]) => {
  const at = now();
  for (const e of rows) {
    if (e.type === 'run.started') started.set(e.runId, at);
    else if (e.type === 'run.completed' || e.type === 'run.failed' || e.type === 'run.cancelled') {
      ended.set(e.runId, { at, status: e.status });
      waiters.get(e.runId)?.();
    } else if (countFlood && e.tenant === 't1' && e.type === 'step.updated' && e.status === 'running') {
      floodRunning++;
    } else if (trackSteps && e.type === 'step.updated' && e.status === 'running') {
      let l = stepRunning.get(e.runId);
      if (!l) stepRunning.set(e.runId, (l = []));
      l.push({ stepId: e.stepId!, at });
    }
  }
});
function endOf(runId: string): Promise<{ at: number; status: string }> {
  const done = ended.get(runId);
  if (done) return Promise.resolve(done);
  return new Promise((resolve) => waiters.set(runId, () => { waiters.delete(runId); resolve(ended.get(runId)!); }));
}
async function runOnce(dagId: string, tenant = 't1'): Promise<{ runId: string; ms: number }> {
  const r = await post('/runs', { dagId }, tenant);
  const end = await endOf(r.runId);
  if (end.status !== 'completed') throw new Error(`${dagId} run ${r.runId} ended ${end.status}`);
  return { runId: r.runId, ms: end.at - started.get(r.runId)! };
}

const out: Record<string, unknown> = {};
const only = values.only ? new Set(values.only.split(',')) : null;
const want = (k: string) => !only || only.has(k);

// warm-up: workers, plans, statements, and V8's optimised code (a long-running server's state):
// tenant t2's first run first (it takes the pool's spare plugin host, and the pool starts a new
// spare at once: a whole process start on the same 2 cores, which made the first ≈ 8 measured
// chains 30–45 ms instead of 13–21 when it came after the warm-up), then --warmup chain runs
// (40 by default), a fan-out every fourth.
await runOnce('one', 't2');
for (let i = 0; i < Math.max(1, WARMUP); i++) {
  await runOnce('chain40');
  await runOnce(echoChain.dagId);
  if (i % 4 === 0) await runOnce('fan100');
}

const session = values.profile ? await startProfile() : undefined;
const heapSession = values['heap-profile'] ? await startHeapProfile() : undefined;
const gc = gcCounter();

const chains = [['chain40', chain.dagId], ['chain40Echo', echoChain.dagId]] as const;
for (const [key, dagId] of want('chain') ? chains : []) {
  trackSteps = true;
  const totals: number[] = [];
  const gaps: Array<{ from: number; to: number }> = [];
  for (let i = 0; i < REPS; i++) {
    const { runId, ms } = await runOnce(dagId);
    totals.push(ms);
    const l = stepRunning.get(runId)!;
    for (let k = 1; k < l.length; k++) gaps.push({ from: l[k - 1]!.at, to: l[k]!.at });
  }
  await sleep(10); // the GC observer's last entries
  trackSteps = false;
  const steps = REPS * 40;
  const g = gc.take();
  const ms = gaps.map((x) => x.to - x.from);
  const p50 = quantile(ms, 0.5);
  // Which slow hops (over 4× the p50) a GC pause of the server's main thread explains.
  const slow = gaps.filter((x) => x.to - x.from > 4 * p50);
  const slowWithGc = slow.filter((x) => g.pauses.some((y) => y.from < x.to && y.to > x.from)).length;
  out[key] = fig(median(totals), 'ms', {
    stepP50Ms: p50, stepP99Ms: quantile(ms, 0.99), perStepMs: median(totals) / 40,
    scavengesPer1000Steps: Math.round((g.minor * 1000) / steps), gcMsPerStep: +(g.ms / steps).toFixed(4), cpuUsPerStep: Math.round(g.cpuUs / steps),
    slowHops: slow.length, slowHopsWithGc: slowWithGc, slowHopsMs: Math.round(slow.reduce((a, x) => a + x.to - x.from, 0)),
  }, totals);
}

if (want('fanout')) {
  const totals: number[] = [];
  for (let i = 0; i < REPS; i++) totals.push((await runOnce('fan100')).ms);
  out.fanout100 = fig(median(totals), 'ms', undefined, totals);
}

const rssIdle = rssMb();

if (want('stream')) {
  // An open NDJSON stream; chain runs; each step.completed line's read time vs its timestamp.
  const ac = new AbortController();
  const res = await fetch(`${base}/runs/stream?status=completed`, { headers: hdr('t1'), signal: ac.signal });
  const lat: number[] = [];
  const reader = (async () => {
    const dec = new TextDecoder();
    let buf = '';
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        const readAt = performance.timeOrigin + performance.now();
        buf += dec.decode(chunk, { stream: true });
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          if (!line.trim()) continue;
          const e = JSON.parse(line) as { type: string; timestamp: string; stepId?: string | null };
          if (e.type === 'step.updated') lat.push(readAt - Date.parse(e.timestamp));
        }
      }
    } catch { /* aborted */ }
  })();
  await sleep(50);
  // Echo steps: one commit per step, as any plugin's (a noop chain's 80 lines come in one commit).
  for (let i = 0; i < Math.max(3, Math.ceil(REPS / 2)); i++) await runOnce(echoChain.dagId);
  await sleep(50);
  ac.abort();
  await reader;
  out.stream = fig(quantile(lat, 0.99), 'ms', { p50Ms: quantile(lat, 0.5), events: lat.length });
}

if (want('sustained')) {
  const RUNS = 200; // × 50 steps = 10,000 steps
  const rates: number[] = [];
  for (let rep = 0; rep < 4; rep++) { // the first pass warms up (not counted)
    const t0 = now();
    const ids: string[] = [];
    const tenants = Array.from({ length: RUNS }, (_, i) => (i % 2 ? 't2' : 't1'));
    for (let i = 0; i < RUNS; i += 20) {
      const batch = await Promise.all(tenants.slice(i, i + 20).map((t) => post('/runs', { dagId: 'fan48' }, t)));
      ids.push(...batch.map((r) => r.runId));
    }
    const ends = await Promise.all(ids.map(endOf));
    if (ends.some((e) => e.status !== 'completed')) throw new Error('a sustained run did not complete');
    const ms = Math.max(...ends.map((e) => e.at)) - t0;
    if (rep > 0) rates.push((RUNS * 50 * 1000) / ms);
  }
  out.sustained = fig(median(rates), 'steps/s', { steps: RUNS * 50, runs: RUNS, tenants: 2 }, rates);
}
if (want('hosts')) {
  const spare: number[] = [];
  const cold: number[] = [];
  for (let i = 0; i < REPS; i++) {
    const t = `h${i}`;
    await post('/dags', { dagId: 'one', version: '1.0.0', steps: [echo('a')] }, t);
    await post('/dags', { dagId: 'ex', version: '1.0.0', steps: [{ id: 'a', plugin: 'exec', with: { program: '/bin/true' } }] }, t);
    await sleep(1500); // the spare host taken by the previous tenant is replaced meanwhile
    spare.push((await runOnce('one', t)).ms);
    cold.push((await runOnce('ex', t)).ms);
  }
  out.hostStart = fig(median(cold), 'ms', { spareMs: median(spare) }, cold);
}
if (want('fairness')) {
  // Idle, then while t1 holds its share of the slots with steps that never end.
  const idle: number[] = [];
  for (let i = 0; i < REPS; i++) idle.push((await runOnce('one', 't2')).ms);
  countFlood = true; // t1 runs nothing else now; its dispatches may commit before the POST answer is read
  const f = await post('/runs', { dagId: 'flood' }, 't1');
  while (floodRunning < config.maxStepsPerTenant) await sleep(5);
  const flooded: number[] = [];
  for (let i = 0; i < REPS; i++) flooded.push((await runOnce('one', 't2')).ms);
  const held = floodRunning;
  countFlood = false;
  await post(`/runs/${f.runId}:cancel`, {}, 't1');
  await endOf(f.runId);
  out.fairness = fig(median(flooded), 'ms', {
    idleMs: median(idle), idleSamples: idle, floodSteps: flood.steps.length, floodHeldSlots: held, slots,
    maxStepsPerTenant: config.maxStepsPerTenant, reservedStepSlots: config.reservedStepSlots,
  }, flooded);
}
if (session) await stopProfile(session, values.profile!);
if (heapSession) await stopHeapProfile(heapSession, values['heap-profile']!);
gc.stop();
out.rss = fig(rssIdle, 'MB', { afterSustainedMb: rssMb(), hostsMb: descendantsRssMb(), workers: config.workers });
out.config = { workers: config.workers, synchronous: config.synchronous, store: pgDb ? 'postgres (durable: fsync on)' : 'sqlite' };
emit(out);
await server.close();
await pgDb?.drop();
rmSync(dataDir, { recursive: true, force: true });

/** RSS of every process below this one (the plugin hosts and their wrappers). */
function descendantsRssMb(): number {
  const parent = new Map<number, number>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      parent.set(Number(d), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      /* gone */
    }
  }
  let mb = 0;
  for (const pid of parent.keys()) {
    for (let p = parent.get(pid); p !== undefined && p > 1; p = parent.get(p)) {
      if (p === process.pid) {
        mb += rssMb(pid) || 0;
        break;
      }
    }
  }
  return Math.round(mb);
}

async function startProfile(): Promise<import('node:inspector/promises').Session> {
  const { Session } = await import('node:inspector/promises');
  const s = new Session();
  s.connect();
  await s.post('Profiler.enable');
  await s.post('Profiler.start');
  return s;
}
async function stopProfile(s: import('node:inspector/promises').Session, file: string): Promise<void> {
  const { profile } = await s.post('Profiler.stop');
  (await import('node:fs')).writeFileSync(file, JSON.stringify(profile));
  s.disconnect();
}

/** Garbage collections (count of scavenges, all GC pause ms, the pauses) and this process's CPU since the last take(). */
function gcCounter(): { take(): { minor: number; ms: number; cpuUs: number; pauses: Array<{ from: number; to: number }> }; stop(): void } {
  let minor = 0;
  let ms = 0;
  let pauses: Array<{ from: number; to: number }> = [];
  let cpu = process.cpuUsage();
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      ms += e.duration;
      pauses.push({ from: e.startTime, to: e.startTime + e.duration });
      if ((e as unknown as { detail?: { kind?: number } }).detail?.kind === perfConstants.NODE_PERFORMANCE_GC_MINOR) minor++;
    }
  });
  obs.observe({ entryTypes: ['gc'] });
  return {
    take() {
      const c = process.cpuUsage(cpu);
      const r = { minor, ms, cpuUs: c.user + c.system, pauses };
      minor = 0;
      ms = 0;
      pauses = [];
      cpu = process.cpuUsage();
      return r;
    },
    stop: () => obs.disconnect(),
  };
}

async function startHeapProfile(): Promise<import('node:inspector/promises').Session> {
  const { Session } = await import('node:inspector/promises');
  const s = new Session();
  s.connect();
  await s.post('HeapProfiler.enable');
  await s.post('HeapProfiler.startSampling', { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true } as never);
  return s;
}
async function stopHeapProfile(s: import('node:inspector/promises').Session, file: string): Promise<void> {
  const { profile } = await s.post('HeapProfiler.stopSampling');
  (await import('node:fs')).writeFileSync(file, JSON.stringify(profile));
  s.disconnect();
}
