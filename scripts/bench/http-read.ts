/**
 * The HTTP read path, builds compared alternately (issue #20: `GET /runs/{id}` and a page of
 * `GET /runs`): each round starts every build's server in turn on the same data folder (kept
 * between invocations; seeded by seed-runs.ts when absent), runs autocannon against it and
 * reads the server's CPU time from /proc around each autocannon run. CPU µs per request (main
 * thread, and the whole process) is the figure that survives a shared machine; req/s and
 * latency are printed beside it with the 1-minute load.
 *
 *   npx tsx scripts/bench/http-read.ts --dir /tmp/orch-100k --stored-runs 100000 \
 *     --build base=/tmp/builds/base/main.cjs --build new=dist/main.cjs --rounds 3
 *   npx tsx scripts/bench/http-read.ts --dir /tmp/orch-1m --build new=dist/main.cjs --only list
 *
 * A build is `name=path`: a bundled `main.cjs` (run by this node) or `source` (src/main.ts
 * through tsx); `--warmup S` (default 1) before each measured run (the first pass over the
 * 1,000 runs read makes their kept views); `'name=path --v8-flag …'` starts that build's node with those flags; `name=path@DIR` serves a copy of the data folder of its own (a build whose
 * schema is newer migrates the folder it opens, which the older build then refuses). `--cpu-prof DIR` writes each server's V8 CPU profile there. `--bare` adds the
 * limit (scripts/bench/bare-hono.ts, one SQLite read by primary key) to each round, GET only.
 * `--cpu shared,split` measures each build (and the bare route) under each way of sharing the 2
 * cores with the load generator (lib.ts `CpuArrangement`: unpinned, or autocannon on CPU 0 and the
 * server on CPU 1); the default is `shared`. `wait µs/req` is the time the server's main thread
 * was runnable but not running (the kernel's run-queue wait, /proc/<pid>/task/<pid>/schedstat).
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { API_BASE } from '../../src/core/paths.js';
import { spawn } from 'node:child_process';
import { ARRANGEMENTS, arrangeCpus, cannon, cpuArrangements, load1, median, ROOT, sleep, spreadRunIds, startChildServer, type ChildServer } from './lib.js';
import { seedRuns } from './seed-runs.js';

const { values } = parseArgs({
  options: {
    dir: { type: 'string' },
    'stored-runs': { type: 'string', default: '100000' },
    build: { type: 'string', multiple: true, default: ['source=source'] },
    rounds: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '1' },
    connections: { type: 'string', default: '10' },
    only: { type: 'string' },
    'cpu-prof': { type: 'string' },
    bare: { type: 'boolean', default: false },
    cpu: { type: 'string', default: 'shared' },
  },
});
if (!values.dir) throw new Error('usage: http-read.ts --dir DIR [--build name=main.cjs|source]… (see the header)');
const dataDir = values.dir;
const SECONDS = Number(values.seconds);
const WARMUP = Number(values.warmup);
const CONNECTIONS = Number(values.connections);
const CPUS = cpuArrangements(values.cpu!);
const builds = values.build!.map((b) => {
  const [name, ...rest] = b.split('=');
  const [spec, ...flags] = rest.join('=').split(' ');
  const [path, dir] = spec!.split('@') as [string, string | undefined];
  return { name: name!, path, dir: dir ?? dataDir, flags };
});

const seeded = await seedRuns(dataDir, Number(values['stored-runs']), (m) => process.stderr.write(m + '\n'));
const ids = spreadRunIds(dataDir);

/** utime + stime of the process and of its main thread, and the main thread's run-queue wait, in µs. */
function cpuUs(pid: number): { proc: number; main: number; wait: number } {
  const ticks = (path: string) => {
    const f = readFileSync(path, 'utf8');
    const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return (Number(rest[11]) + Number(rest[12])) * 10_000; // fields 14, 15 at 100 Hz
  };
  const wait = Number(readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8').split(' ')[1]) / 1000; // ns
  return { proc: ticks(`/proc/${pid}/stat`), main: ticks(`/proc/${pid}/task/${pid}/stat`), wait };
}

async function start(path: string, dir: string, profDir: string | undefined, flags: string[] = []): Promise<ChildServer> {
  const extra = ['--rate-limit', '1000000'];
  const prof = [...flags, ...(profDir ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : [])];
  return path === 'source' ? startChildServer(dir, extra, 'source', undefined, prof) : startChildServer(dir, extra, 'binary', path, prof);
}

interface Sample { rps: number; p50: number; p99: number; mainUs: number; procUs: number; waitUs: number; non2xx: number; load: number }
const results = new Map<string, Sample[]>();
const targets = [
  { key: 'get', paths: ids.map((id) => `${API_BASE}/runs/${id}`) },
  { key: 'list', paths: [`${API_BASE}/runs?page_size=50`] },
].filter((t) => !values.only || values.only === t.key);

/** The bare Hono + SQLite route as a child (its own 100,000-row file beside the data folder). */
async function startBare(): Promise<{ pid: number; url: string; stop(): Promise<void> }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'scripts/bench/bare-hono.ts', `${dataDir}.bare.db`], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise((r) => proc.once('exit', r));
  const url = await new Promise<string>((resolve) => {
    let out = '';
    proc.stdout!.setEncoding('utf8').on('data', (c: string) => {
      out += c;
      const m = /listening (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
  });
  return { pid: proc.pid!, url, stop: async () => void (proc.kill('SIGTERM'), await exited) };
}

/** One autocannon run (after a warm-up, `--warmup` s) with the server's CPU time around it. */
async function measure(key: string, pid: number, url: string, paths: string[], headers: Record<string, string>): Promise<void> {
  await cannon(url, paths, headers, WARMUP, CONNECTIONS);
  const c0 = cpuUs(pid);
  const r = await cannon(url, paths, headers, SECONDS, CONNECTIONS);
  const c1 = cpuUs(pid);
  const sample = { rps: r.rps, p50: r.p50, p99: r.p99, mainUs: (c1.main - c0.main) / r.total, procUs: (c1.proc - c0.proc) / r.total, waitUs: (c1.wait - c0.wait) / r.total, non2xx: r.non2xx, load: load1() };
  results.set(key, [...(results.get(key) ?? []), sample]);
  process.stderr.write(`${key}: ${JSON.stringify(sample)}\n`);
}

for (let round = 0; round < Number(values.rounds); round++) {
  for (const cpu of CPUS) {
    if (values.bare) {
      const b = await startBare();
      arrangeCpus(cpu, b.pid);
      await measure(`get bare ${cpu}`, b.pid, b.url, Array.from({ length: 1000 }, (_, i) => `/runs/${String(i * 97).padStart(8, '0')}`), {});
      await b.stop();
    }
    for (const b of builds) {
      const s = await start(b.path, b.dir, values['cpu-prof'], b.flags);
      arrangeCpus(cpu, s.proc.pid!);
      const headers = { authorization: `Bearer ${s.token}`, 'x-stella-tenant': 'demo' };
      await sleep(500);
      for (const t of targets) await measure(`${t.key} ${b.name} ${cpu}`, s.proc.pid!, s.url, t.paths, headers);
      await s.stop('SIGINT');
    }
  }
}
arrangeCpus('shared', process.pid);

process.stdout.write(`${seeded.runs} stored runs, ${CONNECTIONS} connections, ${SECONDS} s; autocannon in this process on the same machine (${load1()} load1 at the end); medians of ${values.rounds}\n`);
for (const cpu of CPUS) process.stdout.write(`cpu ${cpu}: ${ARRANGEMENTS[cpu]}\n`);
process.stdout.write('figure        build     cpu     main µs/req  proc µs/req  wait µs/req   req/s   p50 ms  p99 ms  non2xx  load1\n');
for (const [k, xs] of results) {
  const m = (f: (s: Sample) => number) => median(xs.map(f));
  const [fig, build, cpu] = k.split(' ');
  process.stdout.write(
    `${fig!.padEnd(13)} ${build!.padEnd(9)} ${cpu!.padEnd(7)} ${m((s) => s.mainUs).toFixed(0).padStart(11)} ${m((s) => s.procUs).toFixed(0).padStart(12)} ${m((s) => s.waitUs).toFixed(0).padStart(12)} ${m((s) => s.rps).toFixed(0).padStart(7)} ${m((s) => s.p50).toFixed(1).padStart(8)} ${m((s) => s.p99).toFixed(1).padStart(7)} ${m((s) => s.non2xx).toFixed(0).padStart(7)} ${m((s) => s.load).toFixed(2).padStart(6)}\n`,
  );
}
