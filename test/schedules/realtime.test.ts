/**
 * One real minute boundary on the system clock (no test clock): a `* * * * *` schedule on a
 * real server starts its run for the next full minute. How late it starts is printed, not
 * asserted (speed belongs in `npm run bench`, which measures start lag under load).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { publish } from '../runs/helpers.js';
import { createSchedule, eventually, runsOf } from './helpers.js';

let t: TestServer | undefined;
after(() => t?.stop());

test('on the system clock, * * * * * starts a run for the next minute', { timeout: 120_000 }, async () => {
  t = await startTestServer(['--allow-unsigned', '--drain-timeout', '0']);
  await publish(t, { dagId: 'quick', steps: [{ id: 'a', plugin: 'noop' }] });
  const s = await createSchedule(t, { scheduleId: 'minutely', dagId: 'quick', cron: '* * * * *' });
  const fire = s.nextFireUtc as string;
  assert.equal(Date.parse(fire) % 60_000, 0);
  assert.ok(Date.parse(fire) - Date.now() <= 60_000);
  const [run] = await eventually(async () => {
    const runs = await runsOf(t!, 'minutely');
    return runs.length > 0 && runs;
  }, 'the run of the next minute', 90_000);
  assert.equal(run.scheduledUtc, fire);
  assert.equal(run.runToken, `schedule:minutely:${fire}`);
  assert.ok(Date.parse(run.startedUtc) >= Date.parse(fire), 'never before the fire time');
  console.log(`real minute boundary: fired ${Date.parse(run.startedUtc) - Date.parse(fire)} ms after ${fire}`);
});
