/**
 * Schedules on a real in-process server (all real parts; its clock is shifted so that a minute
 * boundary comes a few seconds after set-up):
 *  - start lag: 10,000 `* * * * *` schedules firing in the same minute; per run
 *    `startedUtc - scheduledUtc` (the commit time of its start), p50 / p99 / max;
 *  - idle CPU: process CPU time over an idle interval with 10,000 schedules whose next fire is
 *    a year away, against the same server with none (the firer sleeps on one timer: the two
 *    should be equal; each the lower of two windows, see idleCpuMs).
 *
 *   npx tsx scripts/bench/schedules.ts [--schedules 10000] [--idle-seconds 10]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseFlags } from '../../src/cli/args.js';
import { SERVE_FLAGS, serveConfig } from '../../src/cli/config.js';
import { createLogger, startServer, type RunningServer } from '../../src/cli/server.js';
import type { Ports } from '../../src/store/index.js';
import { IDLE_MS as CHECKPOINTER_IDLE_MS } from '../../src/store/checkpointer.js';
import { emit, fig, quantile, sleep } from './lib.js';

const { values } = parseArgs({ options: { schedules: { type: 'string', default: '10000' }, 'idle-seconds': { type: 'string', default: '10' } } });
const N = Number(values.schedules);
const IDLE_MS = Number(values['idle-seconds']) * 1000;
const MIN = 60_000;

interface Shifted {
  now(): number;
  /** null: the system clock plus `offset`; a number: the clock stands still there. */
  frozen: number | null;
  offset: number;
}
const shifted = (): Shifted => ({ frozen: null, offset: 0, now() { return this.frozen ?? Date.now() + this.offset; } });

async function server(clock: Shifted, dir = mkdtempSync(join(tmpdir(), 'orch-bench-sched-'))): Promise<{ s: RunningServer; dir: string }> {
  const { flags } = parseFlags(['--dev', '--port', '0', '--data-dir', dir, '--allow-unsigned', '--workers', '2', '--max-queued-runs', String(N * 2), '--rate-limit', '1000000'], SERVE_FLAGS, {});
  const s = await startServer(serveConfig(flags), createLogger('warn'), { clock });
  await s.deps.services.dags.publish('demo', { dagId: 'quick', version: '1.0.0', steps: [{ id: 'a', plugin: 'noop' }] } as never);
  return { s, dir };
}

async function createMany(s: RunningServer, cron: string): Promise<void> {
  const schedules = s.deps.services.schedules;
  const commit = <T>(fn: (tx: Ports) => Promise<T>): Promise<T> => s.ports.transaction(fn);
  for (let i = 0; i < N; i++) await schedules.create('demo', { doc: { scheduleId: `s${i}`, dagId: 'quick', cron, overlap: 'allow_all' } }, commit);
}

/**
 * Process CPU over IDLE_MS after `settleMs`: the lower of two consecutive windows, so that a
 * one-off piece of housekeeping (V8's memory reducer collecting the start-up's or the creates'
 * garbage: once seen as 33 ms/s over a whole window of the empty server, 35 s after its start)
 * does not pass for the steady cost. After the creates the settling must also outlast the WAL
 * checkpointer's thread, which retires only after IDLE_MS (30 s) without commits (measured:
 * ≈ 6–8 ms/s more for the first 20 s, then back to the empty server's figure).
 */
async function idleCpuMs(settleMs: number): Promise<number> {
  await sleep(settleMs);
  const windows: number[] = [];
  for (let i = 0; i < 2; i++) {
    const u0 = process.cpuUsage();
    await sleep(IDLE_MS);
    const u = process.cpuUsage(u0);
    windows.push((u.user + u.system) / 1000);
  }
  return Math.min(...windows);
}

// Idle CPU, without and with N schedules a year away.
const idle = await server(shifted());
const cpuEmpty = await idleCpuMs(3000);
await createMany(idle.s, '0 0 1 1 *');
const cpuArmed = await idleCpuMs(CHECKPOINTER_IDLE_MS + 5000);
const timers = (idle.s.deps.services.schedules.d.firer as unknown as { size: number }).size;
await idle.s.close();
rmSync(idle.dir, { recursive: true, force: true });

// Start lag. N schedules of '* * * * *' are created while the clock stands at hh:mm:01 (no fire
// during the creates, however long they take); then the server restarts with the clock at
// hh:mm:50 and running: the N fires of hh:mm+1:00 come due together 10 s later.
const MINUTE0 = Math.floor(Date.now() / MIN) * MIN;
const clock = shifted();
clock.frozen = MINUTE0 + 1000;
const lag = await server(clock);
const t0 = performance.now();
await createMany(lag.s, '* * * * *');
const createMs = performance.now() - t0;
await lag.s.close();
clock.frozen = null;
clock.offset = MINUTE0 + 50_000 - Date.now();
const again = await server(clock, lag.dir);
const fire = MINUTE0 + MIN;
const db = again.s.store!.db.sqlite;
const count = db.prepare('select count(*) from runs where scheduled_ms = ?').pluck();
const deadline = Date.now() + 5 * MIN;
while ((count.get(fire) as number) < N && Date.now() < deadline) await sleep(200);
const lags = (db.prepare('select started_ms - scheduled_ms from runs where scheduled_ms = ?').pluck().all(fire) as number[]).sort((a, b) => a - b);
await again.s.close();
rmSync(lag.dir, { recursive: true, force: true });

const result = {
  schedules: N,
  startLagP99: fig(quantile(lags, 0.99), 'ms', { p50: quantile(lags, 0.5), max: lags[lags.length - 1], started: lags.length, fireUtc: new Date(fire).toISOString(), createMs: Math.round(createMs), createUsPerSchedule: Math.round((createMs * 1000) / N) }),
  idleCpu: fig((cpuArmed / IDLE_MS) * 1000, `ms CPU per s idle with ${N} schedules`, { withoutSchedules: (cpuEmpty / IDLE_MS) * 1000, timers }),
};
console.log(`schedules: ${N} × '* * * * *' in one minute: start lag p50 ${result.startLagP99.extra!.p50} ms, p99 ${result.startLagP99.value} ms, max ${result.startLagP99.extra!.max} ms (${lags.length} runs started)`);
console.log(`schedules: idle CPU ${result.idleCpu.value} ms/s with ${N} armed (${timers} timers), ${result.idleCpu.extra!.withoutSchedules} ms/s with none`);
emit(result);
