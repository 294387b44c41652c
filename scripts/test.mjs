#!/usr/bin/env node
// Runs every *.test.ts under src/, test/ and plugins/ with the node test runner, one process per
// file, TEST_CONCURRENCY (default 4) files at a time. Usage: npm test [-- <path substring>...]
//
// - A path substring that matches no file is an error (exit 2): a typo never runs nothing, or
//   everything, and calls it a pass.
// - The whole suite (no filter) runs the strict type check too, beside the first files (it is one
//   process among the files, not a wait before them): its errors are printed at the end and fail
//   the run. test/bin/ (the single
//   executable's smoke test, which builds a 90 MB binary) runs only when named:
//   `npm run test:bin`, or `npm test -- test/bin`.
// - Per-test timeout: a file whose tests make no progress (no test starts or ends) for
//   TEST_TIMEOUT_MS (default 600000) is stopped and fails, naming the test that hung. Node 20's
//   own `--test-timeout` cannot do this: it bounds each file's whole run, not each test.
// - Tests that start the program as a child process run one esbuild bundle of it, built here
//   once per source content (scripts/test-bundle.mjs); TEST_CLI_FROM_SOURCE=1 runs the CLI
//   children from source with tsx instead.
// - The test files run from one esbuild build of them all (scripts/test-files.mjs), built here
//   once per content, not through tsx's loader hooks (seconds of CPU per file on Node 20);
//   TEST_FROM_SOURCE=1 runs them from source with `--import tsx`.
// - Longest files first: the wall time of a parallel run is bounded by the files that start last,
//   so the files start in the order of their last known duration, longest first (recorded by each
//   run in node_modules/.cache/stella-test-durations.json; a fresh clone starts from
//   scripts/test-durations.json, the figures of a whole run committed with the suite).
// - Both stores: the files under POSTGRES_DIRS (the API and engine tests) that start a test
//   server (startTestServer) run twice, on the embedded SQLite store and on PostgreSQL (`TEST_STORE=postgres`: test/helpers/server.ts starts
//   the test servers with `--store` on a fresh database of the run's throwaway cluster, and the
//   line names the file `<file> [postgres]`). A file that cannot hold on PostgreSQL says so, and
//   why, with a line `// @sqlite-only: <reason>` in its first 40 lines. TEST_STORES=sqlite (or
//   postgres) runs one pass only, while working.
// - Each file's output is printed whole when it ends, with its wall time and the CPU time of its
//   process tree (its servers and children included); at the end, the totals, every failed test,
//   the ten slowest files and the load average (the machine is shared: figures taken at a load
//   above the core count are not comparable).
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { spawn } from 'node:child_process';
import { testBundle } from './test-bundle.mjs';
import { testFiles } from './test-files.mjs';

const ROOT = join(import.meta.dirname, '..');
const EVENTS_REPORTER = join(import.meta.dirname, 'test-events.mjs');
const TIMEOUT_MS = Number(process.env.TEST_TIMEOUT_MS ?? 600_000);
const CONCURRENCY = Math.max(1, Number(process.env.TEST_CONCURRENCY ?? 4));

function walk(dir, out) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const filters = process.argv.slice(2);
const all = ['src', 'test', 'plugins']
  .flatMap((d) => {
    try {
      return walk(join(ROOT, d), []);
    } catch {
      return [];
    }
  })
  .map((f) => relative(ROOT, f))
  .sort();

const unmatched = filters.filter((x) => !all.some((f) => f.includes(x)));
if (unmatched.length > 0) {
  console.error(`no test file matches ${unmatched.map((x) => JSON.stringify(x)).join(', ')} (files are *.test.ts under src/, test/, plugins/)`);
  process.exit(2);
}
const files = filters.length > 0 ? all.filter((f) => filters.some((x) => f.includes(x))) : all.filter((f) => !f.startsWith('test/bin/'));

/** The test folders whose files run on both stores (the API and engine tests). */
const POSTGRES_DIRS = ['test/http/', 'test/runs/', 'test/dags/', 'test/events/', 'test/engine/', 'test/bundles/', 'test/schedules/'];
const STORES = (process.env.TEST_STORES ?? 'sqlite,postgres').split(',');
const fileText = (file) => readFileSync(join(ROOT, file), 'utf8');
/** The reason a file gives in its `// @sqlite-only: reason` line (first 40 lines), or null. */
function markedSqliteOnly(file) {
  const line = fileText(file).split('\n').slice(0, 40).find((l) => l.startsWith('// @sqlite-only:'));
  return line ? line.slice('// @sqlite-only:'.length).trim() : null;
}
/** Why a file stays on SQLite (its marked reason, or no test server), or null. */
function sqliteOnly(file) {
  return markedSqliteOnly(file) ?? (fileText(file).includes('startTestServer') ? null : 'starts no test server (its stores are its own)');
}
/** What runs: each file on SQLite, and the API and engine files again on PostgreSQL. */
const jobs = [
  ...(STORES.includes('sqlite') ? files : []),
  ...(STORES.includes('postgres') ? files.filter((f) => POSTGRES_DIRS.some((d) => f.startsWith(d)) && sqliteOnly(f) === null).map((f) => `${f} [postgres]`) : []),
];

/** The API and engine files kept on SQLite by their `// @sqlite-only:` line, with why: printed at the end, never silent. */
const keptOnSqlite = STORES.includes('postgres')
  ? files.filter((f) => POSTGRES_DIRS.some((d) => f.startsWith(d)) && markedSqliteOnly(f) !== null).map((f) => `${f}: ${markedSqliteOnly(f)}`)
  : [];

const DURATIONS_CACHE = join(ROOT, 'node_modules', '.cache', 'stella-test-durations.json');
const DURATIONS_COMMITTED = join(import.meta.dirname, 'test-durations.json');
/** Last known wall time (ms) of each file: this checkout's last runs, else the committed figures. */
function knownDurations() {
  const read = (p) => {
    try {
      return JSON.parse(readFileSync(p, 'utf8'));
    } catch {
      return {};
    }
  };
  return { ...read(DURATIONS_COMMITTED), ...read(DURATIONS_CACHE) };
}
const known = knownDurations();
// A file never timed (a new one) counts as a typical one: the median of the known durations.
const knownMs = jobs.map((f) => known[f]).filter((ms) => typeof ms === 'number').sort((a, b) => a - b);
const typicalMs = knownMs[Math.floor(knownMs.length / 2)] ?? 0;
const expected = (f) => known[f] ?? typicalMs;
jobs.sort((a, b) => expected(b) - expected(a) || a.localeCompare(b));

/** CPU seconds (user + system) of this process's children that have been waited for (Linux: /proc/self/stat). */
function childrenCpu() {
  try {
    const fields = readFileSync('/proc/self/stat', 'utf8').replace(/^.*\) /, '').split(' ');
    return (Number(fields[13]) + Number(fields[14])) / 100; // cutime, cstime (fields 16, 17), in USER_HZ = 100 ticks
  } catch {
    return NaN;
  }
}

// CPU time is counted from here: the type check's and the files'.
let cpuSeen = childrenCpu();
const cpuStart = cpuSeen;

// The whole suite runs the type check (strict TypeScript) beside the files; a filtered run skips it.
/** @type {Promise<{ ok: boolean, out: string, ms: number, cpu: number }> | undefined} */
const typeCheck =
  filters.length === 0
    ? new Promise((resolve) => {
        const t0 = Date.now();
        // Incremental: tsc keeps what it learned in node_modules/.cache and re-checks only what
        // changed since (a fresh clone checks everything, as before: ~33 s of CPU; unchanged, ~8 s).
        const tsc = spawn(
          process.execPath,
          ['node_modules/typescript/bin/tsc', '--noEmit', '--incremental', '--tsBuildInfoFile', 'node_modules/.cache/stella-tsc.tsbuildinfo'],
          { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
        );
        const out = [];
        tsc.stdout.on('data', (c) => out.push(c));
        tsc.stderr.on('data', (c) => out.push(c));
        tsc.on('close', (code) => {
          const cpuNow = childrenCpu();
          const cpu = cpuNow - cpuSeen;
          cpuSeen = cpuNow;
          resolve({ ok: code === 0, out: Buffer.concat(out).toString('utf8'), ms: Date.now() - t0, cpu });
        });
      })
    : undefined;

// The program bundle that tests run as a child process (scripts/test-bundle.mjs), built once here
// rather than by the first files at the same time; the files inherit its folder.
if (files.some((f) => f.startsWith('test/'))) process.env.STELLA_TEST_BUNDLE = await testBundle();

// Each file runs from the bundle of the test files (scripts/test-files.mjs), built once per
// content; TEST_FROM_SOURCE=1 runs them from source with tsx, as `node --import tsx --test <file>`.
const FROM_SOURCE = process.env.TEST_FROM_SOURCE === '1';
const bundled = FROM_SOURCE ? undefined : await testFiles();
if (bundled) process.env.STELLA_TEST_FILES = bundled;
/** The node arguments that load `file`: its bundle, else its source through tsx. */
const loadArgs = (file) => (bundled ? ['--enable-source-maps', join(bundled, file.replace(/\.ts$/, '.mjs'))] : ['--import', 'tsx', file]);

const totals = { tests: 0, pass: 0, fail: 0, skipped: 0, todo: 0 };
const failures = [];
const durations = [];
const running = new Set();
const eventsDir = mkdtempSync(join(tmpdir(), 'stella-test-events-'));
let fileNo = 0;

/** Reads what was appended to `path` since `offset`. */
function readFrom(path, offset) {
  let fd;
  try {
    fd = openSync(path, 'r');
  } catch {
    return '';
  }
  try {
    const chunks = [];
    const chunk = Buffer.alloc(65536);
    for (let n; (n = readSync(fd, chunk, 0, chunk.length, offset)) > 0; offset += n) chunks.push(Buffer.from(chunk.subarray(0, n)));
    return Buffer.concat(chunks).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/** Runs one file (`<file> [postgres]`: on PostgreSQL); resolves once it has exited and its output is printed. */
function runFile(file) {
  const onPg = file.endsWith(' [postgres]');
  const path = onPg ? file.slice(0, -' [postgres]'.length) : file;
  return new Promise((resolve) => {
    const t0 = Date.now();
    const eventsFile = join(eventsDir, `${fileNo++}.ndjson`);
    const child = spawn(
      process.execPath,
      [
        '--test-reporter=spec', '--test-reporter-destination=stdout',
        `--test-reporter=${EVENTS_REPORTER}`, `--test-reporter-destination=${eventsFile}`,
        ...loadArgs(path),
      ],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], detached: true, env: onPg ? { ...process.env, TEST_STORE: 'postgres' } : process.env },
    );
    running.add(child);
    const out = [];
    child.stdout.on('data', (c) => out.push(c));
    child.stderr.on('data', (c) => out.push(c));
    const open = []; // tests started and not ended, innermost last
    let lastProgress = Date.now();
    let timedOut;
    let read = 0;
    let buf = '';
    /** Takes in the events written since the last look (the reporter appends JSON lines). */
    const poll = () => {
      const text = readFrom(eventsFile, read);
      read += Buffer.byteLength(text);
      buf += text;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const e = JSON.parse(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
        lastProgress = Date.now();
        if (e.type === 'dequeue') open.push(e.name);
        else if (e.type === 'complete') open.splice(open.lastIndexOf(e.name), 1);
        else if ((e.type === 'pass' || e.type === 'fail') && !e.suite) {
          totals.tests++;
          if (e.type === 'fail') {
            totals.fail++;
            failures.push(`${file} › ${e.name}`);
          } else if (e.skip) totals.skipped++;
          else if (e.todo) totals.todo++;
          else totals.pass++;
        }
      }
    };
    const watchdog = setInterval(() => {
      poll();
      if (Date.now() - lastProgress < TIMEOUT_MS) return;
      timedOut = open.at(-1) ?? '(outside any test: module load, hooks or teardown)';
      try {
        process.kill(-child.pid, 'SIGKILL'); // the file's process group: its servers and children too
      } catch {
        /* already gone */
      }
    }, 1000);
    child.on('close', (code, signal) => {
      clearInterval(watchdog);
      poll();
      running.delete(child);
      const ms = Date.now() - t0;
      // The file's process has just been waited for: the growth of the children's CPU time is its
      // tree's (a grandchild counts once its parent waited for it, as the test files do).
      const cpuNow = childrenCpu();
      const cpu = cpuNow - cpuSeen;
      cpuSeen = cpuNow;
      durations.push({ file, ms, cpu });
      const ok = code === 0 && !timedOut;
      process.stdout.write(`\n${ok ? '✔' : '✖'} ${file} (${(ms / 1000).toFixed(1)} s, CPU ${cpu.toFixed(1)} s, load ${loadavg()[0].toFixed(1)})\n`);
      process.stdout.write(Buffer.concat(out));
      if (timedOut) {
        const why = `test timed out after ${TIMEOUT_MS / 1000} s without progress: ${timedOut}`;
        console.log(`✖ ${file}: ${why}`);
        failures.push(`${file} › ${why}`);
      } else if (!ok && !failures.some((f) => f.startsWith(`${file} › `))) {
        failures.push(`${file} › the file itself failed (exit ${code ?? signal}) outside any test`);
      }
      resolve(ok);
    });
  });
}

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    for (const c of running) {
      try {
        process.kill(-c.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    rmSync(eventsDir, { recursive: true, force: true });
    process.exit(130);
  });
}

const t0 = Date.now();
const loadStart = loadavg()[0];
const queue = [...jobs];
let allOk = true;
await Promise.all(
  Array.from({ length: Math.min(CONCURRENCY, queue.length) }, async () => {
    for (let f = queue.shift(); f !== undefined; f = queue.shift()) if (!(await runFile(f))) allOk = false;
  }),
);

if (typeCheck) {
  const tc = await typeCheck;
  process.stdout.write(`\n${tc.ok ? '✔' : '✖'} type check: tsc --noEmit --incremental (${(tc.ms / 1000).toFixed(1)} s, CPU ${tc.cpu.toFixed(1)} s)\n${tc.out}`);
  if (!tc.ok) {
    allOk = false;
    failures.push('tsc --noEmit › type check failed');
  }
}

const failedFiles = new Set(failures.map((f) => f.split(' › ')[0])).size;
console.log(
  `\n${jobs.length} files (${failedFiles} failed), ${totals.tests} tests: ${totals.pass} passed, ${totals.fail} failed, ` +
    `${totals.skipped} skipped, ${totals.todo} todo (${((Date.now() - t0) / 1000).toFixed(1)} s)`,
);
console.log(
  `CPU time of the files' process trees (and the type check): ${(childrenCpu() - cpuStart).toFixed(1)} s; load average (1 min) ${loadStart.toFixed(1)} at the start, ` +
    `${loadavg()[0].toFixed(1)} at the end, on ${availableParallelism()} cores`,
);
console.log('slowest files:');
for (const d of durations.sort((a, b) => b.ms - a.ms).slice(0, 10)) console.log(`  ${(d.ms / 1000).toFixed(1).padStart(7)} s  CPU ${d.cpu.toFixed(1).padStart(6)} s  ${d.file}`);
// This checkout's figures, for the next run's order (only a file that passed: a failure may have stopped it early).
try {
  const record = knownDurations();
  for (const d of durations) if (!failures.some((f) => f.startsWith(`${d.file} › `))) record[d.file] = d.ms;
  mkdirSync(dirname(DURATIONS_CACHE), { recursive: true });
  writeFileSync(DURATIONS_CACHE, `${JSON.stringify(record, null, 1)}\n`);
} catch {
  /* a read-only checkout: the order stays as it was */
}
if (keptOnSqlite.length > 0) {
  console.log('on SQLite only (no [postgres] pass):');
  for (const k of keptOnSqlite) console.log(`  ${k}`);
}
if (failures.length > 0) {
  console.log('failed:');
  for (const f of failures) console.log(`  ✖ ${f}`);
}
rmSync(eventsDir, { recursive: true, force: true });
process.exit(allOk ? 0 : 1);
