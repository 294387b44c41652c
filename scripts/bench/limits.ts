/**
 * Limits of this machine, measured the same way the engine runs: raw better-sqlite3 commits
 * (WAL, synchronous=NORMAL, one row per transaction, and 1,000 rows per transaction), a raw
 * worker_threads round trip (one message there and back, the other core idle), the isolation
 * path's round trip (a step message to a child process over the IPC channel with JSON
 * serialisation, as the plugin hosts' channel (host-protocol.ts), relayed to a worker thread there and back: what a step costs to reach a plugin
 * host and return, with nothing else done; and the same over a plain pipe, see {@link Channel}), and a bare
 * Hono route doing one SQLite read by primary key (child process, autocannon, 10 connections).
 */
import { mkdtempSync, rmSync, writeSync } from 'node:fs';
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

/**
 * How the server reaches a plugin host: `ipc` is Node's channel with 'json' serialisation
 * (`process.send`, what host-protocol.ts uses); `pipe` an extra stdio fd carrying
 * newline-delimited JSON, the envelope written with one `socket.write`; `pipe-sync` the same
 * written with one `fs.writeSync` on the fd (no stream machinery). The child relays each
 * envelope to a worker thread and back.
 */
type Channel = 'ipc' | 'pipe' | 'pipe-sync';
const CHANNELS: Channel[] = ['ipc', 'pipe', 'pipe-sync'];

/** Child process ('json' envelopes, one each way) → its worker thread → back, over `channel`. */
async function hostRoundTrip(channel: Channel): Promise<{ p50: number; p99: number; parentCpuUs: number }> {
  const relay = `
    const { Worker } = require('node:worker_threads');
    const w = new Worker("require('node:worker_threads').parentPort.on('message', (m) => require('node:worker_threads').parentPort.postMessage(m))", { eval: true });
    let send;
    if (process.send) {
      send = (env) => process.send(env);
      process.on('message', (env) => { for (const m of env.b) w.postMessage(m); });
      process.on('disconnect', () => process.exit(0));
    } else {
      const s = new (require('node:net').Socket)({ fd: 3, readable: true, writable: true });
      send = (env) => s.write(JSON.stringify(env) + '\\n');
      let buf = '';
      s.setEncoding('utf8').on('data', (c) => {
        buf += c;
        for (let i; (i = buf.indexOf('\\n')) >= 0; buf = buf.slice(i + 1)) for (const m of JSON.parse(buf.slice(0, i)).b) w.postMessage(m);
      });
      s.on('end', () => process.exit(0));
    }
    w.on('message', (m) => send({ b: [m] }));
    w.once('online', () => send({ b: [] }));`;
  const ipc = channel === 'ipc';
  const child = spawn(process.execPath, ['-e', relay], { stdio: ['ignore', 'inherit', 'inherit', ipc ? 'ipc' : 'pipe'], serialization: 'json' });
  const pipe = child.stdio[3] as import('node:net').Socket;
  const fd = ipc ? -1 : (pipe as unknown as { _handle: { fd: number } })._handle.fd;
  let onEnvelope: (env: unknown) => void = () => {};
  let send: (env: unknown) => void;
  if (ipc) {
    child.on('message', (env) => onEnvelope(env));
    send = (env) => child.send(env as object);
  } else {
    let buf = '';
    pipe.setEncoding('utf8').on('data', (c: string) => {
      buf += c;
      for (let i; (i = buf.indexOf('\n')) >= 0; buf = buf.slice(i + 1)) onEnvelope(JSON.parse(buf.slice(0, i)));
    });
    send = channel === 'pipe' ? (env) => pipe.write(`${JSON.stringify(env)}\n`) : (env) => writeSync(fd, `${JSON.stringify(env)}\n`);
  }
  const next = () => new Promise((r) => (onEnvelope = r));
  await next();
  const msg = { cmd: 3, w: 1, m: { cmd: 1, taskId: 1, plugin: { name: 'noop', version: '1.0.0', hash: 'x'.repeat(64) }, inputs: {}, tenant: 't', runId: '0190-x', stepId: 's', attempt: 1, timeoutMs: 60_000 } };
  const times: number[] = [];
  let cpu = process.cpuUsage();
  for (let i = 0; i < 3000; i++) {
    if (i === 500) cpu = process.cpuUsage();
    const t0 = now();
    const got = next();
    send({ b: [msg] });
    await got;
    if (i >= 500) times.push((now() - t0) * 1000);
  }
  const used = process.cpuUsage(cpu);
  if (ipc) child.disconnect();
  else pipe.end();
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
// The channels alternately, three rounds: medians of each.
const rounds = new Map<Channel, Array<{ p50: number; p99: number; parentCpuUs: number }>>(CHANNELS.map((c) => [c, []]));
for (let r = 0; r < 3; r++) for (const c of CHANNELS) rounds.get(c)!.push(await hostRoundTrip(c));
const med = (c: Channel, k: 'p50' | 'p99' | 'parentCpuUs') => median(rounds.get(c)!.map((x) => x[k]));
const host = { p50: med('ipc', 'p50'), p99: med('ipc', 'p99'), parentCpuUs: med('ipc', 'parentCpuUs') };
const hostFig = fig(host.p50, 'µs', {
  p99: host.p99,
  parentCpuUs: host.parentCpuUs,
  // The same round trip over a plain pipe (newline-delimited JSON): p50 µs and the server's CPU µs.
  pipe: { p50: med('pipe', 'p50'), parentCpuUs: med('pipe', 'parentCpuUs') },
  pipeSync: { p50: med('pipe-sync', 'p50'), parentCpuUs: med('pipe-sync', 'parentCpuUs') },
});
const hono = await bareHono();
emit({
  sqliteCommits: sqLoad,
  workerRoundTripUs: rtFig,
  hostRoundTripUs: hostFig,
  bareHono: fig(hono.rps, 'req/s', { p50: hono.p50, p99: hono.p99 }),
});
rmSync(dir, { recursive: true, force: true });
