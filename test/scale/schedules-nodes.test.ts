/**
 * Schedules fire exactly once across nodes (docs/SCALE-OUT.md, "Running several nodes"): two
 * servers on one PostgreSQL database, both running the firer, both moved by one clock past each
 * fire of a `* * * * *` schedule at once. Every fire makes one run (runToken
 * `schedule:<id>:<fire>` under the unique `(tenant, run_token)`) and one `schedule.fired` event;
 * the schedule's record of its last fire names that run; the event chain verifies.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { verifyEventChain } from '../../src/events/index.js';
import { testDatabase } from '../helpers/pg.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { publish, waitForRun } from '../runs/helpers.js';
import { ManualClock } from '../schedules/manual-clock.js';
import { createSchedule, eventsOf, eventually, runsOf } from '../schedules/helpers.js';

const T0 = Date.parse('2026-05-04T08:00:30Z');
const FIRES = 5;

test(`two nodes, one schedule, ${FIRES} fires decided by both at once: one run and one schedule.fired per fire`, { timeout: 300_000 }, async (ctx) => {
  const db = await testDatabase(ctx);
  if (!db) return;
  const clock = new ManualClock(T0);
  const nodes: TestServer[] = [];
  after(async () => {
    for (const n of nodes) await n.stop();
    await db.drop();
  });
  for (const id of ['sched-a', 'sched-b']) nodes.push(await startTestServer(['--allow-unsigned', '--drain-timeout', '0', '--store', db.url, '--node-id', id], {}, clock));
  const [a, b] = nodes as [TestServer, TestServer];
  await publish(a, { dagId: 'quick', steps: [{ id: 'x', plugin: 'noop' }] });
  await createSchedule(a, { scheduleId: 'both', dagId: 'quick', cron: '* * * * *' });
  const fires: string[] = [];
  for (let i = 0; i < FIRES; i++) {
    const before = (await b.req('GET', '/schedules/both')).body; // node B sees A's schedule
    clock.set(Date.parse(before.nextFireUtc)); // both firers wake for the same fire
    const s = await eventually(async () => {
      const now = (await a.req('GET', '/schedules/both')).body;
      return now.nextFireUtc !== before.nextFireUtc && now;
    }, `the fire at ${before.nextFireUtc} is decided`);
    assert.equal(s.lastFire.status, 'started', JSON.stringify(s.lastFire));
    fires.push(s.lastFire.fireUtc);
    await waitForRun(b, s.lastFire.runId); // the run, wherever it runs, ends (overlap skip needs it ended)
  }
  const runs = await runsOf(a, 'both');
  assert.deepEqual(runs.map((r) => r.scheduledUtc).sort(), [...fires].sort(), 'one run per fire, none twice');
  for (const r of runs) assert.equal(r.runToken, `schedule:both:${r.scheduledUtc}`);
  const events = await eventsOf(b);
  const fired = events.filter((e) => e.type === 'schedule.fired');
  assert.equal(fired.length, FIRES, `one schedule.fired per fire: ${fired.map((e) => e.timestamp).join(', ')}`);
  const chain = verifyEventChain(events);
  assert.equal(chain.ok, true, JSON.stringify(chain.problems));
});
