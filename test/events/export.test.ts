import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestServer } from '../helpers/server.js';
import { publish, startRun, waitForRun } from '../runs/helpers.js';
import { parseNdjsonExport } from '../../src/core/index.js';
import { verifyEventChain } from '../../src/events/index.js';
import { PROGRAM_ARGS } from '../helpers/program.js';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..');

async function verifyCli(file: string): Promise<{ code: number; out: any }> {
  try {
    const { stdout } = await run(process.execPath, [...PROGRAM_ARGS, 'events', 'verify', file], { cwd: ROOT });
    return { code: 0, out: JSON.parse(stdout) };
  } catch (e: any) {
    return { code: e.code, out: JSON.parse(e.stdout) };
  }
}

test('event export: byte-identical twice, hash chain verifies, an edited event is caught', async (t) => {
  const s = await startTestServer(['--allow-unsigned']);
  t.after(() => s.stop());
  await publish(s, { dagId: 'chain', steps: [{ id: 'a', plugin: 'noop' }, { id: 'b', plugin: 'noop' }], edges: [{ from: 'a', to: 'b' }] });
  for (let i = 0; i < 3; i++) await waitForRun(s, (await startRun(s, 'chain')).runId);
  const a = await s.req('GET', '/events:export');
  const b = await s.req('GET', '/events:export');
  assert.equal(a.status, 200);
  assert.equal(a.text, b.text);
  const records = parseNdjsonExport(a.text) as any[];
  assert.ok(records.length >= 3 * 8);
  assert.ok(records.every((r) => r.tenant === 'a'));
  assert.deepEqual(records.map((r) => r.seq), records.map((_, i) => i + 1));
  assert.equal(verifyEventChain(records).ok, true);

  const since = await s.req('GET', '/events:export?since=5');
  assert.equal((parseNdjsonExport(since.text) as any[])[0].seq, 6);

  const dir = mkdtempSync(join(tmpdir(), 'orch-chain-'));
  const good = join(dir, 'good.ndjson');
  writeFileSync(good, a.text);
  const ok = await verifyCli(good);
  assert.equal(ok.code, 0);
  assert.equal(ok.out.ok, true);

  // Edit one event's status and re-seal the manifest, so only the chain can tell.
  const edited = records.map((r, i) => (i === 4 ? { ...r, status: r.status === 'completed' ? 'failed' : 'completed' } : r));
  const { ndjsonText } = await import('../../src/core/index.js');
  const bad = join(dir, 'bad.ndjson');
  writeFileSync(bad, await ndjsonText(edited));
  const caught = await verifyCli(bad);
  assert.equal(caught.code, 1);
  assert.equal(caught.out.ok, false);
  assert.equal(caught.out.problems[0].seq, 5);
  // A removed event breaks the sequence.
  const removed = join(dir, 'removed.ndjson');
  writeFileSync(removed, await ndjsonText(records.filter((_, i) => i !== 2)));
  assert.equal((await verifyCli(removed)).code, 1);
});
