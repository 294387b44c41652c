/**
 * Artifacts written as a stream (exec's stdout, through `openWrite`) are kept by the run that
 * wrote them, like those written whole (`put`): collection never takes one while a kept run names
 * it — not even in the window after the bytes are stored and before the step's outputs are — and
 * takes it once no kept run does.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ArtifactStore } from '../../src/artifacts/index.js';
import { uuidv7 } from '../../src/core/index.js';
import { TenantArtifacts } from '../../src/engine/pool/tenant-artifacts.js';
import { collectArtifacts } from '../../src/lifecycle/index.js';
import { SqlitePorts, Store } from '../../src/store/index.js';
import { startTestServer } from '../helpers/server.js';
import { publish, startRun, stepOf, waitForRun } from '../runs/helpers.js';
import { casObjects } from './support.js';

let dataDir = '';
before(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'orch-lc-streamed-'));
});
after(() => rmSync(dataDir, { recursive: true, force: true }));

test('a streamed artifact is referenced by its writing run from its commit: collection keeps it until that run is pruned', async () => {
  const store = Store.open({ dataDir });
  try {
    const cas = new ArtifactStore(join(dataDir, 'artifacts'));
    let now = Date.now();
    const clock = { now: () => now };
    const artifacts = new TenantArtifacts(new SqlitePorts(store), cas, clock);
    const task = { taskId: 't1', tenant: 'demo', runId: uuidv7(now), stepId: 'say', attempt: 1, plugin: 'exec' };
    const sink = await artifacts.openWrite(task);
    await sink.write(Buffer.from('streamed '));
    await sink.write(Buffer.from('stdout\n'));
    const hash = await sink.commit('text/plain');
    // Committed, the step not ended yet: no outputs name it, only its writer does.
    assert.deepEqual(store.refs.holdersOf('demo', hash), [task.runId]);
    // Everything is far older than the grace period (the object's file too).
    now += 10 * 3600_000;
    const old = new Date(Date.now() - 10 * 3600_000);
    utimesSync(join(dataDir, 'artifacts', hash.slice(0, 2), hash.slice(2)), old, old);
    const gc = { ports: new SqlitePorts(store), cas, clock, graceMs: 3600_000, dataDir };
    const kept = await collectArtifacts(gc, '*');
    assert.equal(kept.objects, 0, 'nothing collected while the writing run is kept');
    assert.ok(casObjects(dataDir).has(hash));
    assert.ok(await artifacts.owns('demo', hash), 'the tenant still owns it');
    // The run is pruned (its references go with it): the next collection frees the object.
    assert.equal(store.refs.dropHolders([task.runId]), 1);
    const freed = await collectArtifacts(gc, '*');
    assert.deepEqual({ released: freed.released, objects: freed.objects }, { released: { demo: 1 }, objects: 1 });
    assert.ok(!casObjects(dataDir).has(hash));
    assert.equal(await artifacts.owns('demo', hash), false);
  } finally {
    store.close();
  }
});

test('exec stdout streamed by a step: kept while any kept run wrote or names it, collected with the last such run', async () => {
  const t = await startTestServer(['--allow-unsigned', '--artifact-gc-grace', '0', '--exec-allow', '/bin/echo']);
  try {
    await publish(t, { dagId: 'say', steps: [{ id: 'say', plugin: 'exec', with: { program: '/bin/echo', args: ['${{ inputs.text }}'] } }] });
    const ran = async (text: string) => {
      const run = await waitForRun(t, (await startRun(t, 'say', { inputs: { text } })).runId);
      assert.equal(run.status, 'completed', JSON.stringify(run.steps));
      return stepOf(run, 'say').outputs.stdoutHash as string;
    };
    // Oldest first: the shared stdout is written by the oldest and the newest run.
    const shared = await ran('written by a pruned run and by the kept one');
    const alone = await ran('written by a pruned run only');
    assert.equal(await ran('written by a pruned run and by the kept one'), shared);
    assert.ok(casObjects(t.dataDir).has(alone));
    assert.equal((await t.req('PUT', '/admin/retention', { body: { maxAgeDays: 0, keepLast: 1 } })).status, 200);
    const r = await t.req('POST', '/admin/retention:apply', { body: {} });
    assert.equal(r.status, 200, r.text);
    const objects = casObjects(t.dataDir);
    assert.ok(objects.has(shared), 'the kept run wrote it: kept');
    assert.equal((await t.req('GET', `/artifacts/${shared}`)).status, 200);
    assert.ok(!objects.has(alone), 'only a pruned run wrote it: collected');
    assert.equal((await t.req('GET', `/artifacts/${alone}`)).status, 404);
  } finally {
    await t.stop();
  }
});
