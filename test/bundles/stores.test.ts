/**
 * DAG publish, disable, export and bundle import on each store behind the ports: the embedded
 * SQLite store and the PostgreSQL store (a real database of the run's throwaway cluster). Two
 * publishes of one dagId@version at once (Promise.all: on PostgreSQL two transactions on two
 * connections) give one created version and the other a 200 (same content) or 409 (other
 * content), with one `dag.published` event; two disables give one `dag.disabled`. A bundle whose
 * schedule fails after its DAGs were published in the transaction leaves nothing: no version, no
 * event, no schedule, no plugin folder; the same bundle fixed goes in whole, with its events. Two
 * installs of one schedule at once: one creates it, the other finds it (or 409 for another document).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiError, systemClock } from '../../src/core/index.js';
import { DagService, dagExportRecords } from '../../src/dags/service.js';
import { signSchedule } from '../../src/schedules/signature.js';
import { installSchedule } from '../../src/schedules/install.js';
import { PlanCache } from '../../src/engine/index.js';
import { createBundle, importBundle } from '../../src/bundles/index.js';
import { reloadablePlugins } from '../../src/engine/plugins/plugins.js';
import type { EventRow, StorePorts } from '../../src/store/index.js';
import { KINDS, storeOf } from '../store/contract/stores.js';
import { dag, devKey, pluginFiles, TENANTS, trust } from './helpers.js';

function service(ports: StorePorts, announced: EventRow[] = []) {
  const dir = mkdtempSync(join(tmpdir(), 'orch-bundle-stores-'));
  const pluginsDir = join(dir, 'tenant-plugins');
  mkdirSync(join(dir, 'operator'));
  const registry = reloadablePlugins({ operator: [join(dir, 'operator')], tenantRoot: pluginsDir });
  const dags = new DagService({ ports, clock: systemClock, trust, allowUnsigned: false, resolvePlugin: registry.resolveFor, announce: (rows) => announced.push(...rows) });
  return { dags, pluginsDir, close: () => rmSync(dir, { recursive: true, force: true }) };
}

async function everything(ports: StorePorts, tenant: string) {
  return {
    versions: (await ports.catalog.listVersions({ tenant, limit: 100 })).map((r) => `${r.dagId}@${r.version}`),
    events: (await ports.events.since(tenant, 0, 100)).map((e) => `${e.type}:${e.scheduleId ?? e.dagId}`),
    schedules: (await ports.schedules.list({ tenant, limit: 100 })).map((r) => r.scheduleId),
  };
}

const isCode = (code: string) => (e: unknown) => e instanceof ApiError && e.code === code;

for (const kind of KINDS) {
  test(`${kind}: two publishes of one version at once: one created, the other the same (200) or refused (409); one event each time`, async (ctx) => {
    const ports = await storeOf(ctx, kind);
    if (!ports) return;
    const announced: EventRow[] = [];
    const s = service(ports, announced);
    try {
      const tenant = 'race-same';
      const same = await Promise.all([s.dags.publish(tenant, dag('etl')), s.dags.publish(tenant, dag('etl'))]);
      assert.deepEqual(same.map((r) => r.created).sort(), [false, true]);
      assert.equal(same[0]!.version.hash, same[1]!.version.hash);
      assert.deepEqual((await everything(ports, tenant)).events, ['dag.published:etl']);
      assert.deepEqual(announced.map((e) => `${e.tenant}:${e.type}`), ['race-same:dag.published'], 'announced once, after the commit');

      const t2 = 'race-other';
      const both = await Promise.allSettled([s.dags.publish(t2, dag('etl', '1.0.0', { description: 'one' })), s.dags.publish(t2, dag('etl', '1.0.0', { description: 'two' }))]);
      const won = both.filter((r) => r.status === 'fulfilled');
      const lost = both.filter((r) => r.status === 'rejected');
      assert.equal(won.length, 1);
      assert.equal(lost.length, 1);
      assert.ok(isCode('DAG_VERSION_EXISTS')((lost[0] as PromiseRejectedResult).reason), String((lost[0] as PromiseRejectedResult).reason));
      assert.equal((won[0] as PromiseFulfilledResult<{ created: boolean }>).value.created, true);
      assert.deepEqual(await everything(ports, t2), { versions: ['etl@1.0.0'], events: ['dag.published:etl'], schedules: [] });

      // Disable twice at once: one disables (and records it), the other finds it disabled.
      const off = await Promise.all([s.dags.disable(tenant, 'etl', '1.0.0'), s.dags.disable(tenant, 'etl', '1.0.0')]);
      assert.deepEqual(off.map((v) => v.active), [false, false]);
      assert.deepEqual((await everything(ports, tenant)).events, ['dag.published:etl', 'dag.disabled:etl']);
      await assert.rejects(s.dags.disable(tenant, 'ghost', '1.0.0'), isCode('NOT_FOUND'));
    } finally {
      s.close();
    }
  });

  test(`${kind}: the DAG export reads page by page through the ports, oldest first`, async (ctx) => {
    const ports = await storeOf(ctx, kind);
    if (!ports) return;
    const s = service(ports);
    try {
      const tenant = 'export';
      for (const [id, v] of [['b', '1.0.0'], ['a', '2.0.0'], ['a', '1.10.0'], ['a', '1.2.0'], ['c', '1.0.0']] as const) await s.dags.publish(tenant, dag(id, v));
      await s.dags.disable(tenant, 'a', '1.10.0');
      const ids = async (it: AsyncIterable<Record<string, unknown>>) => {
        const out: string[] = [];
        for await (const r of it) out.push(`${String(r.dagId)}@${String(r.version)}${r.active ? '' : '-'}`);
        return out;
      };
      const all = ['b@1.0.0', 'a@2.0.0', 'a@1.10.0-', 'a@1.2.0', 'c@1.0.0'];
      assert.deepEqual(await ids(dagExportRecords(ports.catalog, tenant, undefined, undefined, 2)), all, 'pages of 2');
      assert.deepEqual(await ids(s.dags.exportRecords(tenant)), all);
      assert.deepEqual(await ids(dagExportRecords(ports.catalog, tenant, 'a', true, 1)), ['a@2.0.0', 'a@1.2.0']);
    } finally {
      s.close();
    }
  });

  test(`${kind}: a bundle whose schedule fails after its DAGs were published installs nothing; fixed, it installs whole`, async (ctx) => {
    const ports = await storeOf(ctx, kind);
    if (!ports) return;
    const announced: EventRow[] = [];
    const s = service(ports, announced);
    try {
      const tenant = TENANTS[0]!;
      const bundle = (scheduleDag: string) => createBundle({
        tenants: TENANTS,
        dags: [dag('alpha'), dag('beta')],
        plugins: [{ name: 'greeter', files: pluginFiles('greeter') }],
        schedules: [signSchedule({ scheduleId: 'nightly', dagId: scheduleDag, cron: '30 2 * * *' }, devKey)],
        privateKeyPem: devKey,
      }).bytes;
      const before = await everything(ports, tenant);
      await assert.rejects(importBundle(bundle('ghost'), { tenant, dags: s.dags, tenantPluginsDir: s.pluginsDir }), (e: unknown) => isCode('DAG_INVALID')(e) && /schedules\/nightly\.json/.test((e as Error).message));
      assert.deepEqual(await everything(ports, tenant), before, 'nothing of the bundle is stored');
      assert.deepEqual(existsSync(join(s.pluginsDir, tenant)) ? readdirSync(join(s.pluginsDir, tenant)) : [], [], 'its plugin folder is removed');
      assert.equal(announced.length, 0, 'nothing announced');

      const r = await importBundle(bundle('alpha'), { tenant, dags: s.dags, tenantPluginsDir: s.pluginsDir });
      assert.equal(r.changed, true);
      assert.deepEqual(r.schedules, [{ scheduleId: 'nightly', created: true }]);
      const after = await everything(ports, tenant);
      assert.deepEqual(after, {
        versions: ['alpha@1.0.0', 'beta@1.0.0'],
        events: ['dag.published:alpha', 'dag.published:beta', 'schedule.created:nightly'],
        schedules: ['nightly'],
      });
      assert.deepEqual(announced.map((e) => e.seq), [1, 2, 3], 'its events are announced once committed');
      const again = await importBundle(bundle('alpha'), { tenant, dags: s.dags, tenantPluginsDir: s.pluginsDir });
      assert.equal(again.changed, false);
      assert.deepEqual(await everything(ports, tenant), after, 'a re-import changes nothing');
    } finally {
      s.close();
    }
  });

  test(`${kind}: two installs of one schedule at once: one created, the other unchanged, or 409 for another document`, async (ctx) => {
    const ports = await storeOf(ctx, kind);
    if (!ports) return;
    const s = service(ports);
    try {
      const tenant = 'sched-race';
      await s.dags.publish(tenant, dag('alpha'));
      const d = { clock: systemClock, plans: new PlanCache() };
      const install = (cron: string) => ports.transaction((tx) => installSchedule(d, tx, tenant, { doc: { scheduleId: 'n', dagId: 'alpha', cron } as never }));
      const same = await Promise.all([install('30 2 * * *'), install('30 2 * * *')]);
      assert.deepEqual(same.map((r) => r.created).sort(), [false, true]);
      const other = await Promise.allSettled([install('@hourly'), install('@hourly')]);
      assert.ok(other.every((r) => r.status === 'rejected' && isCode('SCHEDULE_EXISTS')(r.reason)));
      const t2 = 'sched-race-2';
      await s.dags.publish(t2, dag('alpha'));
      const two = await Promise.allSettled(['30 2 * * *', '@hourly'].map((cron) => ports.transaction((tx) => installSchedule(d, tx, t2, { doc: { scheduleId: 'n', dagId: 'alpha', cron } as never }))));
      assert.deepEqual(two.map((r) => r.status).sort(), ['fulfilled', 'rejected']);
      assert.ok(two.some((r) => r.status === 'rejected' && isCode('SCHEDULE_EXISTS')(r.reason)));
      assert.deepEqual((await everything(ports, t2)).events, ['dag.published:alpha', 'schedule.created:n']);
    } finally {
      s.close();
    }
  });
}
