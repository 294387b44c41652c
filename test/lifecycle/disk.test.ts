/**
 * Disk watermarks on a real small file system (a 32 MiB tmpfs holding the data folder; skipped
 * with a message where `mount` is not allowed): `checks.disk` turns degraded under
 * `--disk-warn-free`; under `--disk-min-free` every writing request is refused with a 507
 * INSUFFICIENT_STORAGE envelope before SQLite or the artifact store fail, reads go on, a
 * retention pass (which frees space) is still allowed, and writes resume once space is freed.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseThreshold } from '../../src/lifecycle/index.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { publish, waitForRun } from '../runs/helpers.js';
import { assertEnvelope, fill, integrityCheck, rowCounts, tryMount, umount } from '../hostile/support.js';

const MiB = 1024 * 1024;

test('thresholds: sizes with units and percentages; anything else is refused', () => {
  assert.deepEqual(parseThreshold('256MiB'), { bytes: 256 * MiB });
  assert.deepEqual(parseThreshold('2GB'), { bytes: 2e9 });
  assert.deepEqual(parseThreshold('1048576'), { bytes: MiB });
  assert.deepEqual(parseThreshold('10%'), { percent: 10 });
  assert.deepEqual(parseThreshold('0'), { bytes: 0 });
  for (const bad of ['', '-1', '10 %%', '101%', '12XB', 'lots', '1e9']) assert.throws(() => parseThreshold(bad), /expected a size|at most 100/, bad);
});

describe('a data folder on a 32 MiB tmpfs', () => {
  let t: TestServer;
  let dir = '';
  let skip: string | null = null;
  const health = async () => (await t.req('GET', '/admin/health', { tenant: null })).body.checks.disk;
  const until = async <T>(what: string, get: () => Promise<T>, ok: (v: T) => boolean): Promise<T> => {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const v = await get();
      if (ok(v)) return v;
      assert.ok(Date.now() < deadline, `${what}: last ${JSON.stringify(v)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'orch-watermark-'));
    skip = tryMount(dir, '32m');
    if (skip) return;
    t = await startTestServer(['--allow-unsigned', '--workers', '1', '--disk-warn-free', '50%', '--disk-min-free', '10MiB'], { dataDir: dir });
    await publish(t, { dagId: 'tiny', steps: [{ id: 'a', plugin: 'noop' }] });
    // A schedule whose DELETE the floor refuses too (every write but GET).
    const sched = await t.req('POST', '/schedules', { body: { scheduleId: 'yearly', dagId: 'tiny', cron: '0 0 1 1 *', timezone: 'UTC' } });
    assert.equal(sched.status, 201, sched.text);
  });
  after(async () => {
    if (!skip) {
      await t.stop();
      umount(dir);
    }
    rmSync(dir, { recursive: true, force: true });
  });

  test('degraded under --disk-warn-free, 507 for writes under --disk-min-free, reads go on, writes resume when space is freed', async (ctx) => {
    if (skip) return ctx.skip(`cannot mount a tmpfs here (${skip})`);
    assert.equal((await health()).status, 'ok');

    const warn = fill(dir, 13 * MiB);
    const degraded = await until('checks.disk degraded', health, (c) => c.status === 'degraded');
    assert.match(degraded.detail, /below --disk-warn-free/);
    const above = await t.req('POST', '/runs', { body: { dagId: 'tiny' } });
    assert.equal(above.status, 201, 'above the floor, writes work');
    await waitForRun(t, above.body.runId); // it ends before the floor is reached: no write in flight

    const floor = fill(dir, 6 * MiB, 'zz-filler-2.bin');
    const refused = await until('writes refused', () => t.req('POST', '/runs', { body: { dagId: 'tiny' } }), (r) => r.status !== 201);
    const rows = JSON.stringify(rowCounts(dir));
    assertEnvelope(refused, 507, 'INSUFFICIENT_STORAGE', 'POST /runs under the floor');
    assert.match(refused.body.error.message, /--disk-min-free/);
    for (const [method, path, body] of [
      ['POST', '/dags', { dagId: 'other', version: '1.0.0', steps: [{ id: 'a', plugin: 'noop' }] }],
      ['PUT', '/admin/retention', { maxAgeDays: 1, keepLast: null }],
      ['POST', '/admin/warm', {}],
      ['DELETE', '/schedules/yearly', undefined],
    ] as const) {
      assertEnvelope(await t.req(method, path, { body }), 507, 'INSUFFICIENT_STORAGE', `${method} ${path}`);
    }
    assert.equal(JSON.stringify(rowCounts(dir)), rows, 'nothing was written');
    assert.equal((await t.req('GET', '/runs')).status, 200, 'reads go on');
    assert.equal((await t.req('GET', '/dags')).status, 200);
    assert.equal((await t.req('GET', '/schedules/yearly')).status, 200, 'the refused DELETE deleted nothing');
    // Health samples the disk on its own period: it says so once its next sample is taken.
    const h = await until('health names the floor', health, (c) => /below --disk-min-free/.test(c.detail));
    assert.equal(h.status, 'degraded');
    assert.match(h.detail, /below --disk-min-free/);
    assert.equal((await t.req('POST', '/admin/retention:apply', { body: {} })).status, 200, 'a pass that frees space is allowed');

    unlinkSync(floor);
    unlinkSync(warn);
    await until('writes resume', () => t.req('POST', '/runs', { body: { dagId: 'tiny' } }), (r) => r.status === 201);
    await until('checks.disk ok again', health, (c) => c.status === 'ok');
    assert.equal(integrityCheck(dir), 'ok');
  });
});
