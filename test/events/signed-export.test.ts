// @sqlite-only: the offline CLI commands under test (export, import, verify on --data-dir) read and write a stopped SQLite data folder; on PostgreSQL the same exports are the API's (test/runs/api, test/events/export)
/**
 * `export events --key` signs the manifest with the chain's head; `events verify --trust-dir`
 * checks it: a wholly rewritten file (an event changed, every hash after it recomputed, the
 * manifest's count and SHA-256 too) still passes the chain check alone, but fails once signed.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestServer, FIXTURES } from '../helpers/server.js';
import { publish, startRun, waitForRun } from '../runs/helpers.js';
import { canonicalJson, ndjsonText, readNdjsonExport, sha256Hex } from '../../src/core/index.js';
import { cli } from '../lifecycle/support.js';

const KEY = join(FIXTURES, 'keys', 'dev-signing.key');
const TRUST = join(FIXTURES, 'keys', 'trust');
let work = '';
let dataDir = '';

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'orch-signed-events-'));
  const t = await startTestServer(['--allow-unsigned']);
  dataDir = t.dataDir;
  await publish(t, { dagId: 'ev', steps: [{ id: 'a', plugin: 'noop' }, { id: 'b', plugin: 'noop' }], edges: [{ from: 'a', to: 'b' }] });
  for (let i = 0; i < 2; i++) await waitForRun(t, (await startRun(t, 'ev')).runId);
  await t.server.close();
});
after(() => {
  rmSync(work, { recursive: true, force: true });
  rmSync(dataDir, { recursive: true, force: true });
});

/** The export with its second event's status changed and the chain and manifest recomputed. */
async function rewritten(text: string): Promise<string> {
  const { records, manifest } = readNdjsonExport(text) as { records: any[]; manifest: Record<string, unknown> };
  let prev = '';
  const out = records.map((r, i) => {
    const { prevHash: _p, hash: _h, ...view } = r;
    if (i === 1) view.status = 'cancelled';
    const hash = sha256Hex((i === 0 ? r.prevHash : prev) + canonicalJson(view));
    const rec = { ...view, prevHash: i === 0 ? r.prevHash : prev, hash };
    prev = hash;
    return rec;
  });
  const { count: _c, sha256: _s, ...extra } = manifest;
  // The forger even claims the new head; only the signature is left as it was.
  return ndjsonText(out, () => ({ ...extra, head: prev }));
}

test('a signed event export verifies with the trusted keys; a rewritten one with a valid chain does not', async () => {
  const signed = join(work, 'signed.ndjson');
  const e = await cli(['export', 'events', '--data-dir', dataDir, '--tenant', 'a', '--key', KEY, '--out', signed]);
  assert.equal(e.code, 0, e.stderr);
  const ok = await cli(['events', 'verify', signed, '--trust-dir', TRUST]);
  assert.equal(ok.code, 0, ok.stdout);
  assert.equal(ok.json.signedBy.length, 1);

  const forged = join(work, 'forged.ndjson');
  writeFileSync(forged, await rewritten(readFileSync(signed, 'utf8')));
  const chainOnly = await cli(['events', 'verify', forged]);
  assert.equal(chainOnly.code, 0, 'the forged chain is internally consistent: the chain check alone cannot tell');
  const bad = await cli(['events', 'verify', forged, '--trust-dir', TRUST]);
  assert.equal(bad.code, 1, bad.stdout);
  assert.match(bad.json.problems.at(-1).problem, /^signature: the signature is for another export/);

  // An unsigned export (or one whose signature was stripped) fails when a signature is required.
  const unsigned = join(work, 'unsigned.ndjson');
  assert.equal((await cli(['export', 'events', '--data-dir', dataDir, '--tenant', 'a', '--out', unsigned])).code, 0);
  const none = await cli(['events', 'verify', unsigned, '--trust-dir', TRUST]);
  assert.equal(none.code, 1);
  assert.match(none.json.problems.at(-1).problem, /not signed/);
  // Signed as tenant a, presented as another tenant's: refused.
  const other = readFileSync(signed, 'utf8').replace('"tenant":"a"}}', '"tenant":"b"}}');
  const relabelled = join(work, 'relabelled.ndjson');
  writeFileSync(relabelled, other);
  assert.equal((await cli(['events', 'verify', relabelled, '--trust-dir', TRUST])).code, 1);
});
