#!/usr/bin/env node
// Runs every *.test.ts under src/, test/ and plugins/ with the node test runner, one process per
// file, TEST_CONCURRENCY (default 4) files at a time. Usage: npm test [-- <path substring>...]
//
// - A path substring that matches no file is an error (exit 2): a typo never runs nothing, or
//   everything, and calls it a pass.
// - The whole suite (no filter) starts with the strict type check. test/bin/ (the single
//   executable's smoke test, which builds a 90 MB binary) runs only when named:
//   `npm run test:bin`, or `npm test -- test/bin`.
// - Per-test timeout: a file whose tests make no progress (no test starts or ends) for
//   TEST_TIMEOUT_MS (default 600000) is stopped and fails, naming the test that hung. Node 20's
//   own `--test-timeout` cannot do this: it bounds each file's whole run, not each test.
// - Tests that start the program as a child process run one esbuild bundle of it, built here
//   once per source content (scripts/test-bundle.mjs); TEST_CLI_FROM_SOURCE=1 runs the CLI
//   children from source with tsx instead.
// - Each file's output is printed whole when it ends; at the end, the totals, every failed test
//   and the ten slowest files.
import { closeSync, mkdtempSync, openSync, readSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { testBundle } from './test-bundle.mjs';

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

// The whole suite starts with the type check (strict TypeScript); a filtered run skips it.
if (filters.length === 0) {
  const tsc = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '--noEmit'], { cwd: ROOT, stdio: 'inherit' });
  if (tsc.status !== 0) {
    console.error('type check failed');
    process.exit(1);
  }
}

// The program bundle that tests run as a child process (scripts/test-bundle.mjs), built once here
// rather than by the first files at the same time; the files inherit its folder.
if (files.some((f) => f.startsWith('test/'))) process.env.STELLA_TEST_BUNDLE = await testBundle();

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

/** Runs one file; resolves once it has exited and its output is printed. */
function runFile(file) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const eventsFile = join(eventsDir, `${fileNo++}.ndjson`);
    const child = spawn(
      process.execPath,
      [
        '--import', 'tsx',
        '--test-reporter=spec', '--test-reporter-destination=stdout',
        `--test-reporter=${EVENTS_REPORTER}`, `--test-reporter-destination=${eventsFile}`,
        file,
      ],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], detached: true },
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
      durations.push({ file, ms });
      const ok = code === 0 && !timedOut;
      process.stdout.write(`\n${ok ? '✔' : '✖'} ${file} (${(ms / 1000).toFixed(1)} s)\n`);
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
const queue = [...files];
let allOk = true;
await Promise.all(
  Array.from({ length: Math.min(CONCURRENCY, queue.length) }, async () => {
    for (let f = queue.shift(); f !== undefined; f = queue.shift()) if (!(await runFile(f))) allOk = false;
  }),
);

const failedFiles = new Set(failures.map((f) => f.split(' › ')[0])).size;
console.log(
  `\n${files.length} files (${failedFiles} failed), ${totals.tests} tests: ${totals.pass} passed, ${totals.fail} failed, ` +
    `${totals.skipped} skipped, ${totals.todo} todo (${((Date.now() - t0) / 1000).toFixed(1)} s)`,
);
console.log('slowest files:');
for (const d of durations.sort((a, b) => b.ms - a.ms).slice(0, 10)) console.log(`  ${(d.ms / 1000).toFixed(1).padStart(7)} s  ${d.file}`);
if (failures.length > 0) {
  console.log('failed:');
  for (const f of failures) console.log(`  ✖ ${f}`);
}
rmSync(eventsDir, { recursive: true, force: true });
process.exit(allOk ? 0 : 1);
