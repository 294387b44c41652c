/**
 * Limits of this machine, measured the same way the engine runs: raw better-sqlite3 commits
 * (WAL, synchronous=NORMAL, one row per transaction, and 1,000 rows per transaction), a raw
 * worker_threads round trip (one message there and back, the other core idle), the isolation
 * path's round trip (a step message to a child process over the IPC channel with JSON
 * serialisation, as the plugin hosts' channel (host-protocol.ts), relayed to a worker thread there and back: what a step costs to reach a plugin
 * host and return, with nothing else done), and a bare
 * Hono route doing one SQLite read by primary key (child process, autocannon, 10 connections).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { ROOT, cannon, emit, fig, median, now, quantile, sleep } from './lib.js';

const dir = mkdtempSync(join(tmpdir(), 'orch-limits-'));

function sqliteCommits(): { perCommit: number; rowsBatched: number } {
  const db = new Database(join(dir, 'raw.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec('create table t (id integer primary key, run_id text, status text, ts integer, payload text)');
  const ins = db.prepare('insert into t (run_id, status, ts, payload) values (?, ?, ?, ?)');
  const one = db.transaction((i: number) => ins.run(`r${i}`, 'running', i, '{"a":1}'));
  const many = db.transaction((i: number) => {
    for (let k = 0; k < 1000; k++) ins.run(`r${i}-${k}`, 'running', i, '{"a":1}');
  });
  for (let i = 0; i < 2000; i++) one(i);
  const rates: number[] = [];
  for (let rep = 0; rep < 3; rep++) {
    let n = 0;
    const t0 = now();
    while (now() - t0 < 400) one(n++);
    rates.push((n / (now() - t0)) * 1000);
  }
  let rows = 0;
  const t1 = now();
  while (now() - t1 < 500) many(rows++);
  const rowsBatched = ((rows * 1000) / (now() - t1)) * 1000;
  db.close();
  return { perCommit: median(rates), rowsBatched };
}

async function workerRoundTrip(): Promise<{ p50: number; p99: number }> {
  const w = new Worker(`const { parentPort } = require('node:worker_threads'); parentPort.on('message', (m) => parentPort.postMessage(m));`, { eval: true });
  await new Promise((r) => w.once('online', r));
  const msg = { cmd: 1, taskId: 1, plugin: 'noop', inputs: {}, tenant: 't', runId: '0190-x', stepId: 's', attempt: 1 };
  const times: number[] = [];
  for (let i = 0; i < 3000; i++) {
    const t0 = now();
    await new Promise((r) => {
      w.once('message', r);
      w.postMessage(msg);
    });
    if (i >= 500) times.push((now() - t0) * 1000);
  }
  await w.terminate();
  return { p50: quantile(times, 0.5), p99: quantile(times, 0.99) };
}

/** Child process over IPC ('json' serialisation like the plugin hosts', one envelope each way) → its worker thread → back. */
async function hostRoundTrip(): Promise<{ p50: number; p99: number; parentCpuUs: number }> {
  const relay = `
    const { Worker } = require('node:worker_threads');
    const w = new Worker("require('node:worker_threads').parentPort.on('message', (m) => require('node:worker_threads').parentPort.postMessage(m))", { eval: true });
    w.on('message', (m) => process.send({ b: [m] }));
    w.once('online', () => process.send({ b: [] }));
    process.on('message', (env) => { for (const m of env.b) w.postMessage(m); });
    process.on('disconnect', () => process.exit(0));`;
  const child = spawn(process.execPath, ['-e', relay], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'json' });
  await new Promise((r) => child.once('message', r));
  const msg = { cmd: 3, w: 1, m: { cmd: 1, taskId: 1, plugin: { name: 'noop', version: '1.0.0', hash: 'x'.repeat(64) }, inputs: {}, tenant: 't', runId: '0190-x', stepId: 's', attempt: 1, timeoutMs: 60_000 } };
  const times: number[] = [];
  let cpu = process.cpuUsage();
  for (let i = 0; i < 3000; i++) {
    if (i === 500) cpu = process.cpuUsage();
    const t0 = now();
    await new Promise((r) => {
      child.once('message', r);
      child.send({ b: [msg] });
    });
    if (i >= 500) times.push((now() - t0) * 1000);
  }
  const used = process.cpuUsage(cpu);
  child.disconnect();
  return { p50: quantile(times, 0.5), p99: quantile(times, 0.99), parentCpuUs: (used.user + used.system) / 2500 };
}

async function bareHono(): Promise<{ rps: number; p50: number; p99: number }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'scripts/bench/bare-hono.ts', join(dir, 'hono.db')], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    proc.stdout!.setEncoding('utf8').on('data', (c: string) => {
      out += c;
      const m = /listening (http:\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    proc.once('exit', () => reject(new Error('bare hono exited')));
  });
  const ids = Array.from({ length: 1000 }, (_, i) => `/runs/${String((i * 97) % 100_000).padStart(8, '0')}`);
  await cannon(url, ids, {}, 1);
  const r = await cannon(url, ids, {}, 5);
  proc.kill('SIGTERM');
  await sleep(50);
  return r;
}

const sq = sqliteCommits();
const sqLoad = fig(sq.perCommit, 'commits/s', { rowsPerSecBatched1000: Math.round(sq.rowsBatched) });
const rt = await workerRoundTrip();
const rtFig = fig(rt.p50, 'µs', { p99: rt.p99 });
const host = await hostRoundTrip();
const hostFig = fig(host.p50, 'µs', { p99: host.p99, parentCpuUs: host.parentCpuUs });
const hono = await bareHono();
emit({
  sqliteCommits: sqLoad,
  workerRoundTripUs: rtFig,
  hostRoundTripUs: hostFig,
  bareHono: fig(hono.rps, 'req/s', { p50: hono.p50, p99: hono.p99 }),
});
rmSync(dir, { recursive: true, force: true });
