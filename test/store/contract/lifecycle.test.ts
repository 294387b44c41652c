/**
 * Store contract: the lifecycle ports — schedules (CRUD, armed, the firer's compare-and-set),
 * retention (policies, the choice and deletion of prunable runs, the event log's pruned prefix
 * and checkpoint), artifact GC's candidates, run import, ops' cross-tenant reads and
 * maintenance — behave the same on the SQLite and the PostgreSQL store; the same inputs give
 * the same answers, compared at the end.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MaintenanceUnsupported, type AttemptRow, type RunRow, type ScheduleRow, type StepRow, type StorePorts } from '../../../src/store/index.js';
import { KINDS, storeOf, type Kind } from './stores.js';

const transcripts = new Map<Kind, unknown[]>();
const logOf = (kind: Kind): unknown[] => {
  let l = transcripts.get(kind);
  if (!l) transcripts.set(kind, (l = []));
  return l;
};

function schedule(tenant: string, id: string, over: Partial<ScheduleRow> = {}): ScheduleRow {
  return {
    tenant, scheduleId: id, dagId: 'etl', spec: `{"scheduleId":"${id}"}`, specHash: 's'.repeat(64), signature: null, signedBy: '[]', paused: 0,
    createdMs: 10, updatedMs: 10, createdBy: 'alice', updatedBy: 'alice', nextFireMs: 1000, bufferedFireMs: null, lastFireMs: null,
    lastFireStatus: null, lastFireRunId: null, lastFireError: null, missedCount: 0, missedLastMs: null, ...over,
  };
}

function run(tenant: string, id: string, over: Partial<RunRow> = {}): RunRow {
  return {
    runId: id, tenant, dagId: 'etl', dagVersion: '1.0.0', dagHash: 'h'.repeat(64), runToken: null, traceId: '0'.repeat(32), status: 'queued',
    inputs: '{}', inputsHash: 'i'.repeat(64), outputsHash: null, createdMs: 100, startedMs: 100, endedMs: null, cancelReason: null,
    scheduleId: null, scheduledMs: null, createdBy: null, cancelledBy: null, ...over,
  };
}

const ended = (runId: string, status: string, endedMs: number) => ({ runId, status, outputsHash: null, endedMs, cancelReason: null, cancelledBy: null });

const step = (runId: string, stepId: string, topoIndex: number, over: Partial<StepRow> = {}): StepRow => ({
  runId, stepId, topoIndex, status: 'completed', attempt: 1, startedMs: 100, endedMs: 200, inputsHash: 'x'.repeat(64), outputsHash: null,
  outputs: '{"n":1}', logsRef: null, errorCode: null, errorMessage: null, retryable: null, nextAttemptMs: null, ...over,
});

const attempt = (runId: string, stepId: string, n: number): AttemptRow => ({
  runId, stepId, attempt: n, status: 'completed', startedMs: 100 + n, endedMs: 200, errorCode: null, errorMessage: null, logsRef: null, outputsHash: null,
});

/** Runs `n` runs of a DAG, started 1 ms apart from `t0`; those listed in `end` are ended at 500 + their index. */
async function seedRuns(s: StorePorts, tenant: string, dagId: string, n: number, t0: number, end: (i: number) => string | null): Promise<string[]> {
  const ids = Array.from({ length: n }, (_, i) => `r-${tenant}-${dagId}-${String(i).padStart(3, '0')}`);
  await s.transaction(async (tx) => {
    for (const [i, id] of ids.entries()) await tx.runs.createRun(run(tenant, id, { dagId, startedMs: t0 + i, createdMs: t0 + i }), [{ stepId: 'a', topoIndex: 0 }]);
  });
  const updates = ids.flatMap((id, i) => (end(i) ? [ended(id, end(i)!, 500 + i)] : []));
  await s.commitBatch({ runs: updates, steps: [], attempts: [], artifacts: [], refs: [], events: [] });
  return ids;
}

for (const kind of KINDS) {
  test(`${kind}: schedules: CRUD, pages, armed, the firer's compare-and-set and the schedule's active runs`, async (ctx) => {
    const s = await storeOf(ctx, kind);
    if (!s) return;
    const log = logOf(kind);
    const t = 'sch';
    await s.transaction(async (tx) => {
      for (const id of ['b', 'a', 'c', 'Z']) await tx.schedules.insert(schedule(t, id, id === 'c' ? { paused: 1, nextFireMs: null } : {}));
      await tx.schedules.insert(schedule('sch2', 'a', { dagId: 'other' }));
    });
    assert.equal(await s.transaction((tx) => tx.schedules.insert(schedule(t, 'a', { dagId: 'changed' }))), false, 'an id that exists: nothing written');
    assert.equal((await s.schedules.get(t, 'a'))?.dagId, 'etl');
    const race = await Promise.all(['x', 'y'].map((dagId) => s.transaction(async (tx) => {
      const ok = await tx.schedules.insert(schedule(t, 'race', { dagId }));
      return { ok, dagId: (await tx.schedules.get(t, 'race'))?.dagId };
    })));
    assert.deepEqual(race.map((r) => r.ok).sort(), [false, true], 'two inserts of one id at once: one inserts');
    assert.equal(race[0]!.dagId, race[1]!.dagId, 'both read the one stored row');
    await s.transaction((tx) => tx.schedules.delete(t, 'race'));
    log.push(await s.schedules.get(t, 'a'), await s.schedules.get(t, 'missing') ?? null);
    const pageIds = async (f: { paused?: boolean; dagId?: string; limit: number }) => {
      const out: string[][] = [];
      let after: string | undefined;
      for (;;) {
        const p = await s.schedules.list({ tenant: t, ...f, after });
        if (p.length === 0) return out;
        out.push(p.map((r) => r.scheduleId));
        after = p[p.length - 1]!.scheduleId;
      }
    };
    assert.deepEqual(await pageIds({ limit: 3 }), [['Z', 'a', 'b'], ['c']], 'byte order: upper case first');
    assert.deepEqual(await pageIds({ limit: Infinity }), [['Z', 'a', 'b', 'c']]);
    assert.deepEqual(await pageIds({ limit: 10, paused: true }), [['c']]);
    assert.deepEqual(await pageIds({ limit: 10, dagId: 'other' }), []);

    // The firer's compare-and-set: the first decision of fire 1000 wins, a second finds nothing.
    const state = { nextFireMs: 2000, bufferedFireMs: null, lastFireMs: 1000, lastFireStatus: 'started', lastFireRunId: 'r1', lastFireError: null, missedAdd: 2, missedLastMs: 900 };
    assert.equal(await s.transaction((tx) => tx.schedules.recordFire(t, 'a', { nextFireMs: 1000, bufferedFireMs: null }, state)), true);
    assert.equal(await s.transaction((tx) => tx.schedules.recordFire(t, 'a', { nextFireMs: 1000, bufferedFireMs: null }, state)), false, 'decided once');
    assert.equal(await s.schedules.recordFire(t, 'b', { nextFireMs: 1000, bufferedFireMs: 5 }, state), false, 'the buffered fire must match too');
    assert.equal(await s.schedules.recordFire(t, 'b', { nextFireMs: 1000, bufferedFireMs: null }, { ...state, bufferedFireMs: 1500, missedLastMs: null }), true);
    log.push(await s.schedules.get(t, 'a'), await s.schedules.get(t, 'b'));
    assert.equal((await s.schedules.get(t, 'a'))?.missedCount, 2);
    assert.equal((await s.schedules.get(t, 'b'))?.missedLastMs, null, 'a null missedLastMs keeps the old one');
    assert.equal(await s.schedules.takeBuffered(t, 'b', 1499, 'started', 'r2', null), false, 'another buffered fire');
    assert.equal(await s.schedules.takeBuffered(t, 'b', 1500, 'started', 'r2', null), true);
    assert.equal(await s.schedules.takeBuffered(t, 'b', 1500, 'started', 'r2', null), false, 'taken once');
    log.push(await s.schedules.get(t, 'b'));

    await s.schedules.replace({ ...schedule(t, 'b', { spec: '{"v":2}', specHash: 'q'.repeat(64), updatedMs: 50, updatedBy: 'bob', nextFireMs: 3000 }) });
    await s.schedules.setPaused(t, 'Z', true, null, 60, 'carol');
    await s.schedules.setPaused(t, 'c', false, 4000, 61, null);
    log.push(await s.schedules.get(t, 'b'), await s.schedules.get(t, 'Z'), await s.schedules.get(t, 'c'));
    assert.equal(await s.schedules.delete(t, 'a'), true);
    assert.equal(await s.schedules.delete(t, 'a'), false);
    const armed = (await s.schedules.armed()).filter((r) => r.tenant.startsWith('sch')).map((r) => `${r.tenant}/${r.scheduleId}`).sort();
    assert.deepEqual(armed, ['sch/b', 'sch/c', 'sch2/a'], 'paused ones and those with nothing to wait for are not armed');
    log.push(armed);

    // Active runs of a schedule: not ended, not imported, by run id.
    await s.transaction(async (tx) => {
      for (const id of ['s-3', 's-1', 's-2', 's-4']) await tx.runs.createRun(run(t, id, { scheduleId: 'b', scheduledMs: 1000 }), []);
      await tx.runs.createRun(run(t, 's-0'), []);
    });
    await s.commitBatch({ runs: [ended('s-2', 'completed', 700)], steps: [], attempts: [], artifacts: [], refs: [], events: [] });
    await s.transaction((tx) => tx.transfer.insertImported(run(t, 's-5', { scheduleId: 'b', scheduledMs: 1, status: 'running' }), [], []));
    assert.deepEqual(await s.schedules.activeRuns(t, 'b'), ['s-1', 's-3', 's-4']);
    assert.deepEqual(await s.schedules.activeRuns('sch2', 'b'), [], 'per tenant');
  });

  test(`${kind}: a savepoint rolls back only its own writes (events included) and the transaction goes on`, async (ctx) => {
    const s = await storeOf(ctx, kind);
    if (!s) return;
    const t = 'svp';
    const ev = (i: number) => ({ tenant: t, type: 'schedule.fired' as const, dagId: 'd', runId: `r${i}`, stepId: null, status: 'started', tsMs: i, traceId: 'f'.repeat(32) });
    await assert.rejects(s.savepoint(async () => undefined), /not inside a transaction/);
    const seqs = await s.transaction(async (tx) => {
      await tx.schedules.insert(schedule(t, 'a'));
      const first = await tx.events.append([ev(1)]);
      await assert.rejects(tx.savepoint(async () => {
        await tx.schedules.insert(schedule(t, 'b'));
        await tx.events.append([ev(2)]);
        throw new Error('undecided');
      }), /undecided/);
      const kept = await tx.savepoint(async () => {
        await tx.schedules.insert(schedule(t, 'c'));
        return tx.events.append([ev(3)]);
      });
      return [...first, ...kept].map((e) => [e.seq, e.runId]);
    });
    assert.deepEqual(seqs, [[1, 'r1'], [2, 'r3']], 'the rolled-back event\'s seq is given again');
    assert.deepEqual((await s.schedules.list({ tenant: t, limit: 10 })).map((r) => r.scheduleId), ['a', 'c']);
    assert.deepEqual((await s.events.since(t, 0, 10)).map((e) => [e.seq, e.runId]), [[1, 'r1'], [2, 'r3']]);
    logOf(kind).push(seqs);
  });

  test(`${kind}: retention: policies, prunable runs by keyset, deletion with what hangs off a run, never an active run`, async (ctx) => {
    const s = await storeOf(ctx, kind);
    if (!s) return;
    const log = logOf(kind);
    await s.retention.putPolicy({ tenant: 'ret', maxAgeDays: 30, keepLast: null, updatedMs: 1 });
    await s.retention.putPolicy({ tenant: 'ret', maxAgeDays: null, keepLast: 3, updatedMs: 2 });
    await s.retention.putPolicy({ tenant: 'Ret', maxAgeDays: 1, keepLast: 1, updatedMs: 3 });
    log.push(await s.retention.policy('ret'), await s.retention.policy('none') ?? null);
    assert.deepEqual((await s.retention.policies()).filter((p) => /^ret$/i.test(p.tenant)).map((p) => p.tenant), ['Ret', 'ret']);

    const t = 'ret';
    // 8 runs of etl (0..5 ended, 6 running, 7 ended), 2 of b-dag (both ended).
    const statuses = ['completed', 'failed', 'cancelled', 'completed', 'completed', 'completed', null, 'completed'];
    const etl = await seedRuns(s, t, 'etl', 8, 1000, (i) => statuses[i]!);
    await seedRuns(s, t, 'b-dag', 2, 1000, () => 'completed');
    assert.deepEqual(await s.retention.dagsWithRuns(t), ['b-dag', 'etl']);
    assert.ok((await s.retention.tenants()).includes(t));
    const boundary = await s.retention.keepBoundary(t, 'etl', 3);
    assert.deepEqual(boundary, { startedMs: 1004, runId: etl[4] }, 'the 3rd newest ended run (the running one does not count)');
    assert.equal(await s.retention.keepBoundary(t, 'etl', 8), undefined, 'fewer than 8 ended runs');
    const pages: string[][] = [];
    let after = { startedMs: -1, runId: '' };
    for (;;) {
      const page = await s.retention.eligible({ tenant: t, dagId: 'etl', after, before: boundary!, cutoffMs: 503, limit: 2 });
      if (page.length === 0) break;
      pages.push(page.map((k) => k.runId));
      after = page[page.length - 1]!;
    }
    assert.deepEqual(pages, [[etl[0], etl[1]], [etl[2]]], 'ended before the cutoff and older than the boundary, oldest first');
    log.push(pages, boundary);
    assert.deepEqual(await s.retention.runStates([etl[6]!, 'missing', etl[0]!]), [
      { runId: etl[0], status: 'completed', endedMs: 500 },
      { runId: etl[6], status: 'queued', endedMs: null },
    ]);

    // What hangs off a run goes with it: steps, attempts, Idempotency-Key records, references.
    const hash = 'c'.repeat(64);
    await s.commitBatch({
      runs: [], steps: [step(etl[0]!, 'a', 0)], attempts: [attempt(etl[0]!, 'a', 1), attempt(etl[0]!, 'a', 2)],
      artifacts: [{ tenant: t, hash, size: 3, mediaType: 'text/plain', createdMs: 1, holder: etl[0]! }], refs: [{ tenant: t, hash, holder: etl[6]! }], events: [],
    });
    const key = { tenant: t, method: 'POST', path: '/runs', key: 'k-ret' };
    await s.transaction(async (tx) => {
      await tx.idem.claim(key, 'h', 1);
      await tx.idem.complete(key, 201, '{}', '{}', etl[0]!);
    });
    await assert.rejects(s.transaction((tx) => tx.retention.deleteRuns([etl[1]!, etl[6]!])), /has not ended/);
    assert.ok(await s.runs.get(t, etl[1]!), 'the refusal deleted nothing');
    const counts = await s.transaction((tx) => tx.retention.deleteRuns([etl[0]!, etl[1]!]));
    assert.deepEqual(counts, { steps: 2, attempts: 2, idempotency: 1, refs: 1, runs: 2 });
    log.push(counts);
    assert.equal(await s.runs.get(t, etl[0]!), undefined);
    assert.equal(await s.idem.get(key), undefined);
    assert.deepEqual(await s.runs.steps(etl[0]!), []);
    const owned = await s.retention.ownedPage({ tenant: t, hash: '' }, 10, t);
    assert.deepEqual(owned.map((o) => [o.hash, o.referenced]), [[hash, 1]], 'the active run\'s reference stays');
  });

  test(`${kind}: retention: the event log's pruned prefix leaves a checkpoint, and appends chain on from it`, async (ctx) => {
    const s = await storeOf(ctx, kind);
    if (!s) return;
    const log = logOf(kind);
    const t = 'evp';
    const ev = (i: number) => ({ tenant: t, type: 'run.started' as const, dagId: 'd', runId: `r${i}`, stepId: null, status: 'queued', tsMs: 1000 + i, traceId: 'f'.repeat(32) });
    const rows = await s.transaction((tx) => tx.events.append([0, 1, 2, 3].map(ev)));
    assert.equal(await s.retention.checkpoint(t), undefined);
    const n = await s.transaction((tx) => tx.retention.pruneEvents(t, rows[1]!, 5000));
    assert.equal(n, 2);
    assert.deepEqual(await s.retention.checkpoint(t), { seq: 2, hash: rows[1]!.hash });
    assert.deepEqual((await s.events.since(t, 0, 10)).map((e) => e.seq), [3, 4]);
    // Every event pruned: the next append continues from the checkpoint, never from seq 1.
    await s.transaction((tx) => tx.retention.pruneEvents(t, rows[3]!, 6000));
    assert.deepEqual(await s.events.since(t, 0, 10), []);
    const [next] = await s.transaction((tx) => tx.events.append([ev(4)]));
    assert.deepEqual([next!.seq, next!.prevHash], [5, rows[3]!.hash]);
    log.push(await s.retention.checkpoint(t), next);
  });

  test(`${kind}: artifact GC: ownership pages with their references, release only when unreferenced and old`, async (ctx) => {
    const s = await storeOf(ctx, kind);
    if (!s) return;
    const log = logOf(kind);
    const h = (c: string) => c.repeat(64);
    await s.commitBatch({
      runs: [], steps: [], attempts: [], events: [], refs: [],
      artifacts: [
        { tenant: 'gc1', hash: h('1'), size: 1, mediaType: 'a/b', createdMs: 10, holder: 'keep' },
        { tenant: 'gc1', hash: h('2'), size: 2, mediaType: 'a/b', createdMs: 10, holder: 'x' },
        { tenant: 'gc2', hash: h('2'), size: 2, mediaType: 'a/b', createdMs: 10, holder: 'y' },
      ],
    });
    await s.transaction(async (tx) => {
      await tx.artifacts.own({ tenant: 'gc2', hash: h('3'), size: 3, mediaType: 'a/b', createdMs: 50 });
      await tx.artifacts.addRefs([{ tenant: 'gc2', hash: h('1'), holder: 'not-owned' }, { tenant: 'gc1', hash: h('1'), holder: 'keep' }]);
    });
    const all: unknown[] = [];
    let after = { tenant: 'gc1', hash: '' };
    for (;;) {
      const page = (await s.retention.ownedPage(after, 2)).filter((r) => r.tenant.startsWith('gc'));
      if (page.length === 0) break;
      all.push(...page);
      after = page[page.length - 1]!;
    }
    assert.deepEqual(all.map((r) => JSON.stringify(r)), [
      { tenant: 'gc1', hash: h('1'), size: 1, createdMs: 10, referenced: 1 },
      { tenant: 'gc1', hash: h('2'), size: 2, createdMs: 10, referenced: 1 },
      { tenant: 'gc2', hash: h('2'), size: 2, createdMs: 10, referenced: 1 },
      { tenant: 'gc2', hash: h('3'), size: 3, createdMs: 50, referenced: 0 },
    ].map((r) => JSON.stringify(r)));
    log.push(all, await s.retention.ownedPage({ tenant: 'gc2', hash: h('2') }, 5, 'gc2'));
    assert.equal(await s.transaction((tx) => tx.retention.deleteIfUnreferenced('gc1', h('1'), 100)), false, 'referenced');
    assert.equal(await s.transaction((tx) => tx.retention.deleteIfUnreferenced('gc2', h('3'), 50)), false, 'not older than the grace');
    assert.equal(await s.transaction((tx) => tx.retention.deleteIfUnreferenced('gc2', h('3'), 51)), true);
    assert.equal(await s.retention.deleteIfUnreferenced('gc2', h('3'), 51), false, 'gone already');
    assert.equal(await s.retention.ownedByAnyone(h('3')), false);
    assert.equal(await s.retention.ownedByAnyone(h('2')), true);
  });

  test(`${kind}: transfer: an imported run keeps its rows as they were; a taken run id is refused`, async (ctx) => {
    const s = await storeOf(ctx, kind);
    if (!s) return;
    const log = logOf(kind);
    const t = 'imp';
    const r = run(t, 'imp-1', { status: 'completed', endedMs: 300, runToken: 'tok', outputsHash: 'o'.repeat(64) });
    const steps = [step('imp-1', 'b', 1, { status: 'skipped', attempt: 0, startedMs: null, endedMs: null, outputs: null }), step('imp-1', 'a', 0, { retryable: 0 })];
    assert.equal(await s.transaction((tx) => tx.transfer.insertImported(r, steps, [attempt('imp-1', 'a', 1), attempt('imp-1', 'a', 2)])), true);
    log.push(await s.runs.get(t, 'imp-1'), await s.runs.steps('imp-1'), await s.runs.attemptsOfRun('imp-1'));
    assert.equal(await s.runs.byToken(t, 'tok'), undefined, 'outside the runToken namespace');
    assert.deepEqual(await s.runs.active().then((a) => a.filter((x) => x.tenant === t)), []);
    // The run id again (even from another tenant): refused, and the transaction is rolled back.
    await assert.rejects(s.transaction(async (tx) => {
      if (!(await tx.transfer.insertImported({ ...r, tenant: 'imp2' }, [], []))) throw new Error('taken');
    }), /taken/);
    // A step twice in one record: refused too.
    await assert.rejects(s.transaction(async (tx) => {
      if (!(await tx.transfer.insertImported(run(t, 'imp-2', { status: 'failed', endedMs: 1 }), [step('imp-2', 'a', 0), step('imp-2', 'a', 1)], []))) throw new Error('taken');
    }), /taken/);
    assert.equal(await s.runs.get(t, 'imp-2'), undefined);
  });

  test(`${kind}: ops' cross-tenant reads: active versions, tenants with DAGs, run counts by tenant and status`, async (ctx) => {
    const s = await storeOf(ctx, kind);
    if (!s) return;
    const log = logOf(kind);
    const version = (tenant: string, v: string) => ({
      tenant, dagId: 'opsdag', version: v, versionKey: v, hash: `${tenant}-${v}`.padEnd(64, '0'), definition: `{"v":"${v}"}`, signature: null,
      signedBy: '[]', pluginPins: null, createdMs: 1, createdBy: null,
    });
    await s.transaction(async (tx) => {
      await tx.catalog.insertVersion(version('ops1', '1.0.0'));
      await tx.catalog.insertVersion(version('ops1', '2.0.0'));
      await tx.catalog.insertVersion(version('ops2', '1.0.0'));
      await tx.catalog.disableVersion('ops1', 'opsdag', '1.0.0', 5, null);
    });
    const active = (await s.ops.activeVersions()).filter((v) => v.hash.startsWith('ops')).sort((a, b) => (a.hash < b.hash ? -1 : 1));
    assert.deepEqual(active.map((v) => v.definition), ['{"v":"2.0.0"}', '{"v":"1.0.0"}']);
    const tenants = (await s.ops.dagTenants()).filter((x) => x.startsWith('ops')).sort();
    assert.deepEqual(tenants, ['ops1', 'ops2']);
    await seedRuns(s, 'ops1', 'opsdag', 3, 1, (i) => (i === 0 ? 'completed' : null));
    await seedRuns(s, 'ops2', 'opsdag', 1, 1, () => null);
    await s.commitBatch({ runs: [{ ...ended('r-ops1-opsdag-002', 'running', 0), endedMs: null }], steps: [], attempts: [], artifacts: [], refs: [], events: [] });
    const sorted = (rows: Array<{ tenant: string; status: string; n: number }>) =>
      rows.filter((r) => r.tenant.startsWith('ops')).sort((a, b) => (a.tenant + a.status < b.tenant + b.status ? -1 : 1));
    const all = sorted(await s.ops.runCounts(['queued', 'running'], '*'));
    assert.deepEqual(all, [{ tenant: 'ops1', status: 'queued', n: 1 }, { tenant: 'ops1', status: 'running', n: 1 }, { tenant: 'ops2', status: 'queued', n: 1 }]);
    assert.deepEqual(sorted(await s.ops.runCounts(['queued'], ['ops2', 'nobody'])), [{ tenant: 'ops2', status: 'queued', n: 1 }]);
    assert.deepEqual(await s.ops.runCounts(['queued'], []), []);
    log.push(active, tenants, all);
  });

  test(`${kind}: maintenance: ping; SQLite copies and checks itself, PostgreSQL refuses naming its own tools`, async (ctx) => {
    const s = await storeOf(ctx, kind);
    if (!s) return;
    await s.maintenance.ping();
    const dir = mkdtempSync(join(tmpdir(), 'stella-maint-'));
    try {
      const dest = join(dir, 'copy.db');
      if (kind === 'sqlite') {
        assert.equal(await s.maintenance.integrityCheck(), 'ok');
        const r = await s.maintenance.snapshot(dest);
        assert.ok(r.pages > 0 && existsSync(dest));
      } else {
        await assert.rejects(s.maintenance.integrityCheck(), (e) => e instanceof MaintenanceUnsupported && /pg_amcheck/.test(e.message));
        await assert.rejects(s.maintenance.snapshot(dest), (e) => e instanceof MaintenanceUnsupported && /pg_dump/.test(e.message) && /pg_basebackup/.test(e.message));
        assert.equal(existsSync(dest), false);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('postgres: a reference added while a collection releases the same artifact: one of them wins, never both', async (ctx) => {
  const s = await storeOf(ctx, 'postgres');
  if (!s) return;
  const hash = 'e'.repeat(64);
  await s.transaction((tx) => tx.artifacts.own({ tenant: 'race', hash, size: 1, mediaType: 'a/b', createdMs: 1 }));
  // The reference's transaction stays open (its share lock held) while the collection tries.
  let commitRef!: () => void;
  const refAdded = new Promise<void>((added) => {
    void s.transaction(async (tx) => {
      await tx.artifacts.addRefs([{ tenant: 'race', hash, holder: 'late-run' }]);
      added();
      await new Promise<void>((r) => (commitRef = r));
    });
  });
  await refAdded;
  let done = false;
  const released = s.transaction((tx) => tx.retention.deleteIfUnreferenced('race', hash, 100)).finally(() => (done = true));
  // Round trips on other connections give the collection time to reach the row: it must wait there.
  for (let i = 0; i < 30 && !done; i++) await s.maintenance.ping();
  commitRef();
  assert.equal(await released, false, 'the collection waited for the reference and kept the artifact');
  assert.deepEqual(await s.artifacts.owns('race', hash), { size: 1, mediaType: 'a/b' });
});

test('both stores answered the same inputs with the same rows', (ctx) => {
  const a = transcripts.get('sqlite');
  const b = transcripts.get('postgres');
  if (!a || !b) return ctx.skip('one of the stores did not run');
  assert.equal(JSON.stringify(b), JSON.stringify(a));
});
