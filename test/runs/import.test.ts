// @sqlite-only: the offline CLI commands under test (export, import, verify on --data-dir) read and write a stopped SQLite data folder; on PostgreSQL the same exports are the API's (test/runs/api, test/events/export)
/**
 * `import runs` keeps tenants apart and proves what it stores: only the tenant named by
 * `--tenant`, every hash recomputed, the DAG version checked against the stored one, signed
 * exports verified, and an imported run never answers a new run's `runToken`.
 *
 * The exploit this guards against (found by a review): an export of tenant a, edited to tenant
 * b with a chosen runToken, imported with `{"ok":true}`; b's `POST /runs` with that runToken
 * then answered 200 with the forged run — none of b's code ran.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { publish, startRun, waitForRun } from './helpers.js';
import { ndjsonText, parseNdjsonExport, readNdjsonExport, canonicalHash } from '../../src/core/index.js';
import { generateSigningKeyPair } from '../../src/dags/signature.js';
import { importRunRecords } from '../../src/runs/transfer.js';
import { SqlitePorts, Store } from '../../src/store/index.js';
import { PROGRAM_ARGS } from '../helpers/program.js';

const exec = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..');
async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return cliEnv({}, ...args);
}
async function cliEnv(env: Record<string, string>, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await exec(process.execPath, [...PROGRAM_ARGS, ...args], { cwd: ROOT, env: { ...process.env, ...env } });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e: any) {
    return { code: e.code as number, stdout: e.stdout as string, stderr: e.stderr as string };
  }
}

const tmp = mkdtempSync(join(tmpdir(), 'orch-import-'));
// Target installations live in here: their plugin hosts (another user when run as root) must
// reach <data-dir>-work through it, as an operator's installation folder lets them.
chmodSync(tmp, 0o711);
const DAG = {
  dagId: 'xfer',
  inputsSchema: { type: 'object', properties: { v: { type: 'number' } } },
  steps: [
    { id: 'one', plugin: 'echo', with: { v: '${{ inputs.v }}' } },
    { id: 'two', plugin: 'echo', with: { got: '${{ steps.one.outputs.v }}' } },
  ],
  edges: [{ from: 'one', to: 'two' }],
};

let source: TestServer;
/** Tenant a's export (as the CLI writes it), its records, and the export signed with a key. */
let exportFile: string;
let records: any[];
let keyFile: string;
let trustDir: string;
let keyid: string;

/** A fresh target installation: tenants a and b both have the DAG version (same content). */
async function target(): Promise<string> {
  const dir = mkdtempSync(join(tmp, 'target-'));
  const t = await startTestServer(['--allow-unsigned'], {}, undefined, dir);
  await publish(t, DAG, 'a');
  await publish(t, DAG, 'b');
  await t.server.close();
  return dir;
}

async function writeExport(name: string, recs: unknown[]): Promise<string> {
  const f = join(tmp, name);
  writeFileSync(f, await ndjsonText(recs));
  return f;
}

before(async () => {
  source = await startTestServer(['--allow-unsigned']);
  await publish(source, DAG, 'a');
  for (let i = 0; i < 2; i++) {
    const r = await startRun(source, 'xfer', { inputs: { v: i }, runToken: `tok-${i}` });
    assert.equal((await waitForRun(source, r.runId)).status, 'completed');
  }
  await source.server.close();
  const kp = generateSigningKeyPair('ed25519');
  keyid = kp.keyid;
  keyFile = join(tmp, 'export.key');
  writeFileSync(keyFile, kp.privateKeyPem);
  trustDir = join(tmp, 'trust');
  mkdirSync(trustDir);
  writeFileSync(join(trustDir, 'export.pub'), kp.publicKeyPem);
  exportFile = join(tmp, 'a.ndjson');
  const e = await cli('export', 'runs', '--data-dir', source.dataDir, '--tenant', 'a', '--out', exportFile);
  assert.equal(e.code, 0, e.stderr);
  records = parseNdjsonExport(readFileSync(exportFile, 'utf8'));
  assert.equal(records.length, 2);
});
after(() => {
  rmSync(source.dataDir, { recursive: true, force: true });
  rmSync(tmp, { recursive: true, force: true });
});

test('every export without a tenant (or a malformed one) exits 2, "tenant missing", and writes nothing', async () => {
  for (const what of ['runs', 'dags', 'events']) {
    for (const extra of [[], ['--tenant', 'Not A Tenant']]) {
      const out = join(tmp, `no-tenant-${what}.ndjson`);
      const r = await cli('export', what, '--data-dir', source.dataDir, '--out', out, ...extra);
      assert.equal(r.code, 2, `export ${what} ${extra.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /--tenant is required/);
      assert.equal(existsSync(out), false);
    }
  }
});

test('the forged import of the review: refused without --tenant, refused into another tenant; b\'s runToken starts a new run even after a deliberate import', async () => {
  const dir = await target();
  // Tenant a's run, edited to tenant b with a chosen runToken; still a completed run.
  const forged = await writeExport('forged.ndjson', [{ ...records[0], tenant: 'b', runToken: 'forged' }]);
  const asIssued = await cli('import', 'runs', forged, '--data-dir', dir);
  assert.equal(asIssued.code, 2, `no --tenant: refused (${asIssued.stdout}${asIssued.stderr})`);
  assert.match(asIssued.stderr, /--tenant is required/);
  const fromEnv = await cliEnv({ ORCH_TENANT: 'b', ORCH_ALLOW_UNSIGNED: 'true' }, 'import', 'runs', forged, '--data-dir', dir);
  assert.equal(fromEnv.code, 2, 'the tenant of an import is never taken from the environment');
  const intoA = await cli('import', 'runs', forged, '--data-dir', dir, '--tenant', 'a', '--allow-unsigned');
  assert.equal(intoA.code, 1);
  assert.match(intoA.stderr, /belongs to tenant "b", not "a"/);
  const unsure = await cli('import', 'runs', forged, '--data-dir', dir, '--tenant', 'b');
  assert.equal(unsure.code, 1, 'neither --trust-dir nor --allow-unsigned: refused');
  assert.match(unsure.stderr, /--trust-dir|--allow-unsigned/);

  // The operator of b imports it on purpose: its hashes hold (the same DAG content), so it is
  // stored as history — but its runToken never answers a new run.
  const deliberate = await cli('import', 'runs', forged, '--data-dir', dir, '--tenant', 'b', '--allow-unsigned');
  assert.equal(deliberate.code, 0, deliberate.stderr);
  const t = await startTestServer([], {}, undefined, dir);
  try {
    assert.equal((await t.req('GET', `/runs/${records[0].runId}`, { tenant: 'b' })).body.runToken, 'forged');
    const again = await t.req('POST', '/runs', { tenant: 'b', body: { dagId: 'xfer', inputs: records[0].inputs, runToken: 'forged' } });
    assert.equal(again.status, 201, `a new run, not the imported one (${again.status})`);
    assert.notEqual(again.body.runId, records[0].runId);
    const ran = await waitForRun(t, again.body.runId, { tenant: 'b' });
    assert.equal(ran.status, 'completed');
    assert.ok(ran.steps.every((s: any) => s.attempts.length === 1), 'b\'s own steps ran');
    // And the token now belongs to that new run: the usual idempotency holds.
    const replay = await t.req('POST', '/runs', { tenant: 'b', body: { dagId: 'xfer', inputs: records[0].inputs, runToken: 'forged' } });
    assert.equal(replay.status, 200);
    assert.equal(replay.body.runId, again.body.runId);
  } finally {
    await t.stop();
  }
});

test('every hash is recomputed; a DAG version this tenant does not have, a run that has not ended, steps that are not the DAG\'s: refused, all or nothing', async () => {
  const dir = await target();
  const good = records[1];
  const step = (r: any, id: string) => r.steps.find((s: any) => s.stepId === id);
  const edits: Array<[string, (r: any) => void, RegExp]> = [
    ['run inputs changed, hash kept', (r) => (r.inputs = { v: 42 }), /inputsHash is not the hash of the run's inputs/],
    ['step outputs changed, hash kept', (r) => (step(r, 'one').outputs = { v: 42 }), /step one: outputsHash does not match/],
    ['step outputs and hash changed, run hash kept', (r) => {
      step(r, 'two').outputs = { got: 42 };
      step(r, 'two').outputsHash = canonicalHash({ got: 42 });
      step(r, 'two').attempts.at(-1).outputsHash = canonicalHash({ got: 42 });
    }, /outputsHash is not the hash of its completed steps/],
    ['step inputsHash not of its resolved with', (r) => (step(r, 'two').inputsHash = canonicalHash({ got: 42 })), /step two: inputsHash is not the hash/],
    ['another DAG hash', (r) => (r.dagHash = 'f'.repeat(64)), /is not stored in tenant a: publish that version first/],
    ['a DAG version not stored here', (r) => (r.dagVersion = '9.9.9'), /xfer@9\.9\.9 .* is not stored in tenant a/],
    ['a run still running', (r) => (r.status = 'running'), /has not ended \(running\)/],
    ['a completed run with a failed step', (r) => (step(r, 'two').status = 'failed'), /completed run has a step/],
    ['a step missing', (r) => r.steps.pop(), /the steps are not those of xfer@1\.0\.0/],
    ['a step not ended', (r) => (step(r, 'two').status = 'running'), /step two has not ended/],
  ];
  const store = Store.open({ dataDir: dir });
  const ports = new SqlitePorts(store);
  try {
    for (const [what, edit, why] of edits) {
      const bad = structuredClone(good);
      bad.runId = '01900000-0000-7000-8000-0000000000bb';
      bad.runToken = null;
      edit(bad);
      await assert.rejects(importRunRecords(ports, [records[0], bad], { tenant: 'a' }), (e: any) => {
        assert.equal(e.code, 'VALIDATION_FAILED', what);
        assert.match(e.message, why, what);
        assert.match(e.message, /^record 2: .*nothing was imported$/, what);
        return true;
      }, what);
      assert.equal(store.runs.getForTenant('a', records[0].runId), undefined, `${what}: the good record before it was not kept either`);
    }
    assert.deepEqual(await importRunRecords(ports, records, { tenant: 'a' }), { imported: 2, unchanged: 0 }, 'the unedited export imports');
  } finally {
    store.close();
  }
});

test('signed exports: --key signs the manifest; --trust-dir verifies it, refuses an edited, unsigned or other-tenant file', async () => {
  const dir = await target();
  const signedFile = join(tmp, 'signed.ndjson');
  const e = await cli('export', 'runs', '--data-dir', source.dataDir, '--tenant', 'a', '--key', keyFile, '--out', signedFile);
  assert.equal(e.code, 0, e.stderr);
  const signedText = readFileSync(signedFile, 'utf8');
  const { records: signedRecords, manifest } = readNdjsonExport(signedText);
  assert.deepEqual(signedRecords, records, 'the same records, only the manifest differs');
  assert.equal((manifest.signature as any).signatures[0].keyid, keyid);
  const e2 = join(tmp, 'signed-again.ndjson');
  await cli('export', 'runs', '--data-dir', source.dataDir, '--tenant', 'a', '--key', keyFile, '--out', e2);
  assert.equal(readFileSync(e2, 'utf8'), signedText, 'Ed25519: exporting twice gives the same bytes');

  const trusted = ['--data-dir', dir, '--trust-dir', trustDir];
  // Edited after signing (manifest recomputed, signature kept): the signature no longer matches.
  const edited = join(tmp, 'edited.ndjson');
  const changed = structuredClone(signedRecords) as any[];
  changed[0].traceId = 'e'.repeat(32);
  writeFileSync(edited, await ndjsonText(changed, () => ({ signature: manifest.signature })));
  const r1 = await cli('import', 'runs', edited, ...trusted, '--tenant', 'a');
  assert.equal(r1.code, 1);
  assert.match(r1.stderr, /SIGNATURE_INVALID: the signature is for another export/);
  // Unsigned, with --trust-dir: refused (unless --allow-unsigned says so).
  const r2 = await cli('import', 'runs', exportFile, ...trusted, '--tenant', 'a');
  assert.equal(r2.code, 1);
  assert.match(r2.stderr, /SIGNATURE_INVALID: the export is not signed/);
  // Signed by a key not trusted here.
  const other = join(tmp, 'other-trust');
  mkdirSync(other);
  writeFileSync(join(other, 'other.pub'), generateSigningKeyPair('p256').publicKeyPem);
  const r3 = await cli('import', 'runs', signedFile, '--data-dir', dir, '--trust-dir', other, '--tenant', 'a');
  assert.equal(r3.code, 1);
  assert.match(r3.stderr, /SIGNATURE_INVALID: no signature verifies with a trusted key/);
  // The signature names the tenant: the same file cannot be passed off as tenant b's.
  const r4 = await cli('import', 'runs', signedFile, ...trusted, '--tenant', 'b');
  assert.equal(r4.code, 1);
  assert.match(r4.stderr, /SIGNATURE_INVALID/);
  const ok = await cli('import', 'runs', signedFile, ...trusted, '--tenant', 'a');
  assert.equal(ok.code, 0, ok.stderr);
  assert.deepEqual(JSON.parse(ok.stdout), { ok: true, imported: 2, unchanged: 0, signedBy: [keyid] });
});
