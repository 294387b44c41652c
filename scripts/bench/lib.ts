/**
 * Shared helpers of the benchmark sections: statistics, machine load, the server as a child
 * process (source or the built single executable), and the JSON line each section prints.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { API_BASE } from '../../src/core/paths.js';

export const ROOT = join(import.meta.dirname, '..', '..');

/**
 * Up to `n` run ids spread evenly over a data folder's runs (by rowid), for read benchmarks that
 * should not read one hot run. The folder is opened read-only.
 */
export function spreadRunIds(dataDir: string, n = 1000): string[] {
  const db = new Database(join(dataDir, 'orchestrator.db'), { readonly: true });
  try {
    const rows = (db.prepare('select max(rowid) as n from runs').get() as { n: number | null }).n ?? 0;
    return db.prepare('select run_id from runs where rowid % ? = 0 limit ?').pluck().all(Math.max(1, Math.floor(rows / n)), n) as string[];
  } finally {
    db.close();
  }
}

export function median(xs: readonly number[]): number {
  return quantile(xs, 0.5);
}

/** Nearest-rank quantile (q in 0…1). */
export function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
}

export function load1(): number {
  return Math.round(loadavg()[0]! * 100) / 100;
}

export const now = (): number => performance.now();

export function rssMb(pid?: number): number {
  if (pid === undefined) return Math.round(process.memoryUsage.rss() / 1048576);
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : NaN;
}

/**
 * CPU time (ms, user + system) used so far by a process tree, from /proc (Linux; empty
 * elsewhere): `main` = the process's main thread, `threads` = its other threads (V8's helpers,
 * libuv's pool, workers), `children` = every descendant process (the plugin hosts).
 */
export function treeCpuMs(pid: number): { main: number; threads: number; children: number } {
  const out = { main: 0, threads: 0, children: 0 };
  const tick = 1000 / 100; // USER_HZ
  const fields = (path: string): string[] => {
    const st = readFileSync(path, 'utf8');
    return st.slice(st.lastIndexOf(')') + 2).split(' ');
  };
  try {
    const kids = new Map<number, number[]>();
    for (const p of readdirSync('/proc')) {
      if (!/^\d+$/.test(p)) continue;
      try {
        const ppid = Number(fields(`/proc/${p}/stat`)[1]);
        kids.set(ppid, [...(kids.get(ppid) ?? []), Number(p)]);
      } catch { /* gone */ }
    }
    const cpuOf = (path: string): number => {
      const f = fields(path);
      return (Number(f[11]) + Number(f[12])) * tick;
    };
    for (const t of readdirSync(`/proc/${pid}/task`)) {
      const ms = cpuOf(`/proc/${pid}/task/${t}/stat`);
      if (Number(t) === pid) out.main += ms;
      else out.threads += ms;
    }
    const walk = (p: number): void => {
      for (const k of kids.get(p) ?? []) {
        try {
          out.children += cpuOf(`/proc/${k}/stat`); // the process's own threads, live ones
        } catch { /* gone */ }
        walk(k);
      }
    };
    walk(pid);
  } catch { /* not Linux */ }
  return out;
}

/**
 * A fresh temporary folder the plugin hosts can pass through: mkdtemp makes it 0700, and the hosts
 * run as their own unprivileged user when the bench runs as root, so a data folder inside it
 * would make every step fail with WORKER_START_FAILED. 0711: traversable, not listable.
 */
export function hostReachableTmp(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(dir, 0o711);
  return dir;
}

/** A measured figure: value, unit, the machine's 1-minute load when it was taken. */
export interface Figure {
  value: number;
  unit: string;
  load: number;
  samples?: number[];
  extra?: Record<string, unknown>;
}

export function fig(value: number, unit: string, extra?: Record<string, unknown>, samples?: number[]): Figure {
  const f: Figure = { value: round(value), unit, load: load1() };
  if (samples) f.samples = samples.map(round);
  if (extra) f.extra = extra;
  return f;
}

export function round(x: number): number {
  if (!Number.isFinite(x)) return x;
  const a = Math.abs(x);
  return a >= 100 ? Math.round(x) : a >= 1 ? Math.round(x * 100) / 100 : Math.round(x * 10000) / 10000;
}

/** A section prints exactly one line `BENCH_RESULT <json>` on stdout. */
export function emit(result: Record<string, unknown>): void {
  process.stdout.write(`BENCH_RESULT ${JSON.stringify(result)}\n`);
}

/**
 * How the load generator (autocannon, in the benchmark process) and the server it measures share
 * the machine's cores (issue #20 asks the read path's p99 with this said): `shared` leaves both
 * to the kernel's scheduler on every core; `split` pins every thread of the benchmark process to
 * CPU 0 and every thread of the server (its main thread, V8's and libuv's helpers, the WAL
 * checkpointer) to CPU 1, so neither preempts the other.
 */
export type CpuArrangement = 'shared' | 'split';

export const ARRANGEMENTS: Record<CpuArrangement, string> = {
  shared: 'load generator and server unpinned, on every core',
  split: 'load generator (all threads) on CPU 0, server (all threads) on CPU 1',
};

export function cpuArrangements(list: string): CpuArrangement[] {
  const out = list.split(',').map((a) => a.trim());
  for (const a of out) if (!(a in ARRANGEMENTS)) throw new Error(`--cpu: ${a} is not one of ${Object.keys(ARRANGEMENTS).join(', ')}`);
  return out as CpuArrangement[];
}

/** Pins the benchmark process and the server `serverPid` (every thread of each, with util-linux's `taskset`) as `a` says. */
export function arrangeCpus(a: CpuArrangement, serverPid: number): void {
  const n = cpus().length;
  if (a === 'split' && n < 2) throw new Error('--cpu split needs 2 cores');
  const all = `0-${n - 1}`;
  const pin = (pid: number, list: string) => execFileSync('taskset', ['-a', '-cp', list, String(pid)], { stdio: 'ignore' });
  pin(process.pid, a === 'split' ? '0' : all);
  pin(serverPid, a === 'split' ? '1' : all);
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface ChildServer {
  proc: ChildProcess;
  url: string;
  token: string;
  /** ms from spawn to the `listening on` line. */
  listenMs: number;
  req(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }>;
  stop(signal?: NodeJS.Signals): Promise<void>;
  exited: Promise<unknown>;
}

/** The built single executable, when `npm run build` made one. */
export const BINARY = join(ROOT, 'dist', 'orchestrator');

/**
 * Starts `orchestrator serve --dev` on port 0 as a child process: the built executable when
 * `mode` is 'binary' (and it exists; `bin` names another executable, or a bundled `main.cjs` run
 * by this node), else from source through tsx. `nodeArgs` go to node (not to an executable).
 */
export async function startChildServer(dataDir: string, extra: string[] = [], mode: 'binary' | 'source' = 'source', bin = BINARY, nodeArgs: string[] = []): Promise<ChildServer> {
  const serveArgs = ['serve', '--dev', '--port', '0', '--data-dir', dataDir, '--allow-unsigned', '--log-level', 'warn', ...extra];
  const useBinary = mode === 'binary' && existsSync(bin);
  const t0 = now();
  const stdio = { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] as Array<'ignore' | 'pipe'> };
  const proc = !useBinary
    ? spawn(process.execPath, [...nodeArgs, '--import', 'tsx', 'src/main.ts', ...serveArgs], stdio)
    : bin.endsWith('.cjs')
      ? spawn(process.execPath, [...nodeArgs, bin, ...serveArgs], stdio)
      : spawn(bin, serveArgs, stdio);
  let out = '';
  let err = '';
  let listenMs = NaN;
  const exited = new Promise((resolve) => proc.once('exit', resolve));
  const ready = new Promise<{ url: string; token: string }>((resolve, reject) => {
    const check = () => {
      const url = /listening on (http:\/\/\S+)/.exec(out)?.[1];
      if (url && Number.isNaN(listenMs)) listenMs = now() - t0;
      const token = /export TOKEN=(\S+)/.exec(err)?.[1];
      if (url && token) resolve({ url, token });
    };
    proc.stdout!.setEncoding('utf8').on('data', (c: string) => ((out += c), check()));
    proc.stderr!.setEncoding('utf8').on('data', (c: string) => ((err += c), check()));
    void exited.then(() => reject(new Error(`server exited before it listened:\n${out}\n${err}`)));
    setTimeout(() => reject(new Error(`server did not start in 60 s:\n${out}\n${err}`)), 60_000).unref();
  });
  const { url, token } = await ready;
  return {
    proc,
    url,
    token,
    listenMs,
    exited,
    req(method, path, body) {
      const headers: Record<string, string> = { authorization: `Bearer ${token}`, 'x-stella-tenant': 'demo' };
      const data = body === undefined ? undefined : JSON.stringify(body);
      if (data !== undefined) headers['content-type'] = 'application/json';
      return httpJson(url + API_BASE + path, method, headers, data);
    },
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      await exited;
    },
  };
}

/** Runs autocannon in this process against `url` for `seconds`; `paths` rotate per request. */
export async function cannon(
  url: string,
  paths: readonly string[],
  headers: Record<string, string>,
  seconds: number,
  connections = 10,
): Promise<{ rps: number; p50: number; p99: number; errors: number; non2xx: number; total: number }> {
  const autocannon = (await import('autocannon')).default;
  let i = 0;
  const result = await autocannon({
    url,
    connections,
    duration: seconds,
    headers,
    requests: [
      {
        setupRequest: (req: any) => {
          req.path = paths[i++ % paths.length];
          return req;
        },
      },
    ],
  } as any);
  return {
    rps: Math.round(result.requests.average),
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors,
    non2xx: result.non2xx,
    total: result.requests.total,
  };
}

/** An event of the NDJSON run stream (`GET /runs/stream`), as the benchmarks read it. */
export interface StreamEvent { seq: number; type: string; runId: string; stepId?: string | null; status: string; timestamp: string }

/**
 * Reads a server's NDJSON event stream (`GET /runs/stream?<query>`, `tenant`: `demo` unless given) over node:http, calling `on`
 * per event with the time its line was read, until the returned controller is aborted.
 * Resolves once the response headers arrived (the stream is open).
 */
export function eventStream(s: Pick<ChildServer, 'url' | 'token'>, query: string, on: (e: StreamEvent, readAt: number) => void, tenant = 'demo'): Promise<AbortController> {
  const ac = new AbortController();
  const headers = { authorization: `Bearer ${s.token}`, 'x-stella-tenant': tenant };
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${s.url}${API_BASE}/runs/stream${query ? `?${query}` : ''}`, { headers, signal: ac.signal }, (res) => {
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        const at = now();
        buf += chunk;
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          if (line.trim()) on(JSON.parse(line) as StreamEvent, at);
        }
      });
      res.on('error', () => undefined); // aborted or the server died
      resolve(ac);
    });
    req.on('error', (e) => (ac.signal.aborted ? undefined : reject(e)));
    req.end();
  });
}

/** Keep-alive agent of the benchmark clients (node:http: lighter than fetch, so the client takes less of the shared cores). */
const agent = new HttpAgent({ keepAlive: true });

/** One JSON request over node:http (keep-alive). */
export function httpJson(url: string, method: string, headers: Record<string, string>, data?: string): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method, headers, agent }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : undefined }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(data);
  });
}

// ---- the DAGs the engine is measured with (no-op steps) ----
/**
 * `noop` steps are completed by the scheduler itself (docs/PLUGINS.md); `echo` of an empty
 * `with` is the no-op that runs code, in a plugin host: what every real plugin step costs.
 */
export type StepKind = 'noop' | 'echo';
const stepOf = (plugin: StepKind) => (id: string) => ({ id, plugin });

/** `s00 → s01 → … → s39` (40 steps by default), DAG id `chain40` (`chain40-echo` for echo steps). */
export function chainDag(length = 40, plugin: StepKind = 'noop') {
  const ids = Array.from({ length }, (_, i) => `s${String(i).padStart(2, '0')}`);
  const dagId = plugin === 'noop' ? `chain${length}` : `chain${length}-${plugin}`;
  return { dagId, version: '1.0.0', steps: ids.map(stepOf(plugin)), edges: ids.slice(1).map((id, i) => ({ from: ids[i]!, to: id })) };
}

/** root → `width` parallel steps → sink. */
export function fanDag(dagId: string, width: number, plugin: StepKind = 'noop') {
  const mids = Array.from({ length: width }, (_, i) => `m${String(i).padStart(3, '0')}`);
  const step = stepOf(plugin);
  return {
    dagId, version: '1.0.0',
    steps: [step('root'), ...mids.map(step), step('sink')],
    edges: [...mids.map((id) => ({ from: 'root', to: id })), ...mids.map((id) => ({ from: id, to: 'sink' }))],
  };
}
