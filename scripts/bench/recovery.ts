/**
 * Recovery: 100 runs in flight (each mid-step: `sleep` 5 s, one retry allowed), SIGKILL, restart
 * on the same data folder from source. Measured from the restart's spawn: `listening on`, ready
 * (start-up done: the dev token's line, printed after recovery), every run moving again (its
 * interrupted step dispatched again: its `running` event after the crash), and every run terminal. Event times come from the replayed NDJSON stream (`since=`
 * the last event seen before the kill), ms resolution.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { BINARY, emit, eventStream, fig, startChildServer, type ChildServer, type StreamEvent } from './lib.js';

const RUNS = 100;
/** Long enough that no run ends before the kill: starting 100 runs takes over a second here. */
const NAP_MS = 5000;
const dataDir = mkdtempSync(join(tmpdir(), 'orch-bench-recovery-'));
const a = await startChildServer(dataDir, ['--max-running-runs', '200', '--max-steps-per-tenant', '100', '--rate-limit', '100000']);
const r = await a.req('POST', '/dags', {
  dagId: 'nap', version: '1.0.0',
  steps: [{ id: 'nap', plugin: 'sleep', with: { ms: NAP_MS }, retries: { max: 1, backoffMs: 0 } }, { id: 'after', plugin: 'noop' }],
  edges: [{ from: 'nap', to: 'after' }],
});
if (r.status !== 201) throw new Error(`publish: ${r.status} ${JSON.stringify(r.body)}`);

/** The stream of `s` from `since` (the whole log when undefined). */
const stream = (s: ChildServer, since: number | undefined, on: (e: StreamEvent) => void) => eventStream(s, since === undefined ? '' : `since=${since}`, on);

let lastSeq = 0;
const running = new Set<string>();
const endedBeforeKill = new Set<string>();
let allRunning!: () => void;
const inFlight = new Promise<void>((resolve) => (allRunning = resolve));
const s1 = await stream(a, undefined, (e) => {
  lastSeq = Math.max(lastSeq, e.seq);
  if (e.type === 'step.updated' && e.stepId === 'nap' && e.status === 'running') running.add(e.runId);
  if (/^run\.(completed|failed|cancelled)$/.test(e.type)) endedBeforeKill.add(e.runId);
  if (running.size === RUNS) allRunning();
});
await new Promise((res) => setTimeout(res, 100));
const ids: string[] = [];
for (let i = 0; i < RUNS; i += 10) {
  const batch = await Promise.all(Array.from({ length: 10 }, () => a.req('POST', '/runs', { dagId: 'nap' })));
  for (const b of batch) {
    if (b.status !== 201) throw new Error(`start: ${b.status}`);
    ids.push(b.body.runId);
  }
}
await inFlight;
await new Promise((res) => setTimeout(res, 100)); // let the stream catch up to the last event
if (endedBeforeKill.size > 0) throw new Error(`recovery: ${endedBeforeKill.size} runs ended before the kill; they cannot be recovered (the ${NAP_MS} ms nap is too short for this machine)`);
a.proc.kill('SIGKILL');
await a.exited;
s1.abort();

const spawnAt = Date.now();
const b = await startChildServer(dataDir, ['--max-running-runs', '200', '--max-steps-per-tenant', '100', '--rate-limit', '100000'], 'binary');
// The dev token is printed once start-up is done (recovery included): that is ready, not listening.
const readyMs = Date.now() - spawnAt;
const listenMs = b.listenMs;
const moving = new Map<string, number>();
const terminal = new Map<string, number>();
let done!: () => void;
const allDone = new Promise<void>((resolve) => (done = resolve));
const s2 = await stream(b, lastSeq, (e) => {
  if (e.seq <= lastSeq) return;
  const t = Date.parse(e.timestamp) - spawnAt;
  if (e.type === 'step.updated' && e.stepId === 'nap' && e.status === 'running' && !moving.has(e.runId)) moving.set(e.runId, t);
  if (/^run\.(completed|failed|cancelled)$/.test(e.type)) terminal.set(e.runId, t);
  if (terminal.size === RUNS) done();
});
const timeout = setTimeout(done, 30_000);
await allDone;
clearTimeout(timeout);
s2.abort();
await b.stop('SIGTERM');
if (moving.size < RUNS || terminal.size < RUNS) throw new Error(`recovery: ${moving.size} moving, ${terminal.size} terminal of ${RUNS}`);
const movingMs = Math.max(...moving.values());
const movingAfterReadyMs = movingMs - readyMs;
emit({
  recovery: fig(movingMs, 'ms', {
    runs: RUNS, listenMs: Math.round(listenMs), readyMs, movingAfterListenMs: Math.round(movingMs - listenMs), movingAfterReadyMs, allTerminalMs: Math.max(...terminal.values()),
    restartedWith: existsSync(BINARY) ? 'dist/orchestrator' : 'source (tsx)',
    note: 'spawn → last interrupted step dispatched again (the sleep step takes 5 s)',
  }),
});
rmSync(dataDir, { recursive: true, force: true });
