/**
 * The firing scheduler on a real in-process server whose clock a test moves (ManualClock):
 * `* * * * *` fires at each minute exactly on time, exactly once, with the fire's runToken;
 * schedule events in the stream's hash chain; the four overlap policies, each against a real
 * long-running run (a `sleep` step); paused schedules do not fire.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { verifyEventChain } from '../../src/events/index.js';
import { publish, waitForRun } from '../runs/helpers.js';
import { ManualClock } from './manual-clock.js';
import { createSchedule, eventsOf, eventually, runsOf } from './helpers.js';

const MIN = 60_000;
const T0 = Date.parse('2026-05-04T08:00:30Z');
const clock = new ManualClock(T0);
let t: TestServer;

before(async () => {
  t = await startTestServer(['--allow-unsigned', '--drain-timeout', '0'], {}, clock);
  await publish(t, { dagId: 'quick', steps: [{ id: 'a', plugin: 'noop' }] });
  await publish(t, { dagId: 'slow', steps: [{ id: 'nap', plugin: 'sleep', with: { ms: 600_000 } }] });
});
after(() => t.stop());

const schedule = async (id: string) => (await t.req('GET', `/schedules/${id}`)).body;
/** Moves the clock to the schedule's next fire and waits until the firer decided it. */
async function fireNext(id: string): Promise<any> {
  const before = await schedule(id);
  clock.set(Date.parse(before.nextFireUtc));
  return eventually(async () => {
    const s = await schedule(id);
    return s.nextFireUtc !== before.nextFireUtc && s;
  }, `${id} decides its fire at ${before.nextFireUtc}`);
}
const cancelAll = async (runs: any[]) => {
  for (const r of runs) await t.req('POST', `/runs/${r.runId}:cancel`, { body: {} });
};

test('* * * * * fires at each minute, on time, once, with runToken schedule:<id>:<fire UTC>', async () => {
  await createSchedule(t, { scheduleId: 'every', dagId: 'quick', cron: '* * * * *' });
  const fires: string[] = [];
  for (let i = 0; i < 3; i++) {
    const s = await fireNext('every');
    fires.push(s.lastFire.fireUtc);
    assert.equal(s.lastFire.status, 'started');
    assert.equal(Date.parse(s.nextFireUtc) - Date.parse(s.lastFire.fireUtc), MIN);
    await waitForRun(t, s.lastFire.runId); // (overlap skip: the next fire needs it ended)
  }
  assert.deepEqual(fires, ['2026-05-04T08:01:00.000Z', '2026-05-04T08:02:00.000Z', '2026-05-04T08:03:00.000Z']);
  const runs = await runsOf(t, 'every');
  assert.deepEqual(runs.map((r) => r.scheduledUtc), fires, 'one run per fire');
  for (const r of runs) {
    assert.equal(r.runToken, `schedule:every:${r.scheduledUtc}`);
    assert.equal(r.startedUtc, r.scheduledUtc, 'started at the fire instant (the clock did not move on)');
  }
  // The run's events carry scheduleId; schedule.fired is on the stream; the chain verifies.
  const events = await eventsOf(t);
  const ofRun = events.filter((e) => e.runId === runs[0].runId && e.type.startsWith('run.'));
  assert.ok(ofRun.length >= 2 && ofRun.every((e) => e.scheduleId === 'every'), JSON.stringify(ofRun));
  const fired = events.filter((e) => e.type === 'schedule.fired' && e.scheduleId === 'every');
  assert.deepEqual(fired.map((e) => [e.scheduledUtc, e.runId, e.status]), runs.map((r) => [r.scheduledUtc, r.runId, 'started']));
  assert.equal(verifyEventChain(events).ok, true, JSON.stringify(verifyEventChain(events).problems));
  await t.req('POST', '/schedules/every:pause', { body: {} });
  clock.advance(5 * MIN);
  assert.equal((await runsOf(t, 'every')).length, 3, 'a paused schedule does not fire');
  await t.req('DELETE', '/schedules/every');
});

test('overlap skip: a fire while the last run is active starts nothing and is recorded as skipped', async () => {
  await createSchedule(t, { scheduleId: 'ov-skip', dagId: 'slow', cron: '* * * * *' });
  await fireNext('ov-skip');
  const [first] = await runsOf(t, 'ov-skip');
  const s = await fireNext('ov-skip');
  assert.equal(s.lastFire.status, 'skipped');
  assert.equal(s.missed.count, 1);
  assert.deepEqual((await runsOf(t, 'ov-skip')).map((r) => r.runId), [first.runId]);
  const missed = (await eventsOf(t)).filter((e) => e.type === 'schedule.missed' && e.scheduleId === 'ov-skip');
  assert.deepEqual(missed.map((e) => [e.scheduledUtc, e.status, e.reason, e.runId]), [[s.lastFire.fireUtc, 'skipped', 'overlap', undefined]]);
  await cancelAll([first]);
  await waitForRun(t, first.runId);
  const next = await fireNext('ov-skip');
  assert.equal(next.lastFire.status, 'started', 'once the run ended, the next fire starts');
  await cancelAll(await runsOf(t, 'ov-skip'));
  await t.req('DELETE', '/schedules/ov-skip');
});

test('overlap buffer_one: one fire waits for the active run to end, a second is skipped', async () => {
  await createSchedule(t, { scheduleId: 'ov-buf', dagId: 'slow', cron: '* * * * *', overlap: 'buffer_one' });
  await fireNext('ov-buf');
  const [first] = await runsOf(t, 'ov-buf');
  const s2 = await fireNext('ov-buf');
  assert.equal(s2.lastFire.status, 'buffered');
  assert.equal(s2.bufferedFireUtc, s2.lastFire.fireUtc);
  const buffered = s2.bufferedFireUtc;
  const s3 = await fireNext('ov-buf');
  assert.equal(s3.missed.count, 1, 'the third fire found one waiting already');
  assert.equal(s3.bufferedFireUtc, buffered);
  assert.equal((await runsOf(t, 'ov-buf')).length, 1);
  await cancelAll([first]);
  const runs = await eventually(async () => {
    const rs = await runsOf(t, 'ov-buf');
    return rs.length === 2 && rs;
  }, 'the buffered fire starts when the run ends');
  assert.equal(runs[1].scheduledUtc, buffered);
  assert.equal(runs[1].runToken, `schedule:ov-buf:${buffered}`);
  assert.equal((await schedule('ov-buf')).bufferedFireUtc, undefined);
  await cancelAll(runs);
  await t.req('DELETE', '/schedules/ov-buf');
});

test('overlap allow_all: fires start runs while others are active', async () => {
  await createSchedule(t, { scheduleId: 'ov-all', dagId: 'slow', cron: '* * * * *', overlap: 'allow_all' });
  await fireNext('ov-all');
  await fireNext('ov-all');
  const runs = await runsOf(t, 'ov-all');
  assert.equal(runs.length, 2);
  for (const r of runs) await waitForRun(t, r.runId, { statuses: ['running'] });
  await cancelAll(runs);
  await t.req('DELETE', '/schedules/ov-all');
});

test('overlap cancel_other: the active run is cancelled, then the fire starts', async () => {
  await createSchedule(t, { scheduleId: 'ov-cancel', dagId: 'slow', cron: '* * * * *', overlap: 'cancel_other' });
  await fireNext('ov-cancel');
  const [first] = await runsOf(t, 'ov-cancel');
  await waitForRun(t, first.runId, { statuses: ['running'] });
  const s = await fireNext('ov-cancel');
  const ended = await waitForRun(t, first.runId);
  assert.equal(ended.status, 'cancelled');
  const runs = await eventually(async () => {
    const rs = await runsOf(t, 'ov-cancel');
    return rs.length === 2 && rs;
  }, 'the fire starts once the cancelled run ended');
  assert.equal(runs[1].scheduledUtc, s.lastFire.fireUtc);
  assert.ok(Date.parse(runs[1].startedUtc) >= Date.parse(ended.endedUtc));
  await cancelAll(runs);
  await t.req('DELETE', '/schedules/ov-cancel');
});

test('a fire the run service refuses (DAG disabled) is recorded as failed, with its error', async () => {
  await publish(t, { dagId: 'gone', steps: [{ id: 'a', plugin: 'noop' }] });
  await createSchedule(t, { scheduleId: 'refused', dagId: 'gone', cron: '* * * * *' });
  assert.equal((await t.req('POST', '/dags/gone/1.0.0:disable', { body: {} })).status, 200);
  const s = await fireNext('refused');
  assert.equal(s.lastFire.status, 'failed');
  assert.match(s.lastFire.error, /^DAG_DISABLED/);
  assert.equal(s.missed.count, 1);
  const ev = (await eventsOf(t)).find((e) => e.type === 'schedule.missed' && e.scheduleId === 'refused');
  assert.equal(ev.errorCode, 'DAG_DISABLED');
  await t.req('DELETE', '/schedules/refused');
});

test('a fire that could not be decided (an unexpected error) is decided when retried a second later', async () => {
  await createSchedule(t, { scheduleId: 'retried', dagId: 'quick', cron: '* * * * *' });
  const runs = t.server.deps.services.runs;
  const prepare = runs.prepare;
  let failures = 0;
  runs.prepare = async function (this: typeof runs, ...args: Parameters<typeof prepare>) {
    if (failures++ === 0) throw new Error('injected: the store hiccuped');
    return prepare.apply(this, args);
  } as typeof prepare;
  try {
    const before = await schedule('retried');
    clock.set(Date.parse(before.nextFireUtc));
    await eventually(async () => failures > 0, 'the first attempt at the fire');
    assert.equal((await schedule('retried')).nextFireUtc, before.nextFireUtc, 'undecided after the error');
    clock.advance(1000);
    const s = await eventually(async () => {
      const x = await schedule('retried');
      return x.nextFireUtc !== before.nextFireUtc && x;
    }, 'the retried fire is decided');
    assert.equal(s.lastFire.fireUtc, before.nextFireUtc);
    assert.equal(s.lastFire.status, 'started');
    await waitForRun(t, s.lastFire.runId);
  } finally {
    runs.prepare = prepare;
  }
  await t.req('DELETE', '/schedules/retried');
});

test("a client's runToken can never be a fire's: POST /runs with 'schedule:…' is 400 naming body.runToken, and the fire starts its own run", async () => {
  await createSchedule(t, { scheduleId: 'reserved', dagId: 'quick', cron: '* * * * *' });
  const next = (await schedule('reserved')).nextFireUtc;
  for (const runToken of [`schedule:reserved:${next}`, 'schedule:', 'schedule:anything']) {
    const r = await t.req('POST', '/runs', { body: { dagId: 'quick', runToken } });
    assert.equal(r.status, 400, `${runToken}: ${r.text}`);
    assert.equal(r.body.error.code, 'VALIDATION_FAILED');
    assert.equal(r.body.error.details.field, 'body.runToken');
  }
  // Only the exact prefix is reserved.
  const own = await t.req('POST', '/runs', { body: { dagId: 'quick', runToken: 'Schedule-nightly' } });
  assert.equal(own.status, 201, own.text);
  const s = await fireNext('reserved');
  assert.equal(s.lastFire.status, 'started');
  const runs = await runsOf(t, 'reserved');
  assert.deepEqual(runs.map((r) => [r.runToken, r.scheduledUtc]), [[`schedule:reserved:${next}`, next]]);
  await waitForRun(t, runs[0].runId);
  await t.req('DELETE', '/schedules/reserved');
});
