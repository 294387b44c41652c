/**
 * Hostile world, plugins beneath the API (issue #10, exploit 2): a signed bundle imported for
 * tenant A carries a newer `digest-manifest`. Before plugins belonged to tenants, it became the
 * installation's newest `digest-manifest` and ran inside tenant B's runs (with
 * `ctx.tenant = b`, reading B's artifacts and writing into B). Here:
 * - B's run of a DAG naming `digest-manifest` runs the operator's 1.0.0, never A's 9.0.0;
 * - the same bundle dropped into B's preload folder is refused and installs nothing;
 * - A's plugin is invisible to B's publish: 422 DAG_INVALID exactly like a plugin that does
 *   not exist;
 * - a newer operator plugin installed after publish (and loaded by /admin/warm) does not change
 *   what an existing DAG version runs; only a new version picks it up.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBundle } from '../../src/bundles/index.js';
import { signDag } from '../../src/dags/signature.js';
import { hashPluginDir } from '../../src/engine/plugins/files.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { waitForRun } from '../runs/helpers.js';
import { assertEnvelope } from './support.js';

const ROOT = join(import.meta.dirname, '..', '..');
const devKey = readFileSync(join(ROOT, 'fixtures', 'keys', 'dev-signing.key'), 'utf8');
const OPERATOR_PLUGIN = join(ROOT, 'plugins', 'digest-manifest');
const MARKER = 'taken over by digest-manifest@9.0.0';

/** A's newer digest-manifest: it announces itself, tries to read what it is given, and plants an artifact. */
const HOSTILE_ENTRY = `export default async (ctx) => {
  ctx.log('${MARKER}', { tenant: ctx.tenant });
  let stolen = null;
  for (const h of ctx.inputs.artifacts ?? []) {
    try { stolen = Buffer.from(await ctx.readArtifact(h.replace(/^sha256:/, ''))).toString('utf8'); } catch { /* not ours */ }
  }
  const planted = await ctx.writeArtifact('${MARKER} in tenant ' + ctx.tenant);
  return { takenOver: true, version: '9.0.0', tenant: ctx.tenant, stolen, planted };
};
`;

function pluginFiles(version: string, entry: string) {
  return [
    { path: 'index.mjs', data: Buffer.from(entry) },
    {
      path: 'plugin.json',
      data: Buffer.from(JSON.stringify({ name: 'digest-manifest', version, entry: 'index.mjs', description: `digest-manifest ${version}`, capabilities: { network: false, exec: [] } })),
    },
  ];
}

/** A signed DAG: a secret artifact, then `plugin` digests it. */
function digestDag(dagId: string, version: string, plugin: string, secret: string): any {
  return signDag(
    {
      dagId,
      version,
      steps: [
        { id: 'secret', plugin: 'artifact', with: { content: secret } },
        { id: 'digest', plugin, with: { artifacts: ['${{ steps.secret.outputs.hash }}'] } },
      ],
      edges: [{ from: 'secret', to: 'digest' }],
    } as any,
    devKey,
  );
}

/** An operator plugin `stamp` that returns its own version. */
function writeStamp(parent: string, version: string): void {
  mkdirSync(join(parent, 'stamp'), { recursive: true });
  writeFileSync(join(parent, 'stamp', 'index.mjs'), `export default async () => ({ stamp: '${version}' });\n`);
  writeFileSync(join(parent, 'stamp', 'plugin.json'), JSON.stringify({ name: 'stamp', version, entry: 'index.mjs' }));
}

let dir: string;
let operator2: string;
let operator3: string;
let t: TestServer;
let bToken: string;
const stats = { runs: 0, refusals: 0 };

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'orch-hostile-plugins-'));
  operator2 = join(dir, 'operator-2');
  operator3 = join(dir, 'operator-3');
  writeStamp(operator2, '1.0.0');
  mkdirSync(operator3);
  const dagsDir = join(dir, 'dags');
  mkdirSync(join(dagsDir, 'a'), { recursive: true });
  mkdirSync(join(dagsDir, 'b'), { recursive: true });
  const bundle = createBundle({
    tenants: ['a'],
    dags: [digestDag('a-digest', '1.0.0', 'digest-manifest', 'a secret')],
    plugins: [{ name: 'digest-manifest', files: pluginFiles('9.0.0', HOSTILE_ENTRY) }],
    privateKeyPem: devKey,
  }).bytes;
  writeFileSync(join(dagsDir, 'a', 'a-plugins.tgz'), bundle);
  // The same signed file, dropped where tenant b's bundles go.
  writeFileSync(join(dagsDir, 'b', 'a-plugins.tgz'), bundle);
  t = await startTestServer(['--plugins-dir', join(ROOT, 'plugins'), '--plugins-dir', operator2, '--plugins-dir', operator3, '--dags-dir', dagsDir]);
  bToken = await t.token({ tenants: ['b'] });
});

after(async () => {
  console.log(`plugin-ownership: ${stats.runs} runs checked for a foreign plugin, ${stats.refusals} refusals checked`);
  await t.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function runOf(tenant: string, dagId: string, version?: string): Promise<any> {
  const r = await t.req('POST', '/runs', { tenant, body: { dagId, ...(version ? { version } : {}) } });
  assert.equal(r.status, 201, r.text);
  // Generous: the first run waits for the worker threads to start, slow on a loaded machine.
  const run = await waitForRun(t, r.body.runId, { tenant, timeoutMs: 60_000 });
  stats.runs++;
  return run;
}

async function logOf(tenant: string, hash: string): Promise<string> {
  const r = await t.req('GET', `/artifacts/${hash}`, { tenant });
  assert.equal(r.status, 200, r.text);
  return r.text;
}

test("tenant a's newer digest-manifest never runs in tenant b's run", async () => {
  const pub = await t.req('POST', '/dags', { tenant: 'b', body: digestDag('b-digest', '1.0.0', 'digest-manifest', 'b secret') });
  assert.equal(pub.status, 201, pub.text);
  const run = await runOf('b', 'b-digest');
  assert.equal(run.status, 'completed', JSON.stringify(run));
  const digest = run.steps.find((s: any) => s.stepId === 'digest');
  assert.equal(digest.outputs.takenOver, undefined, `a's plugin ran in b's run: ${JSON.stringify(digest.outputs)}`);
  assert.equal(digest.outputs.count, 1, 'the operator plugin digested b\'s artifact');
  assert.match(digest.outputs.manifestHash, /^[0-9a-f]{64}$/);
  assert.doesNotMatch(await logOf('b', digest.logsRef), /taken over/);
  // What b's version is pinned to, and shows.
  assert.deepEqual(pub.body.pluginPins['digest-manifest'], {
    name: 'digest-manifest', version: '1.0.0', contentHash: hashPluginDir(OPERATOR_PLUGIN), builtin: false,
  });
  // Tenant a runs its own plugin, in its own tenant, and still cannot read b's artifact.
  const own = await runOf('a', 'a-digest');
  assert.equal(own.status, 'completed', JSON.stringify(own));
  const mine = own.steps.find((s: any) => s.stepId === 'digest').outputs;
  assert.equal(mine.takenOver, true);
  assert.equal(mine.tenant, 'a');
  const bSecret = run.steps.find((s: any) => s.stepId === 'secret').outputs.hash;
  const steal = await t.req('POST', '/dags', {
    tenant: 'a',
    body: signDag({ dagId: 'a-steal', version: '1.0.0', steps: [{ id: 's', plugin: 'digest-manifest', with: { artifacts: [bSecret] } }] } as any, devKey),
  });
  assert.equal(steal.status, 201, steal.text);
  const stolen = await runOf('a', 'a-steal');
  assert.equal(stolen.steps[0].outputs.stolen, null, "a's plugin read b's artifact");
});

test('the same bundle dropped into tenant b is refused and installs nothing there', async () => {
  const b = await t.req('GET', '/dags', { tenant: 'b' });
  assert.equal(b.status, 200);
  assert.ok(!b.body.items.some((d: any) => d.dagId === 'a-digest'), `the bundle was imported into b: ${b.text}`);
  assert.equal(existsSync(join(t.dataDir, 'tenant-plugins', 'b')), false, 'no plugin folder for b');
  assert.equal(existsSync(join(t.dataDir, 'plugins', 'digest-manifest')), false, 'no installation-wide plugin folder');
  stats.refusals++;
});

test("tenant a's plugin is invisible to b's publish: answered exactly like a plugin that does not exist", async () => {
  const asked = await t.req('POST', '/dags', { tenant: 'b', body: digestDag('b-wants-9', '1.0.0', 'digest-manifest@9.0.0', 'b') });
  const none = await t.req('POST', '/dags', { tenant: 'b', body: digestDag('b-wants-9', '1.0.0', 'digest-manifest@9.9.9', 'b') });
  assertEnvelope(asked, 422, 'DAG_INVALID', 'publish naming a plugin of another tenant');
  assert.equal(asked.body.error.details.errors[0].code, 'UNKNOWN_PLUGIN');
  const strip = (r: any) => JSON.stringify({ ...r.body.error, trace_id: undefined }).replaceAll('9.0.0', 'X').replaceAll('9.9.9', 'X');
  assert.equal(strip(asked), strip(none));
  stats.refusals++;
});

test('a newer operator plugin installed after publish does not change what an existing DAG version runs', async () => {
  const stampDag = (version: string) => signDag({ dagId: 'b-stamp', version, steps: [{ id: 'stamp', plugin: 'stamp' }] } as any, devKey);
  const v1 = await t.req('POST', '/dags', { tenant: 'b', body: stampDag('1.0.0') });
  assert.equal(v1.status, 201, v1.text);
  const stampOf = async (version: string) => (await runOf('b', 'b-stamp', version)).steps[0].outputs.stamp;
  assert.equal(await stampOf('1.0.0'), '1.0.0');
  // The operator installs stamp@2.0.0 and reloads the plugins.
  writeStamp(operator3, '2.0.0');
  const warm = await t.req('POST', '/admin/warm', { tenant: null, token: bToken });
  assert.equal(warm.status, 200, warm.text);
  assert.equal(await stampOf('1.0.0'), '1.0.0', 'the existing version now runs the newer plugin');
  assert.equal(v1.body.pluginPins.stamp.version, '1.0.0');
  // A new version of the DAG, published now, is pinned to (and runs) the newer plugin.
  const v2 = await t.req('POST', '/dags', { tenant: 'b', body: stampDag('1.1.0') });
  assert.equal(v2.status, 201, v2.text);
  assert.equal(v2.body.pluginPins.stamp.version, '2.0.0');
  assert.equal(await stampOf('1.1.0'), '2.0.0');
  // The first version still shows what it was pinned to.
  const again = await t.req('GET', '/dags/b-stamp/1.0.0', { tenant: 'b' });
  assert.deepEqual(again.body.pluginPins, v1.body.pluginPins);
});
