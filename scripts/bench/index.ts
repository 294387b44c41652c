/**
 * `npm run bench`: every benchmark section in its own child process, one after the other
 * (limits of this machine, engine, control plane + start-up, recovery, BullMQ peer, the chain
 * and fan-out measured by a client in its own process alternating with BullMQ, cron
 * evaluation, schedules: start lag and idle CPU, data lifecycle: backup/restore MB/s and the
 * chain while pruning, start-up: the CLI, serve over stored runs, idle RSS, PostgreSQL: the
 * engine on one node and `sleep` steps on 1-3 nodes with take-over after SIGKILL), then ONE
 * table on stdout and the figures in bench/results/latest.json. See BENCHMARKS.md.
 *
 *   npm run bench [-- --reps 7] [--stored-runs 100000] [--skip peer,recovery,…] [--quick]
 *
 * The old single fan-out benchmark is `npx tsx scripts/bench/fanout.ts`.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, freemem, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fig, median, ROOT } from './lib.js';
import { render, type Results } from './table.js';

const { values } = parseArgs({
  options: {
    reps: { type: 'string', default: '7' },
    'stored-runs': { type: 'string', default: '100000' },
    /** A folder startup.ts seeds once and reuses (seeding 1,000,000 runs takes minutes). */
    'startup-dir': { type: 'string' },
    skip: { type: 'string', default: '' },
    quick: { type: 'boolean', default: false },
    out: { type: 'string', default: join(ROOT, 'bench', 'results', 'latest.json') },
  },
});
const skip = new Set(values.skip!.split(',').filter(Boolean));
const reps = values.quick ? '3' : values.reps!;
/** Warm-up runs before the latency figures (ours and the peer's alike: both measured warm). */
const warmup = values.quick ? '10' : '40';

async function section(name: string, file: string, args: string[] = []): Promise<Record<string, any>> {
  if (skip.has(name)) return { skipped: 'skipped by --skip' };
  const t0 = Date.now();
  process.stderr.write(`bench: ${name} …`);
  const proc = spawn(process.execPath, ['--import', 'tsx', join('scripts', 'bench', file), ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
  proc.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
  const code = await new Promise<number | null>((resolve) => proc.once('exit', resolve));
  process.stderr.write(` ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  const line = out.split('\n').find((l) => l.startsWith('BENCH_RESULT '));
  if (code !== 0 || !line) return { error: `exit ${code}: ${(err || out).trim().split('\n').slice(-5).join(' | ')}` };
  return JSON.parse(line.slice('BENCH_RESULT '.length));
}

/**
 * The in-server sustained figure against BullMQ's, alternately (`rounds` times each, the engine
 * first): both vary by half between passes on a small VM, so the ratio is of the medians of
 * every pass of each, taken in turns under the same conditions (issue #20).
 */
async function sustainedAlternated(rounds: number): Promise<Record<string, any>> {
  if (skip.has('sustained-ab')) return { skipped: 'skipped by --skip' };
  const ours: number[] = [];
  const peer: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const e = await section('sustained-ab', 'engine.ts', ['--only', 'sustained']);
    if (e.error || !e.sustained) return { error: e.error ?? 'no sustained figure from engine.ts' };
    ours.push(...(e.sustained.samples as number[]));
    const p = await section('sustained-ab', 'peer-bullmq.ts', ['--only', 'sustained']);
    if (p.skipped) return { skipped: p.skipped };
    if (p.error || !p.sustained) return { error: p.error ?? 'no sustained figure from peer-bullmq.ts' };
    peer.push(...(p.sustained.samples as number[]));
  }
  return {
    ours: fig(median(ours), 'steps/s', { rounds, passesEach: ours.length }, ours),
    peer: fig(median(peer), 'jobs/s', { rounds, passesEach: peer.length }, peer),
  };
}

const started = new Date();
const results: Results = {
  limits: await section('limits', 'limits.ts'),
  engine: await section('engine', 'engine.ts', ['--reps', reps, '--warmup', warmup]),
  enginePg: await section('engine-pg', 'engine.ts', ['--reps', reps, '--warmup', '10', '--only', 'chain,fanout,sustained', '--store', 'postgres']),
  nodes: await section('nodes', 'nodes.ts', values.quick ? ['--runs', '30'] : []),
  control: await section('control', 'control.ts', ['--stored-runs', values['stored-runs']!, ...(values.quick ? ['--seconds', '2'] : [])]),
  recovery: await section('recovery', 'recovery.ts'),
  peer: await section('peer', 'peer-bullmq.ts', ['--reps', reps, '--warmup', warmup]),
  sustainedAb: await sustainedAlternated(values.quick ? 1 : 3),
  client: await section('client', 'client.ts', ['--reps', reps, '--warmup', warmup]),
  cron: await section('cron', 'cron.ts'),
  schedules: await section('schedules', 'schedules.ts', values.quick ? ['--idle-seconds', '5'] : []),
  lifecycle: await section('lifecycle', 'lifecycle.ts', ['--runs', values['stored-runs']!, '--reps', reps]),
  startup: await section('startup', 'startup.ts', [
    '--stored-runs', values['stored-runs']!, '--reps', reps,
    // As a service starts: without this VM's NODE_EXTRA_CA_CERTS, which Node parses before any of
    // our code runs (≈ 50 ms; docs/OPS.md). The table names the environment the figures had.
    '--no-extra-ca',
    ...(values['startup-dir'] ? ['--dir', values['startup-dir']] : []),
    ...(values.quick ? ['--settle', '0'] : []),
  ]),
};
const machine = {
  nproc: cpus().length,
  cpu: cpus()[0]?.model ?? 'unknown',
  memGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
  freeGiB: Math.round((freemem() / 2 ** 30) * 10) / 10,
  loadavg: loadavg().map((x) => Math.round(x * 100) / 100),
  node: process.version,
};
const doc = {
  command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
  startedUtc: started.toISOString(),
  durationSec: Math.round((Date.now() - started.getTime()) / 1000),
  machine,
  results,
};
const table = render(results, machine);
console.log(table);
mkdirSync(join(values.out!, '..'), { recursive: true });
writeFileSync(values.out!, JSON.stringify({ ...doc, table }, null, 2) + '\n');
console.log(`\nwritten: ${values.out} (${doc.durationSec} s)`);
