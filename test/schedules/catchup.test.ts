/**
 * Downtime: a real in-process server stops, its clock moves on three hours (18 fires of a
 * 10-minute schedule), a new server starts on the same data folder. Each catch-up policy
 * decides: `latest` starts the newest fire of the window, `all` every fire of the window,
 * `none` nothing; every other fire is counted as missed, in `missed`, `lastFire` and one
 * `schedule.missed` event — none silently dropped. Also: on-time fires after a restart are
 * not catch-ups, and a schedule's `endUtc` bounds its fires.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { verifyEventChain } from '../../src/events/index.js';
import { publish } from '../runs/helpers.js';
import { ManualClock } from './manual-clock.js';
import { createSchedule, eventsOf, eventually, runsOf } from './helpers.js';

const MIN = 60_000;
const T0 = Date.parse('2026-07-01T12:00:10Z');
const servers: TestServer[] = [];
let dataDir = '';
after(async () => {
  for (const s of servers) await s.server.close().catch(() => undefined);
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

async function serve(clock: ManualClock): Promise<TestServer> {
  const t = await startTestServer(['--allow-unsigned', '--drain-timeout', '0'], {}, clock, dataDir || undefined);
  dataDir = t.dataDir;
  servers.push(t);
  return t;
}

test('after three hours down, latest / all / none decide the 18 missed fires; the rest are recorded as missed', async () => {
  const t1 = await serve(new ManualClock(T0));
  await publish(t1, { dagId: 'quick', steps: [{ id: 'a', plugin: 'noop' }] });
  const base = { dagId: 'quick', cron: '*/10 * * * *', overlap: 'allow_all' };
  await createSchedule(t1, { ...base, scheduleId: 'c-latest' });
  await createSchedule(t1, { ...base, scheduleId: 'c-all', catchup: { policy: 'all' } });
  await createSchedule(t1, { ...base, scheduleId: 'c-none', catchup: { policy: 'none', window: 'P1D' } });
  await createSchedule(t1, { ...base, scheduleId: 'c-ended', endUtc: '2026-07-01T12:30:00Z' });
  await t1.server.close();

  // Down from 12:00:10 to 15:00:10: fires 12:10 … 15:00 (18); the 1 h window holds 14:10 … 15:00 (6).
  const clock = new ManualClock(T0 + 180 * MIN);
  const t2 = await serve(clock);
  const sched = (id: string) => t2.req('GET', `/schedules/${id}`).then((r) => r.body);
  const decided = (id: string) => eventually(async () => {
    const s = await sched(id);
    return s.lastFire !== null && s;
  }, `${id} decided`);

  const latest = await decided('c-latest');
  assert.deepEqual((await runsOf(t2, 'c-latest')).map((r) => r.scheduledUtc), ['2026-07-01T15:00:00.000Z']);
  assert.equal(latest.missed.count, 17);
  assert.equal(latest.lastFire.status, 'started');
  assert.equal(latest.nextFireUtc, '2026-07-01T15:10:00.000Z');

  await decided('c-all');
  const all = await eventually(async () => {
    const runs = await runsOf(t2, 'c-all');
    return runs.length === 6 && runs;
  }, 'c-all starts the 6 fires of its window');
  assert.deepEqual(all.map((r) => r.scheduledUtc.slice(11, 16)), ['14:10', '14:20', '14:30', '14:40', '14:50', '15:00']);
  assert.equal((await sched('c-all')).missed.count, 12);

  const none = await decided('c-none');
  assert.deepEqual(await runsOf(t2, 'c-none'), []);
  assert.equal(none.missed.count, 18);
  assert.equal(none.missed.lastUtc, '2026-07-01T15:00:00.000Z');
  assert.deepEqual(none.lastFire, { fireUtc: '2026-07-01T15:00:00.000Z', status: 'missed' });

  const ended = await decided('c-ended');
  assert.deepEqual((await runsOf(t2, 'c-ended')).map((r) => r.scheduledUtc), [], 'its fires were outside the window');
  assert.equal(ended.missed.count, 3, '12:10, 12:20, 12:30: endUtc is inclusive');
  assert.equal(ended.nextFireUtc, null, 'it fires no more');

  const events = await eventsOf(t2);
  const missed = (id: string) => events.filter((e) => e.type === 'schedule.missed' && e.scheduleId === id).map((e) => [e.scheduledUtc, e.lastScheduledUtc, e.missedCount, e.reason]);
  assert.deepEqual(missed('c-latest'), [['2026-07-01T12:10:00.000Z', '2026-07-01T14:50:00.000Z', 17, 'downtime']]);
  assert.deepEqual(missed('c-none'), [['2026-07-01T12:10:00.000Z', '2026-07-01T15:00:00.000Z', 18, 'downtime']]);
  assert.equal(verifyEventChain(events).ok, true);

  // Back to normal: the next fire is an ordinary one.
  clock.set(Date.parse('2026-07-01T15:10:00Z'));
  await eventually(async () => (await runsOf(t2, 'c-none')).length === 1, 'c-none fires on time again');
  assert.equal((await sched('c-none')).missed.count, 18);
});
