/**
 * The read routes' garbage, builds compared alternately (issue #20: the page's p99 was GC
 * pauses). Each build's server runs with `--trace-gc-nvp` over the data folder; after a warm-up,
 * autocannon (10 connections) reads `GET /runs/{id}` or a page of `GET /runs` and the server's
 * own GC lines are read: per request the bytes allocated and the bytes that survived a scavenge,
 * the scavenges and mark-compacts per 1,000 requests, and the pauses. Survivors are what a
 * scavenge costs and what fills the old generation (then a mark-compact): unlike req/s and p99,
 * these figures do not depend on the load of the machine.
 *
 *   npx tsx scripts/bench/read-gc.ts --dir DIR --build old=OLD/main.cjs --build new=dist/main.cjs --rounds 2
 */
import { parseArgs } from 'node:util';
import { API_BASE } from '../../src/core/paths.js';
import { cannon, load1, median, spreadRunIds, startChildServer } from './lib.js';

const { values } = parseArgs({
  options: {
    dir: { type: 'string' },
    build: { type: 'string', multiple: true, default: [] },
    rounds: { type: 'string', default: '2' },
    seconds: { type: 'string', default: '4' },
    only: { type: 'string' },
  },
});
if (!values.dir || values.build!.length === 0) throw new Error('usage: read-gc.ts --dir DIR --build name=main.cjs… (see the header)');
const dir = values.dir;
const builds = values.build!.map((b) => b.split('=') as [string, string]);

const ids = spreadRunIds(dir).map((id) => `${API_BASE}/runs/${id}`);
const targets = [
  { key: 'get', paths: ids },
  { key: 'list', paths: [`${API_BASE}/runs?page_size=50`] },
].filter((t) => !values.only || values.only === t.key);

interface Sample { allocB: number; survB: number; scav: number; mc: number; pauseMed: number; pauseMax: number; p99: number; load: number }
const results = new Map<string, Sample[]>();
const field = (line: string, k: string) => Number(new RegExp(` ${k}=([0-9.]+)`).exec(line)?.[1] ?? NaN);

for (let round = 0; round < Number(values.rounds); round++) {
  for (const [name, bin] of builds) {
    for (const t of targets) {
      const s = await startChildServer(dir, ['--rate-limit', '1000000'], 'binary', bin, ['--trace-gc-nvp']);
      let out = '';
      s.proc.stdout!.setEncoding('utf8').on('data', (c: string) => (out += c));
      const headers = { authorization: `Bearer ${s.token}`, 'x-stella-tenant': 'demo' };
      await cannon(s.url, t.paths, headers, 3, 10);
      out = '';
      const r = await cannon(s.url, t.paths, headers, Number(values.seconds), 10);
      const gcs = out.split('\n').filter((l) => l.includes(' pause='));
      await s.stop('SIGINT');
      const scav = gcs.filter((l) => l.includes(' gc=s '));
      const sum = (ls: string[], k: string) => ls.reduce((a, l) => a + field(l, k), 0);
      const pauses = gcs.map((l) => field(l, 'pause'));
      const sample: Sample = {
        allocB: sum(scav, 'allocated') / r.total,
        survB: sum(scav, 'new_space_survived') / r.total,
        scav: (scav.length * 1000) / r.total,
        mc: (gcs.filter((l) => l.includes(' gc=mc ')).length * 1000) / r.total,
        pauseMed: median(pauses),
        pauseMax: Math.max(0, ...pauses),
        p99: r.p99,
        load: load1(),
      };
      const key = `${t.key} ${name}`;
      results.set(key, [...(results.get(key) ?? []), sample]);
      process.stderr.write(`${key}: ${JSON.stringify(sample)}\n`);
    }
  }
}

process.stdout.write(`server --trace-gc-nvp, 10 connections, ${values.seconds} s after 3 s; medians of ${values.rounds} rounds\n`);
process.stdout.write('figure  build     alloc B/req  survived B/req  scavenges/1k req  mark-compacts/1k req  pause ms med / max  p99 ms  load1\n');
for (const [k, xs] of results) {
  const m = (f: (s: Sample) => number, d = 0) => median(xs.map(f)).toFixed(d);
  const [fig, build] = k.split(' ') as [string, string];
  process.stdout.write(
    `${fig.padEnd(7)} ${build.padEnd(9)} ${m((s) => s.allocB).padStart(11)} ${m((s) => s.survB).padStart(15)} ${m((s) => s.scav, 1).padStart(17)} ${m((s) => s.mc, 2).padStart(21)} ${`${m((s) => s.pauseMed, 1)} / ${m((s) => s.pauseMax, 1)}`.padStart(19)} ${m((s) => s.p99).padStart(7)} ${m((s) => s.load, 2).padStart(6)}\n`,
  );
}
