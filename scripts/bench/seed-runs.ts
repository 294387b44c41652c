/**
 * A data folder of N ended runs, for start-up and footprint figures (issue #20: start-up to
 * `listening` over 1,000,000 runs). One real run of a 3-step chain is made by a real server
 * (the built executable when there is one), then copied N − 1 times through the store's own
 * code in big transactions: per copy the run row, 3 steps, 3 attempts and its 8 events
 * (appended through the event log, so seq and the hash chain are real), each run a second
 * older than the next. Durability as the server's (WAL, synchronous=NORMAL).
 *
 *   npx tsx scripts/bench/seed-runs.ts --runs 1000000 --dir /tmp/orch-1m    # prints the folder's size
 *
 * A folder that already holds at least N runs (and was seeded by this script) is reused as is.
 * 1,000,000 runs: 8,000,000 events, 3,000,000 steps and attempts, ≈ 4 GB (BENCHMARKS.md).
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { Store, type EventRow, type NewEvent, type RunRow } from '../../src/store/index.js';
import { sleep, startChildServer } from './lib.js';

/** Runs per transaction (≈ 15 rows each). */
const BATCH = 5000;

export interface SeededFolder {
  dataDir: string;
  runs: number;
  events: number;
  bytes: number;
  seedMs: number;
  reused: boolean;
}

/** Bytes of every file under `dir`. */
export function folderBytes(dir: string): number {
  let n = 0;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const s = statSync(p);
    n += s.isDirectory() ? folderBytes(p) : s.size;
  }
  return n;
}

/** Rows of the folder (a bench may count with SQL; the store has no count of every run). */
function counts(dataDir: string): { runs: number; events: number } {
  const db = new Database(join(dataDir, 'orchestrator.db'), { readonly: true });
  try {
    const n = (t: string) => (db.prepare(`select count(*) as n from ${t}`).get() as { n: number }).n;
    return { runs: n('runs'), events: n('events') };
  } finally {
    db.close();
  }
}

/** A UUIDv7-shaped id for copy `n` started at `ms` (unique per n). */
function runIdOf(ms: number, n: number): string {
  const hex = ms.toString(16).padStart(12, '0');
  const tail = n.toString(16).padStart(15, '0');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-7${tail.slice(0, 3)}-${(8 + (n % 4)).toString(16)}${tail.slice(3, 6)}-${tail.slice(6, 15).padStart(12, '0')}`;
}

export async function seedRuns(dataDir: string, n: number, log: (m: string) => void = () => {}): Promise<SeededFolder> {
  const t0 = performance.now();
  if (existsSync(join(dataDir, 'orchestrator.db'))) {
    const c = counts(dataDir);
    if (c.runs >= n) return { dataDir, ...c, bytes: folderBytes(dataDir), seedMs: 0, reused: true };
    throw new Error(`${dataDir} holds ${c.runs} runs, fewer than ${n}: give an empty or absent folder`);
  }
  // 1. One real run of a 3-step chain, by a real server.
  const s = await startChildServer(dataDir, [], 'binary');
  try {
    const pub = await s.req('POST', '/dags', {
      dagId: 'seeded', version: '1.0.0',
      steps: [{ id: 'a', plugin: 'noop' }, { id: 'b', plugin: 'echo', with: { v: 1 } }, { id: 'c', plugin: 'noop' }],
      edges: [{ from: 'a', to: 'b' }, { from: 'b', to: 'c' }],
    });
    if (pub.status !== 201) throw new Error(`publish: ${pub.status} ${JSON.stringify(pub.body)}`);
    const run = (await s.req('POST', '/runs', { dagId: 'seeded' })).body as { runId: string };
    for (let i = 0; ; i++) {
      const r = await s.req('GET', `/runs/${run.runId}`);
      if (r.body.status === 'completed') break;
      if (r.body.status === 'failed' || r.body.status === 'cancelled' || i > 3000) {
        const steps = (await s.req('GET', `/runs/${run.runId}/steps`)).body as { items?: Array<{ stepId: string; status: string; errorCode: string | null; errorMessage: string | null }> };
        const why = (steps.items ?? []).filter((x) => x.errorCode).map((x) => `${x.stepId}: ${x.errorCode} ${x.errorMessage}`).join('; ');
        throw new Error(`the run to copy did not complete: ${r.body.status}${why ? ` (${why})` : ''}`);
      }
      await sleep(10);
    }
  } finally {
    await s.stop('SIGTERM');
  }
  // 2. N − 1 copies through the store's code.
  const store = Store.open({ dataDir });
  try {
    const [template] = store.runs.list({ tenant: 'demo', limit: 1 }) as RunRow[];
    if (!template) throw new Error('the template run is missing');
    const steps = store.runs.steps(template.runId);
    const attempts = store.runs.attemptsOfRun(template.runId);
    const events: EventRow[] = store.events.ofRun('demo', template.runId);
    const base = template.startedMs;
    for (let done = 1; done < n; ) {
      const upTo = Math.min(n, done + BATCH);
      store.tx(() => {
        const newEvents: NewEvent[] = [];
        const newAttempts = [];
        for (let k = done; k < upTo; k++) {
          const shift = -k * 1000;
          const at = (ms: number | null) => (ms === null ? null : ms + shift);
          const runId = runIdOf(base + shift, k);
          store.runs.insertRun({ ...template, runId, runToken: null, createdMs: template.createdMs + shift, startedMs: base + shift, endedMs: at(template.endedMs) });
          store.runs.insertSteps(runId, steps);
          store.runs.writeSteps(steps.map((st) => ({ ...st, runId, startedMs: at(st.startedMs), endedMs: at(st.endedMs) })));
          for (const a of attempts) newAttempts.push({ ...a, runId, startedMs: a.startedMs + shift, endedMs: at(a.endedMs) });
          for (const e of events) {
            const { seq: _s, prevHash: _p, hash: _h, ...rest } = e;
            newEvents.push({ ...rest, runId, tsMs: e.tsMs + shift });
          }
        }
        store.runs.writeAttempts(newAttempts);
        store.events.appendMany(newEvents);
      });
      done = upTo;
      if (done % 100_000 < BATCH) log(`seeded ${done} runs (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
    }
  } finally {
    store.close();
  }
  const c = counts(dataDir);
  return { dataDir, ...c, bytes: folderBytes(dataDir), seedMs: Math.round(performance.now() - t0), reused: false };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '1000000' }, dir: { type: 'string' } } });
  if (!values.dir) throw new Error('usage: seed-runs.ts --runs N --dir DIR');
  const r = await seedRuns(values.dir, Number(values.runs), (m) => process.stderr.write(m + '\n'));
  process.stdout.write(JSON.stringify({ ...r, mb: Math.round(r.bytes / 1048576) }) + '\n');
}
