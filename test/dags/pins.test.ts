/**
 * Plugin pins end to end (CONTRACT §16): a DAG version pins each step's plugin at publish
 * (`pluginPins` in the version, its export and nowhere else changed: `hash` stays the hash of
 * the definition as sent); a run of a version whose pinned plugin is gone or changed is
 * refused with 422 PLUGIN_UNAVAILABLE; versions stored by an older program are pinned at the
 * first start; keys in a tenant's trust sub-folder sign DAGs for that tenant only.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dagCanonicalJson, dagHash, generateSigningKeyPair, semverKey, signDag } from '../../src/dags/index.js';
import { VERSION } from '../../src/core/runtime.js';
import { canonicalHash } from '../../src/core/hash.js';
import { hashPluginDir } from '../../src/engine/plugins/files.js';
import { Store } from '../../src/store/index.js';
import { FIXTURES, startTestServer, type TestServer, TEST_STORE } from '../helpers/server.js';
import { waitForRun } from '../runs/helpers.js';

const devKey = readFileSync(join(FIXTURES, 'keys', 'dev-signing.key'), 'utf8');
const roots: string[] = [];
after(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

function tempRoot(): string {
  const r = mkdtempSync(join(tmpdir(), 'orch-pins-'));
  roots.push(r);
  return r;
}

function writeTool(parent: string, version: string, body = `export default async () => ({ tool: '${version}' });\n`): string {
  const dir = join(parent, 'tool');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'index.mjs'), body);
  writeFileSync(join(dir, 'plugin.json'), JSON.stringify({ name: 'tool', version, entry: 'index.mjs' }));
  return dir;
}

const toolDag = (dagId: string, plugin = 'tool', key = devKey) =>
  signDag({ dagId, version: '1.0.0', steps: [{ id: 'n', plugin: 'noop' }, { id: 't', plugin }, { id: 'u', plugin }], edges: [{ from: 'n', to: 't' }] } as any, key);

async function withServer(args: string[], fn: (t: TestServer) => Promise<void>, dataDir?: string): Promise<void> {
  const t = await startTestServer(args, {}, undefined, dataDir);
  try {
    await fn(t);
  } finally {
    if (dataDir) await t.server.close();
    else await t.stop();
  }
}

test('publish pins every distinct plugin reference; the view and the export show it; hash is the definition\'s', async () => {
  const ops = tempRoot();
  const toolDir = writeTool(ops, '1.2.0');
  await withServer(['--plugins-dir', ops], async (t) => {
    const doc = toolDag('pinned');
    const r = await t.req('POST', '/dags', { body: doc });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.body.hash, dagHash(doc));
    assert.deepEqual(r.body.pluginPins, {
      noop: { name: 'noop', version: VERSION, contentHash: canonicalHash({ builtin: 'noop', version: VERSION }), builtin: true },
      tool: { name: 'tool', version: '1.2.0', contentHash: hashPluginDir(toolDir), builtin: false },
    });
    const got = await t.req('GET', '/dags/pinned/1.0.0');
    assert.deepEqual(got.body.pluginPins, r.body.pluginPins);
    const line = JSON.parse((await t.req('GET', '/dags:export')).text.split('\n')[0]!);
    assert.deepEqual(line.pluginPins, r.body.pluginPins);
    // Re-publishing the same definition is the stored version, pins included.
    const again = await t.req('POST', '/dags', { body: doc });
    assert.equal(again.status, 200);
    assert.deepEqual(again.body, got.body);
  });
});

test('a run of a version whose pinned plugin changed or is gone is refused with 422 PLUGIN_UNAVAILABLE, storing nothing', async () => {
  const ops = tempRoot();
  writeTool(ops, '1.0.0');
  await withServer(['--plugins-dir', ops], async (t) => {
    assert.equal((await t.req('POST', '/dags', { body: toolDag('uses-tool') })).status, 201);
    const ok = await t.req('POST', '/runs', { body: { dagId: 'uses-tool' } });
    assert.equal(ok.status, 201, ok.text);
    const done = await waitForRun(t, ok.body.runId, { timeoutMs: 60_000 });
    assert.equal(done.status, 'completed');
    assert.deepEqual(done.steps.find((s: any) => s.stepId === 't').outputs, { tool: '1.0.0' });
    const runsBefore = (await t.req('GET', '/runs:export')).text;

    // Same name@version, other content: the operator edited the plugin in place.
    writeTool(ops, '1.0.0', "export default async () => ({ tool: 'edited' });\n");
    assert.equal((await t.req('POST', '/admin/warm', { tenant: null })).status, 200);
    const changed = await t.req('POST', '/runs', { body: { dagId: 'uses-tool' } });
    assert.equal(changed.status, 422, changed.text);
    assert.equal(changed.body.error.code, 'PLUGIN_UNAVAILABLE');
    assert.deepEqual({ ...changed.body.error.details, contentHash: undefined }, { dagId: 'uses-tool', version: '1.0.0', plugin: 'tool@1.0.0', reason: 'changed', contentHash: undefined });
    assert.match(changed.body.error.message, /tool@1\.0\.0 \(pinned by the DAG version\) is installed with other content/);

    rmSync(join(ops, 'tool'), { recursive: true });
    assert.equal((await t.req('POST', '/admin/warm', { tenant: null })).status, 200);
    const gone = await t.req('POST', '/runs', { body: { dagId: 'uses-tool' } });
    assert.equal(gone.status, 422, gone.text);
    assert.equal(gone.body.error.details.reason, 'missing');
    assert.equal((await t.req('GET', '/runs:export')).text, runsBefore, 'a refused run stores nothing');
    // A DAG naming it can no longer be published either.
    assert.equal((await t.req('POST', '/dags', { body: toolDag('uses-tool-2') })).body.error.code, 'DAG_INVALID');
  });
});

test('versions stored by an older program (no pins) are pinned at the first start; unresolvable ones are refused at run time', { skip: TEST_STORE === 'postgres' && 'the older program\'s versions are written into a SQLite data folder; PostgreSQL installations began with pinning' }, async () => {
  const ops = tempRoot();
  const toolDir = writeTool(ops, '1.0.0');
  const dataDir = tempRoot();
  // What an older program left: versions without pins (the migration adds the column empty).
  const store = Store.open({ dataDir });
  for (const [dagId, plugin] of [['legacy', 'tool'], ['orphan', 'gone']] as const) {
    const doc = toolDag(dagId, plugin);
    store.dags.insert({
      tenant: 'a', dagId, version: '1.0.0', versionKey: semverKey('1.0.0'), hash: dagHash(doc), definition: dagCanonicalJson(doc),
      signature: JSON.stringify(doc.signature), signedBy: '[]', pluginPins: null, createdMs: Date.now(),
    });
  }
  store.close();
  await withServer(['--plugins-dir', ops], async (t) => {
    const legacy = await t.req('GET', '/dags/legacy/1.0.0');
    assert.equal(legacy.body.pluginPins.tool.contentHash, hashPluginDir(toolDir));
    const run = await t.req('POST', '/runs', { body: { dagId: 'legacy' } });
    assert.equal(run.status, 201, run.text);
    assert.equal((await waitForRun(t, run.body.runId, { timeoutMs: 60_000 })).status, 'completed');
    const orphan = await t.req('GET', '/dags/orphan/1.0.0');
    assert.equal(orphan.body.pluginPins, null);
    const refused = await t.req('POST', '/runs', { body: { dagId: 'orphan' } });
    assert.equal(refused.status, 422);
    assert.equal(refused.body.error.code, 'PLUGIN_UNAVAILABLE');
    assert.match(refused.body.error.message, /stored before plugin pinning/);
    // Once the plugin is installed, /admin/warm pins it.
    mkdirSync(join(ops, 'gone'));
    writeFileSync(join(ops, 'gone', 'index.mjs'), 'export default async () => ({});\n');
    writeFileSync(join(ops, 'gone', 'plugin.json'), JSON.stringify({ name: 'gone', version: '3.0.0', entry: 'index.mjs' }));
    assert.equal((await t.req('POST', '/admin/warm', { tenant: null })).status, 200);
    assert.equal((await t.req('GET', '/dags/orphan/1.0.0')).body.pluginPins.gone.version, '3.0.0');
    assert.equal((await t.req('POST', '/runs', { body: { dagId: 'orphan' } })).status, 201);
  }, dataDir);
});

test('a key in the trust folder\'s <tenant>/ sub-folder signs DAGs for that tenant only', async () => {
  const trust = tempRoot();
  writeFileSync(join(trust, 'dev.pub'), readFileSync(join(FIXTURES, 'keys', 'trust', 'dev-signing.pub')));
  const acme = generateSigningKeyPair();
  mkdirSync(join(trust, 'acme'));
  writeFileSync(join(trust, 'acme', 'acme.pub'), acme.publicKeyPem);
  await withServer(['--trust-dir', trust], async (t) => {
    const doc = signDag({ dagId: 'signed-by-acme', version: '1.0.0', steps: [{ id: 'n', plugin: 'noop' }] } as any, acme.privateKeyPem);
    const ok = await t.req('POST', '/dags', { tenant: 'acme', body: doc });
    assert.equal(ok.status, 201, ok.text);
    assert.deepEqual(ok.body.signedBy, [acme.keyid]);
    const other = await t.req('POST', '/dags', { tenant: 'other', body: doc });
    assert.equal(other.status, 422);
    assert.equal(other.body.error.code, 'SIGNATURE_INVALID');
    // Installation-wide keys still sign for every tenant.
    const shared = signDag({ dagId: 'shared', version: '1.0.0', steps: [{ id: 'n', plugin: 'noop' }] } as any, devKey);
    assert.equal((await t.req('POST', '/dags', { tenant: 'other', body: shared })).status, 201);
  });
});
