/**
 * Exactly once across crashes, with the real server as a child process whose clock runs ahead
 * of the system clock (test/schedules/shifted-server.ts), so fire times come in seconds:
 * SIGKILL just before a fire and right after one, restart: each fire started exactly one run;
 * then a restart after several fires of downtime: the catch-up policy (latest) starts the
 * newest and records the others as missed.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startChild, type Child } from '../runs/child.js';

const ENTRY = join(import.meta.dirname, 'shifted-server.ts');
const MIN = 60_000;
const dataDir = mkdtempSync(join(tmpdir(), 'orch-sched-crash-'));
const children: Child[] = [];
after(() => {
  for (const c of children) if (c.proc.exitCode === null) c.proc.kill('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

async function start(offsetMs: number): Promise<Child> {
  const c = await startChild(dataDir, [], { entry: ENTRY, env: { TEST_CLOCK_OFFSET_MS: String(offsetMs) } });
  children.push(c);
  return c;
}
async function kill(c: Child): Promise<void> {
  c.proc.kill('SIGKILL');
  assert.equal((await c.exited).signal, 'SIGKILL');
}
async function until<T>(fn: () => Promise<T | undefined | false>, what: string, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const v = await fn();
    if (v) return v;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`${what}: not reached`);
}
let runsSeen: any[] = [];
const runsOf = async (c: Child) => {
  const r = await c.req('GET', '/runs?scheduleId=tick&page_size=500');
  assert.equal(r.status, 200);
  runsSeen = r.body.items as any[];
  return runsSeen;
};
const byFire = (runs: any[]) => {
  const m = new Map<string, number>();
  for (const r of runs) m.set(r.scheduledUtc, (m.get(r.scheduledUtc) ?? 0) + 1);
  return m;
};

test('SIGKILL around fire times, restarts, downtime: every fire started once, missed ones recorded', { timeout: 240_000 }, async () => {
  // The shifted clock reads hh:mm:50 now: the next minute is 10 s away.
  let offset = Math.ceil(Date.now() / MIN) * MIN + 50_000 - Date.now();
  const now = () => Date.now() + offset;
  const a = await start(offset);
  assert.equal((await a.req('POST', '/dags', { dagId: 'quick', version: '1.0.0', steps: [{ id: 'a', plugin: 'noop' }] })).status, 201);
  const created = await a.req('POST', '/schedules', { scheduleId: 'tick', dagId: 'quick', cron: '* * * * *', overlap: 'allow_all' });
  assert.equal(created.status, 201);
  const f1 = Date.parse(created.body.nextFireUtc);

  // 1. Killed 100 ms before the fire (whether it committed or not is up to the race).
  await new Promise((r) => setTimeout(r, Math.max(0, f1 - 100 - now())));
  await kill(a);
  // 2. Restarted 20 s later (the clock jumps): f1 is decided at start-up, once, as a late fire
  //    (a start-up slower than 40 s, seen under load, would make f2 due too: "latest" then starts f2 alone).
  offset += 20_000;
  const b = await start(offset);
  const f2 = f1 + MIN;
  await until(async () => byFire(await runsOf(b)).has(new Date(f1).toISOString()), 'f1 started after the restart').catch((e: Error) => {
    throw new Error(`${e.message}; runs: ${JSON.stringify([...byFire(runsSeen)])}; server output:\n${b.output().slice(-3000)}`);
  });
  // 3. Killed right after the next fire's run committed.
  await until(async () => byFire(await runsOf(b)).has(new Date(f2).toISOString()), 'f2 started', 2 * MIN);
  await kill(b);

  // 4. Down for five minutes: f3 … are due at the next start; latest (window PT1H) starts the newest.
  offset += 5 * MIN;
  const c = await start(offset);
  const s = await until(async () => {
    const r = await c.req('GET', '/schedules/tick');
    return r.body.lastFire && Date.parse(r.body.lastFire.fireUtc) > f2 && r.body;
  }, 'the downtime decided');
  const next = Date.parse(s.nextFireUtc);
  const newest = next - MIN;
  const dueCount = (newest - f2) / MIN;
  assert.ok(dueCount >= 5, `${dueCount} fires were due`);
  assert.equal(s.lastFire.fireUtc, new Date(newest).toISOString());
  assert.equal(s.lastFire.status, 'started');
  assert.equal(s.missed.count, dueCount - 1, 'all but the newest recorded as missed');

  const counts = byFire(await runsOf(c));
  assert.deepEqual([...counts.entries()].sort(), [
    [new Date(f1).toISOString(), 1],
    [new Date(f2).toISOString(), 1],
    [new Date(newest).toISOString(), 1],
  ], 'each started fire has exactly one run');
  const runs = await runsOf(c);
  for (const r of runs) assert.equal(r.runToken, `schedule:tick:${r.scheduledUtc}`);
});
