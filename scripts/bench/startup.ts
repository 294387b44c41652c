/**
 * Start-up and footprint of the program as an operator meets it (issue #20), section `startup`
 * of `npm run bench`:
 *   - CLI: wall and CPU time (the child's, from this process's reaped-children counters) of
 *     `orchestrator version`, `--help`, and a client command (`dags list`) against a server;
 *   - serve: spawn → `listening on`, and spawn → the first 200 of the probe
 *     `GET /admin/health` (ready: start-up done, workers up), over a data folder
 *     of `--stored-runs` ended runs (seed-runs.ts; reused from `--dir` when it holds them);
 *   - idle RSS of `serve --dev` on a fresh folder: /proc/<pid>/smaps_rollup (Rss, Anonymous,
 *     file-backed = the rest) `--idle` seconds after `listening`, and again `--settle` seconds
 *     after it (V8's memory reducer shrinks the young generation ~10–20 s into an idle spell;
 *     0 skips the second reading), and its CPU between the two (ms per second: main thread, other
 *     live threads, plugin hosts: an idle server should sleep);
 * Each measured with the built executable (dist/orchestrator) when there is one, else from
 * source (tsx, which is not the target). Medians of `--reps`.
 *
 * The children inherit this environment. NODE_EXTRA_CA_CERTS (set on some machines, e.g. for a
 * proxy's CA) makes Node 20 read and parse that file, and build its root store, at every start
 * before any JavaScript runs: ≈ 40 ms of CPU with /etc/ssl/certs/ca-certificates.crt on the
 * 2-core VM. `--no-extra-ca` starts the children without it; the output says which.
 *
 *   npx tsx scripts/bench/startup.ts --stored-runs 1000000 --dir /tmp/orch-1m --reps 5
 *   npx tsx scripts/bench/startup.ts --bin /tmp/old/orchestrator --bin dist/orchestrator   # builds alternately
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { API_BASE } from '../../src/core/paths.js';
import { BINARY, emit, fig, hostReachableTmp, median, ROOT, sleep, startChildServer, treeCpuMs } from './lib.js';
import { seedRuns } from './seed-runs.js';

const { values } = parseArgs({
  options: {
    'stored-runs': { type: 'string', default: '100000' },
    dir: { type: 'string' },
    reps: { type: 'string', default: '5' },
    idle: { type: 'string', default: '3' },
    settle: { type: 'string', default: '30' },
    bin: { type: 'string', multiple: true },
    'no-extra-ca': { type: 'boolean', default: false },
  },
});
if (values['no-extra-ca']) delete process.env.NODE_EXTRA_CA_CERTS; // the children inherit process.env
const extraCaCerts = process.env.NODE_EXTRA_CA_CERTS ? 'set' : 'unset';
const REPS = Number(values.reps);
const bins = (values.bin ?? [BINARY]).map((b) => resolve(b));
const program = (bin: string): string[] => (existsSync(bin) ? [bin] : [process.execPath, '--import', 'tsx', join(ROOT, 'src', 'main.ts')]);
const label = (bin: string): string => (existsSync(bin) ? bin.replace(ROOT + '/', '') : 'source (tsx)');

/** CPU seconds of this process's reaped children (utime + stime, clock ticks of 10 ms). */
function childrenCpuMs(): number {
  const f = readFileSync('/proc/self/stat', 'utf8').slice(readFileSync('/proc/self/stat', 'utf8').lastIndexOf(')') + 2).split(' ');
  return (Number(f[13]) + Number(f[14])) * 10; // fields 16 and 17 (cutime, cstime)
}

/** Wall and CPU ms of one run of the program with `args`. */
function cliOnce(bin: string, args: string[], env: Record<string, string> = {}): { wallMs: number; cpuMs: number } {
  const [cmd, ...pre] = program(bin);
  const c0 = childrenCpuMs();
  const t0 = performance.now();
  const r = spawnSync(cmd!, [...pre, ...args], { cwd: tmpdir(), encoding: 'utf8', env: { ...process.env, ...env } });
  const wallMs = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${args.join(' ')}: exit ${r.status}: ${r.stderr}`);
  return { wallMs, cpuMs: childrenCpuMs() - c0 };
}

/** CPU ms (user + system) a live process has used so far. */
function cpuMsOf(pid: number): number {
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) * 10; // fields 14 and 15 (utime, stime)
}

/**
 * spawn → `listening on` (wall, and the process's CPU by then: less sensitive to a shared
 * machine's load), and spawn → the first 200 of the health probe (polled every 5 ms).
 */
async function serveStart(bin: string, dataDir: string): Promise<{ listenMs: number; listenCpuMs: number; readyMs: number }> {
  const [cmd, ...pre] = program(bin);
  const t0 = performance.now();
  const proc = spawn(cmd!, [...pre, 'serve', '--port', '0', '--data-dir', dataDir, '--log-level', 'warn', '--allow-unsigned', '--dev'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stderr!.setEncoding('utf8').on('data', (c: string) => (err += c));
  const exited = new Promise((r) => proc.once('exit', r));
  try {
    const { url, listenMs, listenCpuMs } = await new Promise<{ url: string; listenMs: number; listenCpuMs: number }>((res, rej) => {
      const onData = (c: string) => {
        out += c;
        const url = /listening on (http:\/\/\S+)/.exec(out)?.[1];
        if (!url) return;
        proc.stdout!.off('data', onData);
        res({ url, listenMs: performance.now() - t0, listenCpuMs: cpuMsOf(proc.pid!) });
      };
      proc.stdout!.setEncoding('utf8').on('data', onData);
      void exited.then(() => rej(new Error(`serve exited before listening:\n${out}\n${err}`)));
    });
    for (;;) {
      const r = await fetch(`${url}${API_BASE}/admin/health`).catch(() => undefined);
      if (r?.status === 200) return { listenMs, listenCpuMs, readyMs: performance.now() - t0 };
      await r?.body?.cancel();
      if (performance.now() - t0 > 120_000) throw new Error('not ready after 120 s');
      await sleep(5);
    }
  } finally {
    proc.kill('SIGTERM');
    await exited;
  }
}

type Rss = { rss: number; anon: number; file: number };
/** CPU ms per second of an idle server between the two RSS readings: its main thread, its other live threads, its plugin hosts. */
type IdleCpu = { main: number; threads: number; children: number };

function smaps(pid: number): Rss {
  const s = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(s)?.[1] ?? NaN);
  return { rss: kb('Rss') / 1024, anon: kb('Anonymous') / 1024, file: (kb('Rss') - kb('Anonymous')) / 1024 };
}

/** smaps_rollup of an idle `serve --dev` on a fresh folder, `seconds` and `settle` seconds after listening (MB). */
async function idleRss(bin: string, seconds: number, settle: number): Promise<{ early: Rss; settled?: Rss; cpu?: IdleCpu }> {
  const dir = mkdtempSync(join(tmpdir(), 'orch-bench-rss-'));
  try {
    const [cmd, ...pre] = program(bin);
    const proc = spawn(cmd!, [...pre, 'serve', '--dev', '--port', '0', '--data-dir', join(dir, 'd'), '--log-level', 'warn'], { stdio: ['ignore', 'pipe', 'ignore'] });
    const exited = new Promise((r) => proc.once('exit', r));
    let out = '';
    await new Promise<void>((res, rej) => {
      proc.stdout!.setEncoding('utf8').on('data', (c: string) => ((out += c), /listening on/.test(out) && res()));
      void exited.then(() => rej(new Error(`serve exited: ${out}`)));
    });
    await sleep(seconds * 1000);
    const early = smaps(proc.pid!);
    let settled: Rss | undefined;
    let cpu: IdleCpu | undefined;
    if (settle > seconds) {
      const c0 = treeCpuMs(proc.pid!);
      await sleep((settle - seconds) * 1000);
      settled = smaps(proc.pid!);
      const c1 = treeCpuMs(proc.pid!);
      const perS = (k: keyof IdleCpu) => (c1[k] - c0[k]) / (settle - seconds);
      cpu = { main: perS('main'), threads: perS('threads'), children: perS('children') };
    }
    proc.kill('SIGTERM');
    await exited;
    return { early, settled, cpu };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// The folder of stored runs (kept when --dir is given: seeding 1,000,000 runs takes minutes).
const freshDataDir = (prefix: string): string => join(hostReachableTmp(prefix), 'd');
const dataDir = values.dir ? resolve(values.dir) : freshDataDir('orch-bench-startup-');
const seeded = await seedRuns(dataDir, Number(values['stored-runs']), (m) => process.stderr.write(`startup: ${m}\n`));

// A server for the client command.
const srv = await startChildServer(mkdtempSync(join(tmpdir(), 'orch-bench-cli-')), [], 'binary');
type Start = Awaited<ReturnType<typeof serveStart>>;
type Cli = { wallMs: number; cpuMs: number };
const samples = new Map(bins.map((b) => [b, { version: [] as Cli[], help: [] as Cli[], client: [] as Cli[], starts: [] as Start[], empty: [] as Start[], rss: [] as Array<{ early: Rss; settled?: Rss; cpu?: IdleCpu }> }]));
const emptyDir = freshDataDir('orch-bench-empty-');
try {
  // Builds alternate sample by sample (a shared machine's load moves); each figure is a median.
  for (const bin of bins) await serveStart(bin, emptyDir); // creates the empty folder (migrations, dev keys) and warms the page cache
  for (let i = 0; i < REPS; i++) {
    for (const bin of bins) {
      const x = samples.get(bin)!;
      x.version.push(cliOnce(bin, ['version']));
      x.help.push(cliOnce(bin, ['--help']));
      x.client.push(cliOnce(bin, ['dags', 'list', '--server', srv.url, '--tenant', 'demo', '--output', 'json'], { ORCH_TOKEN: srv.token }));
      // Over the stored runs and over a folder with none: start-up must not depend on them.
      x.starts.push(await serveStart(bin, dataDir));
      x.empty.push(await serveStart(bin, emptyDir));
    }
  }
  for (let i = 0; i < Math.max(1, Math.min(REPS, 2)); i++) {
    for (const bin of bins) samples.get(bin)!.rss.push(await idleRss(bin, Number(values.idle), Number(values.settle)));
  }
} finally {
  await srv.stop('SIGTERM');
  rmSync(join(emptyDir, '..'), { recursive: true, force: true });
}
const cliFig = (xs: Cli[], extra: Record<string, unknown> = {}) => fig(median(xs.map((c) => c.wallMs)), 'ms', { cpuMs: median(xs.map((c) => c.cpuMs)), ...extra }, xs.map((c) => c.wallMs));
const startFig = (xs: Start[], runs: number) =>
  fig(median(xs.map((s) => s.listenMs)), 'ms', { cpuMs: median(xs.map((s) => s.listenCpuMs)), readyMs: median(xs.map((s) => s.readyMs)), storedRuns: runs }, xs.map((s) => s.listenMs));
const rssFig = (xs: Rss[], after: number) =>
  fig(median(xs.map((r) => r.rss)), 'MB', { anonMb: median(xs.map((r) => r.anon)), fileMb: median(xs.map((r) => r.file)), afterSeconds: after }, xs.map((r) => r.rss));
const perBin: Record<string, Record<string, unknown>> = {};
for (const [bin, x] of samples) {
  const settled = x.rss.flatMap((r) => (r.settled ? [r.settled] : []));
  const cpus = x.rss.flatMap((r) => (r.cpu ? [r.cpu] : []));
  perBin[label(bin)] = {
    cliVersion: cliFig(x.version),
    cliHelp: cliFig(x.help),
    cliClient: cliFig(x.client, { command: 'dags list' }),
    listen: startFig(x.starts, seeded.runs),
    listenEmpty: startFig(x.empty, 0),
    rssIdle: rssFig(x.rss.map((r) => r.early), Number(values.idle)),
    ...(settled.length ? { rssSettled: rssFig(settled, Number(values.settle)) } : {}),
    ...(cpus.length ? { idleCpu: fig(median(cpus.map((c) => c.main + c.threads + c.children)), 'ms CPU per s idle', { mainMs: median(cpus.map((c) => c.main)), threadsMs: median(cpus.map((c) => c.threads)), hostsMs: median(cpus.map((c) => c.children)), fromSeconds: Number(values.idle), toSeconds: Number(values.settle) }) } : {}),
  };
}
emit({ builds: perBin, env: { NODE_EXTRA_CA_CERTS: extraCaCerts }, stored: { runs: seeded.runs, events: seeded.events, mb: Math.round(seeded.bytes / 1048576), seedMs: seeded.seedMs, reused: seeded.reused } });
if (!values.dir) rmSync(join(dataDir, '..'), { recursive: true, force: true });
