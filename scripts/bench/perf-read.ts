/**
 * Where a read route's main-thread CPU goes, in native frames too (node's HTTP parser, the
 * kernel's writev, SQLite), which a V8 CPU profile does not show: starts the server (a bundled
 * `main.cjs` with `--perf-basic-prof`) over a data folder, drives `GET /runs/{id}` (1,000 ids in
 * turn) or the first page of `GET /runs` with autocannon (10 connections) and records the main
 * thread with `perf record -g` for 5 s after a 4 s warm-up (Debian: `apt-get install linux-perf`).
 *
 *   npx tsx scripts/bench/perf-read.ts --build dist/main.cjs --dir /tmp/orch-1m --only get --out /tmp/get.data
 *   perf report -i /tmp/get.data --children --sort symbol --stdio -g none
 *
 * For JS names in the report, build with `minifyIdentifiers: false` (bundle/build.mjs) first.
 */
import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import { API_BASE } from '../../src/core/paths.js';
import { cannon, spreadRunIds, startChildServer } from './lib.js';

const { values } = parseArgs({
  options: {
    build: { type: 'string', default: 'dist/main.cjs' },
    dir: { type: 'string' },
    only: { type: 'string', default: 'get' },
    out: { type: 'string', default: 'perf.data' },
  },
});
if (!values.dir) throw new Error('usage: perf-read.ts --dir DIR [--build main.cjs] [--only get|list] [--out perf.data]');
const s = await startChildServer(values.dir, ['--rate-limit', '1000000'], 'binary', values.build!, ['--perf-basic-prof']);
const paths = values.only === 'list' ? [`${API_BASE}/runs?page_size=50`] : spreadRunIds(values.dir).map((id) => `${API_BASE}/runs/${id}`);
const headers = { authorization: `Bearer ${s.token}`, 'x-stella-tenant': 'demo' };
try {
  await cannon(s.url, paths, headers, 4, 10);
  const perf = spawn('perf', ['record', '-g', '-F', '2000', '-t', String(s.proc.pid), '-o', values.out!, '--', 'sleep', '5'], { stdio: 'inherit' });
  const r = await cannon(s.url, paths, headers, 5, 10);
  await new Promise((res) => perf.once('exit', res));
  process.stdout.write(`${values.only}: ${r.rps} req/s, p50 ${r.p50} ms, p99 ${r.p99} ms while recorded; perf data in ${values.out}\n`);
} finally {
  await s.stop('SIGINT');
}
