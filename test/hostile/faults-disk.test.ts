/**
 * Hostile world, full disks (a small tmpfs; skipped with a message where `mount` is not
 * allowed): when the artifact store is full, a step that writes an artifact fails with
 * INSUFFICIENT_STORAGE and no half-written object is ever visible; when the whole data folder
 * is full, a request that must write is refused with a 507 INSUFFICIENT_STORAGE envelope and
 * changes nothing, reads go on, and normal service resumes once space is freed.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, statSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { skipOutsideCi } from '../helpers/tools.js';
import { publish, stepOf, waitForRun } from '../runs/helpers.js';
import { assertAlive, assertCasClean, assertEnvelope, fill, freeBytes, integrityCheck, rowCounts, sleep, tryMount, umount } from './support.js';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

describe('disk full', () => {
  describe('the artifact store on a 2 MiB tmpfs', () => {
    let t: TestServer;
    let root = '';
    let skip: string | null = null;

    before(async () => {
      t = await startTestServer(['--allow-unsigned', '--workers', '1', '--disk-min-free', '0']);
      root = join(t.dataDir, 'artifacts');
      mkdirSync(root, { recursive: true });
      skip = tryMount(root, '2m');
      await publish(t, { dagId: 'store', steps: [{ id: 'put', plugin: 'artifact', with: { content: '${{ inputs.content }}' } }] });
    });
    after(async () => {
      await t.server.close();
      if (!skip) umount(root);
      rmSync(t.dataDir, { recursive: true, force: true });
    });

    test('a step whose artifact does not fit fails INSUFFICIENT_STORAGE, nothing half-written is visible, and the same run succeeds once space is freed', async (ctx) => {
      if (skip) return skipOutsideCi(ctx, `cannot mount a tmpfs here (${skip})`);
      const content = `${'disk-full '.repeat(30_000)}end`; // ~300 KB
      const filler = fill(root, 64 * 1024);
      const r = await t.req('POST', '/runs', { body: { dagId: 'store', inputs: { content } } });
      assert.equal(r.status, 201, r.text);
      const run = await waitForRun(t, r.body.runId);
      const put = stepOf(run, 'put');
      assert.equal(run.status, 'failed');
      assert.equal(put.errorCode, 'INSUFFICIENT_STORAGE', `${put.errorCode}: ${put.errorMessage}`);
      assert.match(put.errorMessage, /full/);
      assert.doesNotMatch(put.errorMessage, /\/|ENOSPC/, 'no path or errno text reaches the client');
      const objects = assertCasClean(root);
      assert.equal((await t.req('GET', `/artifacts/${sha(content)}`)).status, 404, 'the object that did not fit is not visible');
      // Small writes and every read still work while the store is full.
      assert.equal((await t.req('GET', `/runs/${run.runId}`)).status, 200);
      await assertAlive(t, 'artifact store full', { degradedOk: true });
      const health = await t.req('GET', '/admin/health', { tenant: null });
      assert.equal(health.body.status, 'degraded', 'health tells the operator');
      assert.ok(Object.values(health.body.checks).some((c: any) => c.status !== 'ok'), JSON.stringify(health.body.checks));

      unlinkSync(filler);
      const again = await waitForRun(t, (await t.req('POST', '/runs', { body: { dagId: 'store', inputs: { content } } })).body.runId);
      assert.equal(again.status, 'completed', JSON.stringify(stepOf(again, 'put')));
      const got = await t.req('GET', `/artifacts/${stepOf(again, 'put').outputs.hash}`);
      assert.equal(got.status, 200);
      assert.equal(got.text, content, 'the artifact is whole');
      assertCasClean(root);
      console.log(`disk: artifact store full → step INSUFFICIENT_STORAGE, ${objects} whole object(s) and no temp file left; after freeing space the run completed`);
    });
  });

  describe('the whole data folder on a 24 MiB tmpfs', () => {
    let t: TestServer;
    let dir = '';
    let skip: string | null = null;

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'orch-hostile-full-'));
      skip = tryMount(dir, '24m');
      if (skip) return;
      t = await startTestServer(['--allow-unsigned', '--workers', '1', '--disk-min-free', '0'], { dataDir: dir });
      await publish(t, { dagId: 'tiny', steps: [{ id: 'a', plugin: 'noop' }] });
      await publish(t, { dagId: 'slow', steps: [{ id: 'nap', plugin: 'sleep', with: { ms: 400 } }, { id: 'b', plugin: 'artifact', with: { content: 'after the nap' } }], edges: [{ from: 'nap', to: 'b' }] });
      assert.equal((await waitForRun(t, (await t.req('POST', '/runs', { body: { dagId: 'tiny' } })).body.runId)).status, 'completed');
    });
    after(async () => {
      if (!skip) {
        await t.stop(); // removes the helper's own (unused) temp folder
        umount(dir);
      }
      rmSync(dir, { recursive: true, force: true });
    });

    test('requests that must write get a 507 INSUFFICIENT_STORAGE envelope and change nothing; reads go on; service resumes once space is freed', async (ctx) => {
      if (skip) return skipOutsideCi(ctx, `cannot mount a tmpfs here (${skip})`);
      const wal = join(dir, 'orchestrator.db-wal');
      const walSize = (() => {
        try {
          return statSync(wal).size;
        } catch {
          return 0;
        }
      })();
      // A run in flight when the disk fills up, ends once it is freed (its state changes wait).
      const inFlight = await t.req('POST', '/runs', { body: { dagId: 'slow' } });
      assert.equal(inFlight.status, 201);
      const filler = fill(dir, 0);
      assert.ok(freeBytes(dir) < 64 * 1024, `the disk is full (${freeBytes(dir)} bytes free)`);
      const before = { rows: JSON.stringify(rowCounts(dir)) };
      // Each write needs more new pages than the WAL already holds.
      const pad = 'p'.repeat(Math.min(900_000, walSize + 400_000));
      const writes: Array<[string, unknown]> = [
        ['/runs', { dagId: 'tiny', inputs: { pad } }],
        ['/dags', { dagId: 'big', version: '1.0.0', metadata: { pad: pad.slice(0, 60_000) }, inputsSchema: { description: pad.slice(0, 800_000) }, steps: [{ id: 'a', plugin: 'noop' }] }],
      ];
      const seen: string[] = [];
      for (const [path, body] of writes) {
        const res = await t.req('POST', path, { body });
        seen.push(`${path} → ${res.status} ${res.body?.error?.code}`);
        assert.ok(res.status === 507 || res.status === 503, `${path}: ${res.status} ${res.text.slice(0, 200)}`);
        assertEnvelope(res, null, res.status === 507 ? 'INSUFFICIENT_STORAGE' : 'UNAVAILABLE', `${path} on a full disk`);
      }
      // Reads are unaffected, and nothing was written.
      assert.equal((await t.req('GET', '/runs')).status, 200);
      assert.equal((await t.req('GET', '/dags')).status, 200);
      const nowRows = rowCounts(dir);
      assert.equal(nowRows.runs, JSON.parse(before.rows).runs, 'the refused run start wrote nothing');
      assert.equal(nowRows.dag_versions, JSON.parse(before.rows).dag_versions, 'the refused publish wrote nothing');
      assert.equal(integrityCheck(dir), 'ok');

      unlinkSync(filler);
      await sleep(50);
      const survivor = await waitForRun(t, inFlight.body.runId, { timeoutMs: 30_000 });
      assert.ok(['completed', 'failed'].includes(survivor.status), survivor.status);
      const ok = await t.req('POST', '/runs', { body: { dagId: 'tiny', inputs: { pad } } });
      assert.equal(ok.status, 201, `after freeing space: ${ok.text.slice(0, 200)}`);
      assert.equal((await waitForRun(t, ok.body.runId)).status, 'completed');
      assert.equal((await t.req('POST', '/dags', { body: writes[1]![1] })).status, 201);
      assert.equal(integrityCheck(dir), 'ok');
      await assertAlive(t, 'after the disk was freed', { degradedOk: true }); // 24 MiB is "low on space" for good
      console.log(`disk: data folder full → ${seen.join(', ')}; reads served, nothing written, integrity ok; the run in flight ended ${survivor.status} (${stepOf(survivor, 'b').errorCode ?? 'no error'}); service resumed after freeing space`);
    });
  });
});
