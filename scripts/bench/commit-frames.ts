/**
 * What the group commit writes, store level: the rows of no-op steps written through the SQLite
 * store's own statements in the shapes the engine's group commit gives them (SqlitePorts.write:
 * run updates, whole step rows, attempt upserts, events with their hash chain), one transaction
 * per commit, on a fresh data folder (WAL, synchronous=NORMAL). Per step: CPU of the commits
 * (process.cpuUsage) and WAL bytes; per commit: WAL frames, and over the last round the frames
 * by B-tree (the WAL's frame headers mapped to tables and indexes with `dbstat`). Frames are
 * deterministic (no load noise): compare schemas and write shapes with them, CPU only as a hint.
 *
 *   chain      40-step runs: a commit starts step 1, then each commit ends step i and starts i + 1
 *   sustained  20 runs of 50 steps at a time; each commit starts 25 steps, the next ends them
 *
 *   npx tsx scripts/bench/commit-frames.ts [--mode chain|sustained] [--rounds 40]
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { uuidv7 } from '../../src/core/ids.js';
import { Store, type AttemptRow, type NewEvent, type StepRow } from '../../src/store/index.js';
import { emit, fig } from './lib.js';

const { values } = parseArgs({ options: { mode: { type: 'string', default: 'chain' }, rounds: { type: 'string', default: '40' } } });
const MODE = values.mode === 'sustained' ? 'sustained' : 'chain';
const ROUNDS = Number(values.rounds);
const PAGE_FRAME = 24 + 4096;

const dir = mkdtempSync(join(tmpdir(), 'orch-bench-frames-'));
const store = Store.open({ dataDir: dir });
const db = store.db.sqlite;
db.pragma('wal_autocheckpoint = 0'); // the WAL is emptied between rounds, here
const HASH = 'ab'.repeat(32);
const TRACE = 'cd'.repeat(16);
let clock = Date.now();

interface Commit { steps: StepRow[]; attempts: AttemptRow[]; events: NewEvent[]; ended: string[] }
const blank = (): Commit => ({ steps: [], attempts: [], events: [], ended: [] });

function newRun(n: number): StepRow[] {
  const runId = uuidv7(++clock);
  const steps = Array.from({ length: n }, (_, i): StepRow => ({
    runId, stepId: `s${String(i).padStart(3, '0')}`, topoIndex: i, status: 'pending', attempt: 0, startedMs: null, endedMs: null,
    inputsHash: null, outputsHash: null, outputs: null, logsRef: null, errorCode: null, errorMessage: null, retryable: null, nextAttemptMs: null,
  }));
  store.tx(() => {
    store.runs.insertRun({ runId, tenant: 'demo', dagId: 'd', dagVersion: '1.0.0', dagHash: HASH, runToken: null, traceId: TRACE, status: 'running', inputs: '{}', inputsHash: HASH, outputsHash: null, createdMs: clock, startedMs: clock, endedMs: null, cancelReason: null });
    store.runs.insertSteps(runId, steps);
    store.events.appendMany([{ tenant: 'demo', type: 'run.started', dagId: 'd', runId, stepId: null, status: 'running', tsMs: clock, traceId: TRACE }]);
  });
  return steps;
}

function attempt(s: StepRow): AttemptRow {
  return { runId: s.runId, stepId: s.stepId, attempt: s.attempt, status: s.status, startedMs: s.startedMs!, endedMs: s.endedMs, errorCode: null, errorMessage: null, logsRef: null, outputsHash: s.outputsHash };
}

function change(s: StepRow, c: Commit, status: 'running' | 'completed'): void {
  if (status === 'running') Object.assign(s, { status, attempt: 1, startedMs: ++clock, inputsHash: HASH });
  else Object.assign(s, { status, endedMs: ++clock, outputsHash: HASH, outputs: '{}' });
  c.steps.push({ ...s });
  c.attempts.push(attempt(s));
  c.events.push({ tenant: 'demo', type: 'step.updated', dagId: 'd', runId: s.runId, stepId: s.stepId, status, tsMs: clock, traceId: TRACE });
}

let commits = 0;
function commit(c: Commit): void {
  store.tx(() => {
    for (const runId of c.ended) store.runs.updateRun(runId, 'completed', HASH, clock, null);
    if (c.steps.length > 0) store.runs.writeSteps(c.steps);
    if (c.attempts.length > 0) store.runs.writeAttempts(c.attempts);
    store.events.appendMany(c.events);
  });
  commits++;
}

/** One round's commits; the steps it ran. */
function round(): number {
  if (MODE === 'chain') {
    const steps = newRun(40);
    let c = blank();
    change(steps[0]!, c, 'running');
    commit(c);
    for (let i = 0; i < steps.length; i++) {
      c = blank();
      change(steps[i]!, c, 'completed');
      if (i + 1 < steps.length) change(steps[i + 1]!, c, 'running');
      else c.ended.push(steps[i]!.runId);
      commit(c);
    }
    return steps.length;
  }
  const all = Array.from({ length: 20 }, () => newRun(50)).flat();
  for (let i = 0; i < all.length; i += 25) {
    const wave = all.slice(i, i + 25);
    let c = blank();
    for (const s of wave) change(s, c, 'running');
    commit(c);
    c = blank();
    for (const s of wave) change(s, c, 'completed');
    commit(c);
  }
  commit({ ...blank(), ended: [...new Set(all.map((s) => s.runId))] });
  return all.length;
}

const walFile = join(dir, 'orchestrator.db-wal');
let steps = 0, cpuUs = 0, walBytes = 0;
let byTree: Record<string, number> = {};
for (let r = 0; r < ROUNDS; r++) {
  db.pragma('wal_checkpoint(TRUNCATE)');
  const c0 = process.cpuUsage();
  const before = commits;
  steps += round();
  const c = process.cpuUsage(c0);
  cpuUs += c.user + c.system;
  walBytes += statSync(walFile).size;
  if (r === ROUNDS - 1) byTree = framesByTree(commits - before);
}

/** Frames per commit of the WAL as it is, by the B-tree (table or index) each page belongs to. */
function framesByTree(n: number): Record<string, number> {
  const names = new Map((db.prepare('select pageno, name from dbstat').all() as Array<{ pageno: number; name: string }>).map((p) => [p.pageno, p.name]));
  const wal = readFileSync(walFile);
  const count: Record<string, number> = {};
  for (let off = 32; off + PAGE_FRAME <= wal.length; off += PAGE_FRAME) {
    const name = names.get(wal.readUInt32BE(off)) ?? 'free';
    count[name] = (count[name] ?? 0) + 1;
  }
  return Object.fromEntries(Object.entries(count).sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, Math.round((v / n) * 100) / 100]));
}

store.close();
rmSync(dir, { recursive: true, force: true });
const result = {
  mode: MODE,
  commitCpuUsPerStep: fig(cpuUs / steps, 'µs'),
  walBytesPerStep: fig(walBytes / steps, 'B'),
  walFramesPerCommit: fig(walBytes / PAGE_FRAME / commits, 'frames', { byTree, note: 'page 1 (header: page count, freelist) counts as sqlite_schema' }),
  steps,
  commits,
};
process.stderr.write(`${MODE}: ${result.commitCpuUsPerStep.value} µs of commit CPU per step, ${result.walFramesPerCommit.value} WAL frames per commit (${JSON.stringify(byTree)}), load ${result.commitCpuUsPerStep.load}\n`);
emit(result);
