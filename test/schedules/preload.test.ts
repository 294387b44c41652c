/**
 * Schedules preloaded from `--dags-dir DIR/<tenant>/*.schedule.json` at start-up, under the
 * signature rules of DAGs: a document signed by a trusted key is stored (and fires), an
 * unsigned one is refused without --allow-unsigned, an envelope of another payloadType (a DAG
 * signature) or over another payload is refused; the others still load. A changed file
 * replaces the stored schedule at the next start; an unchanged one leaves it as it is.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FIXTURES, startTestServer, type TestServer } from '../helpers/server.js';
import { signDag } from '../../src/dags/signature.js';
import { signSchedule } from '../../src/schedules/index.js';
import { ManualClock } from './manual-clock.js';

const key = readFileSync(join(FIXTURES, 'keys', 'dev-signing.key'), 'utf8');
const dir = mkdtempSync(join(tmpdir(), 'orch-sched-preload-'));
const servers: TestServer[] = [];
after(async () => {
  for (const s of servers) await s.server.close().catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
  if (servers[0]) rmSync(servers[0].dataDir, { recursive: true, force: true });
});

const write = (name: string, doc: unknown) => writeFileSync(join(dir, 'a', name), JSON.stringify(doc));

test('signed *.schedule.json files load at start-up; unsigned, mis-typed or altered ones are refused', async () => {
  mkdirSync(join(dir, 'a'));
  write('feeds.json', signDag({ dagId: 'feeds', version: '1.0.0', steps: [{ id: 'a', plugin: 'noop' }] }, key));
  // "a-…" sorts before "feeds.json": schedules load after the tenant's DAGs all the same.
  write('a-nightly.schedule.json', signSchedule({ scheduleId: 'nightly', dagId: 'feeds', cron: '30 2 * * *', timezone: 'Europe/Berlin' }, key));
  write('unsigned.schedule.json', { scheduleId: 'unsigned', dagId: 'feeds', cron: '@daily' });
  const dagEnvelope = signDag({ dagId: 'x', version: '1.0.0', steps: [{ id: 'a', plugin: 'noop' }] }, key).signature;
  write('mistyped.schedule.json', { scheduleId: 'mistyped', dagId: 'feeds', cron: '@daily', signature: dagEnvelope });
  const altered = signSchedule({ scheduleId: 'altered', dagId: 'feeds', cron: '@daily' }, key);
  write('altered.schedule.json', { ...altered, cron: '* * * * *' });
  const clock = new ManualClock(Date.parse('2026-03-28T12:00:00Z'));
  const t = await startTestServer(['--dags-dir', dir], {}, clock);
  servers.push(t);
  const list = await t.req('GET', '/schedules');
  assert.deepEqual(list.body.items.map((s: any) => s.scheduleId), ['nightly']);
  const s = list.body.items[0];
  assert.equal(s.nextFireUtc, '2026-03-29T01:00:00.000Z');
  assert.equal(s.signedBy.length, 1);
  await t.server.close();

  // Restart with the file changed: the stored schedule follows it; the others stay refused.
  write('a-nightly.schedule.json', signSchedule({ scheduleId: 'nightly', dagId: 'feeds', cron: '0 3 * * *', timezone: 'Europe/Berlin' }, key));
  const t2 = await startTestServer(['--dags-dir', dir], {}, clock, t.dataDir);
  servers.push(t2);
  const again = (await t2.req('GET', '/schedules/nightly')).body;
  assert.equal(again.cron, '0 3 * * *');
  assert.equal(again.createdUtc, s.createdUtc);
  assert.deepEqual((await t2.req('GET', '/schedules')).body.items.map((x: any) => x.scheduleId), ['nightly']);
});
