/**
 * Against a server started with --require-idempotency-key, every mutating client command works:
 * the client sends an Idempotency-Key on POST, PUT and DELETE alike.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli, clientWorld } from './helpers.js';

test('with --require-idempotency-key, publish and every schedules write (POST, PUT, DELETE) succeed from the client', async () => {
  const w = await clientWorld([], ['--require-idempotency-key']);
  const dir = mkdtempSync(join(tmpdir(), 'orch-cli-idem-'));
  try {
    const file = join(dir, 'strict.json');
    writeFileSync(file, JSON.stringify({ dagId: 'strict', version: '1.0.0', steps: [{ id: 'a', plugin: 'noop' }] }));
    for (const args of [
      ['dags', 'publish', file],
      ['schedules', 'create', 'strict', '--dag-id', 'strict', '--cron', '0 0 29 2 *'],
      ['schedules', 'replace', 'strict', '--cron', '0 0 1 1 *'],
      ['schedules', 'pause', 'strict'],
      ['schedules', 'delete', 'strict'],
    ]) {
      const r = await cli(args, { env: w.env });
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    }
    const gone = await w.t.req('GET', '/schedules/strict');
    assert.equal(gone.status, 404, 'the DELETE went through');
  } finally {
    await w.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
