/**
 * Store contract: the catalog, the run ledger (create, group commit, reads, keyset pages), the
 * Idempotency-Key records and the artifact index behave the same on the SQLite and the
 * PostgreSQL store — the same inputs give the same rows, byte for byte (compared at the end).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AttemptRow, RunRow, StepRow, StorePorts } from '../../../src/store/index.js';
import { KINDS, storeOf, type Kind } from './stores.js';

/** What each store answered, by kind: the last test compares them. */
const transcripts = new Map<Kind, unknown[]>();

function run(tenant: string, i: number, startedMs: number, extra: Partial<RunRow> = {}): RunRow {
  return {
    runId: `r-${tenant}-${String(i).padStart(3, '0')}`, tenant, dagId: i % 2 ? 'odd' : 'even', dagVersion: '1.0.0', dagHash: 'h'.repeat(64),
    runToken: `tok-${i}`, traceId: `${i}`.padStart(32, '0'), status: 'queued', inputs: '{}', inputsHash: 'i'.repeat(64), outputsHash: null,
    createdMs: startedMs, startedMs, endedMs: null, cancelReason: null, ...extra,
  };
}

function step(runId: string, stepId: string, topoIndex: number, over: Partial<StepRow>): StepRow {
  return {
    runId, stepId, topoIndex, status: 'pending', attempt: 0, startedMs: null, endedMs: null, inputsHash: null, outputsHash: null,
    outputs: null, logsRef: null, errorCode: null, errorMessage: null, retryable: null, nextAttemptMs: null, ...over,
  };
}

function attempt(runId: string, stepId: string, n: number, over: Partial<AttemptRow>): AttemptRow {
  return { runId, stepId, attempt: n, status: 'running', startedMs: 1000 + n, endedMs: null, errorCode: null, errorMessage: null, logsRef: null, outputsHash: null, ...over };
}

/** All pages of a listing, following the keyset of each page's last row. */
async function pages(s: StorePorts, tenant: string, asc: boolean, limit: number, extra: { dagId?: string } = {}): Promise<string[][]> {
  const out: string[][] = [];
  let pos: { startedMs: number; runId: string } | undefined;
  for (;;) {
    const page = await s.runs.list({ tenant, limit, ...extra, ...(asc ? { asc: true, afterAsc: pos } : { after: pos }) });
    if (page.length === 0) return out;
    out.push(page.map((r) => r.runId));
    const last = page[page.length - 1]!;
    pos = { startedMs: last.startedMs, runId: last.runId };
  }
}

for (const kind of KINDS) {
  test(`${kind}: runs, steps and attempts through create, group commit and reads`, async (ctx) => {
    const s = await storeOf(ctx, kind);
    if (!s) return;
    const log: unknown[] = [];
    const t = 'ledger';
    // Seven runs, three of them started in the same millisecond (ties order by runId).
    const starts = [5000, 3000, 3000, 9000, 3000, 1000, 7000];
    await s.transaction(async (tx) => {
      for (const [i, ms] of starts.entries()) await tx.runs.createRun(run(t, i, ms), [{ stepId: 'b', topoIndex: 1 }, { stepId: 'a', topoIndex: 0 }]);
    });
    const id = `r-${t}-001`;
    const events = await s.commitBatch({
      runs: [{ runId: id, status: 'running', outputsHash: null, endedMs: null, cancelReason: null, cancelledBy: null }],
      steps: [step(id, 'a', 0, { status: 'running', attempt: 1, startedMs: 1001 })],
      attempts: [attempt(id, 'a', 1, {})],
      artifacts: [],
      refs: [],
      events: [{ tenant: t, type: 'step.updated', dagId: 'odd', runId: id, stepId: 'a', status: 'running', tsMs: 1001, traceId: 't' }],
    });
    assert.deepEqual(events.map((e) => [e.seq, e.stepId]), [[1, 'a']]);
    // The attempt ends: its outcome columns are updated in place (upsert), the run completes.
    await s.commitBatch({
      runs: [{ runId: id, status: 'failed', outputsHash: null, endedMs: 2000, cancelReason: null, cancelledBy: null }],
      steps: [step(id, 'a', 0, { status: 'failed', attempt: 1, startedMs: 1001, endedMs: 2000, errorCode: 'E_STEP', errorMessage: 'boom', retryable: 0 })],
      attempts: [attempt(id, 'a', 1, { status: 'failed', endedMs: 2000, errorCode: 'E_STEP', errorMessage: 'boom' }), attempt(id, 'b', 1, { status: 'skipped', endedMs: 2000 })],
      artifacts: [],
      refs: [],
      events: [],
    });
    const got = await s.runs.get(t, id);
    assert.equal(got?.status, 'failed');
    assert.equal(got?.endedMs, 2000);
    assert.equal(await s.runs.get('other', id), undefined, "another tenant's run reads as missing");
    assert.deepEqual(await s.runs.head(t, id), { runId: id, dagId: got?.dagId, scheduleId: null }, 'head: the ids of the same row');
    assert.equal(await s.runs.head('other', id), undefined, "another tenant's run has no head");
    assert.equal(await s.runs.head(t, 'r-missing-000'), undefined);
    assert.equal((await s.runs.byToken(t, 'tok-1'))?.runId, id);
    assert.equal(await s.runs.byToken('other', 'tok-1'), undefined);
    const st = await s.runs.steps(id);
    assert.deepEqual(st.map((x) => [x.stepId, x.status, x.attempt, x.errorCode, x.retryable]), [['a', 'failed', 1, 'E_STEP', 0], ['b', 'pending', 0, null, null]]);
    const at = await s.runs.attemptsOfRun(id);
    assert.deepEqual(at.map((a) => [a.stepId, a.attempt, a.status, a.endedMs, a.errorMessage]), [['a', 1, 'failed', 2000, 'boom'], ['b', 1, 'skipped', 2000, null]]);
    log.push(got, st, at, events);

    // Keyset pages: newest first (ties by runId), and the export order; page size 2 and 3.
    const desc = ['r-ledger-003', 'r-ledger-006', 'r-ledger-000', 'r-ledger-001', 'r-ledger-002', 'r-ledger-004', 'r-ledger-005'];
    assert.deepEqual((await pages(s, t, false, 2)).flat(), desc);
    assert.deepEqual((await pages(s, t, false, 3)).length, 3);
    const asc = ['r-ledger-005', 'r-ledger-001', 'r-ledger-002', 'r-ledger-004', 'r-ledger-000', 'r-ledger-006', 'r-ledger-003'];
    assert.deepEqual((await pages(s, t, true, 2)).flat(), asc);
    assert.deepEqual((await pages(s, t, false, 2, { dagId: 'odd' })).flat(), ['r-ledger-003', 'r-ledger-001', 'r-ledger-005']);
    const filtered = await s.runs.list({ tenant: t, status: 'failed', fromMs: 3000, toMs: 3001, limit: 10 });
    assert.deepEqual(filtered.map((r) => r.runId), [id]);
    assert.deepEqual(await s.runs.list({ tenant: 'other', limit: 10 }), []);
    log.push(await s.runs.list({ tenant: t, limit: 100 }), await pages(s, t, true, 3));
    const active = (await s.runs.active()).filter((r) => r.tenant === t).map((r) => r.runId);
    assert.deepEqual(active, asc.filter((r) => r !== id), 'active runs oldest first, the failed one left out');
    transcripts.set(kind, log);
  });

  test(`${kind}: a transaction that throws leaves nothing behind`, async (ctx) => {
    const s = await storeOf(ctx, kind);
    if (!s) return;
    const t = 'rollback';
    await assert.rejects(
      s.transaction(async (tx) => {
        await tx.runs.createRun(run(t, 1, 10), [{ stepId: 'a', topoIndex: 0 }]);
        await tx.events.append([{ tenant: t, type: 'run.started', dagId: 'odd', runId: 'r-rollback-001', stepId: null, status: 'queued', tsMs: 10, traceId: 'x' }]);
        throw new Error('request failed');
      }),
      /request failed/,
    );
    assert.equal(await s.runs.get(t, 'r-rollback-001'), undefined);
    assert.deepEqual(await s.events.since(t, 0, 10), []);
    // The same runToken twice in one tenant is refused (the unique index), and rolls back.
    await s.transaction((tx) => tx.runs.createRun(run(t, 2, 20), []));
    await assert.rejects(s.transaction((tx) => tx.runs.createRun(run(t, 3, 30, { runToken: 'tok-2' }), [])), /unique/i);
    assert.equal(await s.runs.get(t, 'r-rollback-003'), undefined);
    const [e] = await s.transaction((tx) => tx.events.append([{ tenant: t, type: 'run.started', dagId: 'odd', runId: 'r-rollback-002', stepId: null, status: 'queued', tsMs: 20, traceId: 'x' }]));
    assert.equal(e?.seq, 1, 'the rolled-back append left no seq behind');
    assert.equal(e?.prevHash, '');
  });

  test(`${kind}: DAG versions: insert, latest active by version key, disable, keyset pages`, async (ctx) => {
    const s = await storeOf(ctx, kind);
    if (!s) return;
    const t = 'catalog';
    const v = (dagId: string, version: string, versionKey: string, createdMs: number) => ({
      tenant: t, dagId, version, versionKey, hash: `${dagId}${version}`.padEnd(64, '0'), definition: `{"id":"${dagId}"}`,
      signature: null, signedBy: '[]', pluginPins: '{}', createdMs, createdBy: 'alice',
    });
    await s.transaction(async (tx) => {
      for (const [d, ver, key, ms] of [['etl', '1.0.0', 'k1', 1], ['etl', '1.10.0', 'k3', 2], ['etl', '1.2.0', 'k2', 3], ['Zeta', '1.0.0', 'k1', 4], ['a-b', '1.0.0', 'k1', 5]] as const) {
        await tx.catalog.insertVersion(v(d, ver, key, ms));
      }
    });
    assert.equal(await s.transaction((tx) => tx.catalog.insertVersion({ ...v('etl', '1.0.0', 'k1', 9), hash: 'f'.repeat(64) })), false, 'a version is immutable');
    assert.equal((await s.catalog.getVersion(t, 'etl', '1.0.0'))?.createdMs, 1, 'the stored version is unchanged');
    // Two transactions inserting one version at once (other content each): one inserts, the
    // other answers false and, reading again in its transaction, finds the winner's row.
    const race = await Promise.all(['a', 'b'].map((c) => s.transaction(async (tx) => {
      const ok = await tx.catalog.insertVersion({ ...v('race', '1.0.0', 'k1', 7), tenant: 'catalog-race', hash: c.repeat(64) });
      return { ok, hash: (await tx.catalog.getVersion('catalog-race', 'race', '1.0.0'))?.hash };
    })));
    assert.deepEqual(race.map((r) => r.ok).sort(), [false, true]);
    assert.equal(race[0]!.hash, race[1]!.hash, 'both read the one stored row');
    assert.equal(race.find((r) => r.ok)!.hash, (await s.catalog.getVersion('catalog-race', 'race', '1.0.0'))?.hash);
    assert.equal((await s.catalog.latestActive(t, 'etl'))?.version, '1.10.0');
    assert.equal(await s.transaction((tx) => tx.catalog.disableVersion(t, 'etl', '1.10.0', 50, 'bob')), true);
    assert.equal(await s.transaction((tx) => tx.catalog.disableVersion(t, 'etl', '1.10.0', 51, 'bob')), false, 'already disabled');
    assert.equal((await s.catalog.latestActive(t, 'etl'))?.version, '1.2.0');
    const disabled = await s.catalog.getVersion(t, 'etl', '1.10.0');
    assert.deepEqual([disabled?.active, disabled?.disabledMs, disabled?.disabledBy], [0, 50, 'bob']);
    assert.equal(await s.catalog.getVersion('other', 'etl', '1.0.0'), undefined);
    // (dagId ASC in byte order: upper case first, versionKey DESC), two per page.
    const seen: string[] = [];
    let after: { dagId: string; versionKey: string } | undefined;
    for (;;) {
      const page = await s.catalog.listVersions({ tenant: t, limit: 2, after });
      if (page.length === 0) break;
      seen.push(...page.map((r) => `${r.dagId}@${r.version}`));
      after = { dagId: page.at(-1)!.dagId, versionKey: page.at(-1)!.versionKey };
    }
    assert.deepEqual(seen, ['Zeta@1.0.0', 'a-b@1.0.0', 'etl@1.10.0', 'etl@1.2.0', 'etl@1.0.0']);
    assert.deepEqual((await s.catalog.listVersions({ tenant: t, dagId: 'etl', active: true, limit: 9 })).map((r) => r.version), ['1.2.0', '1.0.0']);
    transcripts.get(kind)?.push(await s.catalog.listVersions({ tenant: t, limit: 100 }));
  });

  test(`${kind}: DAG versions: export pages in creation order, versions without pins found and pinned once`, async (ctx) => {
    const s = await storeOf(ctx, kind);
    if (!s) return;
    const t = 'catalog-export';
    const v = (dagId: string, version: string, versionKey: string, createdMs: number, pluginPins: string | null) => ({
      tenant: t, dagId, version, versionKey, hash: `${dagId}${version}`.padEnd(64, '1'), definition: `{"id":"${dagId}"}`,
      signature: null, signedBy: '[]', pluginPins, createdMs, createdBy: null,
    });
    await s.transaction(async (tx) => {
      // Same millisecond for three versions: ties order by dagId, then versionKey.
      for (const [d, ver, key, ms, pins] of [['etl', '1.0.0', 'k1', 7, null], ['Zeta', '1.0.0', 'k1', 7, '{}'], ['etl', '0.9.0', 'k0', 7, '{}'], ['a-b', '2.0.0', 'k2', 3, null], ['etl', '2.0.0', 'k2', 9, '{}']] as const) {
        await tx.catalog.insertVersion(v(d, ver, key, ms, pins));
      }
      await tx.catalog.disableVersion(t, 'etl', '2.0.0', 10, null);
    });
    const seen: string[] = [];
    let after: { createdMs: number; dagId: string; versionKey: string } | undefined;
    for (;;) {
      const page = await s.catalog.exportPage(t, {}, after, 2);
      if (page.length === 0) break;
      seen.push(...page.map((r) => `${r.dagId}@${r.version}`));
      const last = page.at(-1)!;
      after = { createdMs: last.createdMs, dagId: last.dagId, versionKey: last.versionKey };
    }
    assert.deepEqual(seen, ['a-b@2.0.0', 'Zeta@1.0.0', 'etl@0.9.0', 'etl@1.0.0', 'etl@2.0.0']);
    assert.deepEqual((await s.catalog.exportPage(t, { dagId: 'etl', active: true }, undefined, 9)).map((r) => r.version), ['0.9.0', '1.0.0']);
    assert.deepEqual(await s.catalog.exportPage('other', {}, undefined, 9), []);
    const unpinned = (await s.catalog.unpinned()).filter((r) => r.tenant === t).map((r) => `${r.dagId}@${r.version}`);
    assert.deepEqual(unpinned, ['a-b@2.0.0', 'etl@1.0.0']);
    assert.equal(await s.transaction((tx) => tx.catalog.setPins(t, 'etl', '1.0.0', '{"noop":1}')), true);
    assert.equal(await s.transaction((tx) => tx.catalog.setPins(t, 'etl', '1.0.0', '{"other":1}')), false, 'pins never change once set');
    assert.equal(await s.transaction((tx) => tx.catalog.setPins(t, 'etl', '0.9.0', '{"other":1}')), false, 'a pinned version keeps its pins');
    assert.equal((await s.catalog.getVersion(t, 'etl', '1.0.0'))?.pluginPins, '{"noop":1}');
    assert.deepEqual((await s.catalog.unpinned()).filter((r) => r.tenant === t).map((r) => r.dagId), ['a-b']);
    transcripts.get(kind)?.push(await s.catalog.exportPage(t, {}, undefined, 100));
  });

  test(`${kind}: Idempotency-Key records: claim once, complete, release, expire`, async (ctx) => {
    const s = await storeOf(ctx, kind);
    if (!s) return;
    const k = { tenant: 'idem', method: 'POST', path: '/runs', key: 'k1' };
    assert.equal(await s.transaction((tx) => tx.idem.claim(k, 'rh', 100)), true);
    assert.equal(await s.transaction((tx) => tx.idem.claim(k, 'rh2', 101)), false, 'a second claim of the key fails');
    assert.equal(await s.transaction((tx) => tx.idem.claim({ ...k, tenant: 'idem2' }, 'rh', 100)), true, 'keys are per tenant');
    assert.deepEqual(await s.idem.get(k), { requestHash: 'rh', state: 'in_flight', responseStatus: null, responseBody: null, responseHeaders: null, createdMs: 100 });
    await s.transaction((tx) => tx.idem.complete(k, 201, '{"runId":"r1"}', '{}', 'r1'));
    const done = await s.idem.get(k);
    assert.deepEqual([done?.state, done?.responseStatus, done?.responseBody], ['done', 201, '{"runId":"r1"}']);
    await s.transaction((tx) => tx.idem.release(k));
    assert.equal((await s.idem.get(k))?.state, 'done', 'a completed record is never released');
    const k2 = { ...k, key: 'k2' };
    await s.transaction((tx) => tx.idem.claim(k2, 'rh', 300));
    await s.transaction((tx) => tx.idem.release(k2));
    assert.equal(await s.idem.get(k2), undefined);
    assert.equal(await s.transaction((tx) => tx.idem.expire(101)), 2);
    assert.equal(await s.idem.get(k), undefined);
  });

  test(`${kind}: artifact index: ownership per tenant, first media type kept, refs only to owned`, async (ctx) => {
    const s = await storeOf(ctx, kind);
    if (!s) return;
    const hash = 'a'.repeat(64);
    await s.commitBatch({
      runs: [], steps: [], attempts: [], events: [],
      artifacts: [{ tenant: 'art', hash, size: 5, mediaType: 'text/plain', createdMs: 1, holder: 'r1' }],
      refs: [{ tenant: 'art2', hash, holder: 'r2' }],
    });
    await s.transaction((tx) => tx.artifacts.own({ tenant: 'art', hash, size: 5, mediaType: 'application/json', createdMs: 2 }));
    assert.deepEqual(await s.artifacts.owns('art', hash), { size: 5, mediaType: 'text/plain' });
    assert.equal(await s.artifacts.owns('art2', hash), undefined, 'another tenant does not own it (its ref was ignored)');
  });
}

test('both stores answered the same inputs with the same bytes', (ctx) => {
  const a = transcripts.get('sqlite');
  const b = transcripts.get('postgres');
  if (!a || !b) return ctx.skip('one of the stores did not run');
  assert.equal(JSON.stringify(b), JSON.stringify(a));
});
