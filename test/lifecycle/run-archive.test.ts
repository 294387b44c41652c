/**
 * Moving runs between sites with the real command line: `export archive` of a tenant's runs,
 * `import archive` into a fresh folder, which then serves the same runs, logs and artifacts
 * byte for byte; the same data gives the same archive bytes; re-import is harmless; a tampered
 * archive (a byte of an artifact, of a run line, of the manifest), an unsigned one without
 * `--allow-unsigned`, another tenant's, and a DAG version present with another hash are each
 * refused with nothing installed.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { startTestServer, FIXTURES, type TestServer } from '../helpers/server.js';
import { publish, startRun, waitForRun } from '../runs/helpers.js';
import { gzipDeterministic } from '../../src/bundles/index.js';
import { Store } from '../../src/store/index.js';
import { cli, casObjects } from './support.js';

const DAG = {
  dagId: 'moved',
  steps: [
    { id: 'make', plugin: 'artifact', with: { content: 'report ${{ inputs.n }}', mediaType: 'text/markdown' } },
    { id: 'flaky', plugin: 'fail', with: { times: 1 }, retries: { max: 1, backoffMs: 1 } },
    { id: 'refer', plugin: 'echo', with: { again: '${{ steps.make.outputs.hash }}' } },
  ],
  edges: [{ from: 'make', to: 'flaky' }, { from: 'flaky', to: 'refer' }],
};
const KEY = join(FIXTURES, 'keys', 'dev-signing.key');
const TRUST = join(FIXTURES, 'keys', 'trust');

let src: TestServer;
let work = '';
let archive = '';
const runs: any[] = [];

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'orch-run-archive-'));
  chmodSync(work, 0o755); // plugin hosts run as another user (docs/SECURITY.md): they reach the moved folder through it
  src = await startTestServer(['--allow-unsigned']);
  await publish(src, DAG);
  await publish(src, { dagId: 'other', steps: [{ id: 'x', plugin: 'noop' }] });
  for (let n = 0; n < 3; n++) runs.push(await waitForRun(src, (await startRun(src, 'moved', { inputs: { n } })).runId));
  await waitForRun(src, (await startRun(src, 'other')).runId);
  archive = join(work, 'moved.tar.gz');
  const r = await cli(['export', 'archive', '--data-dir', src.dataDir, '--tenant', 'a', '--dag-id', 'moved', '--key', KEY, '--out', archive]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.json.runs, 3);
  assert.equal(r.json.dags, 1);
  assert.ok(r.json.artifacts >= 6, `each run's artifact and failed attempt's log: ${r.json.artifacts}`);
  assert.ok(r.json.events > 0);
  assert.equal(r.json.signedBy.length, 1);
});
after(async () => {
  await src.stop();
  rmSync(src.dataDir, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
});

/** The bytes of an answer. */
async function bytes(url: string, token: string, path: string): Promise<{ status: number; body: Buffer }> {
  const res = await fetch(`${url}/api/v1/orchestrator${path}`, { headers: { authorization: `Bearer ${token}`, 'x-stella-tenant': 'a' } });
  return { status: res.status, body: Buffer.from(await res.arrayBuffer()) };
}

/** What a user reads of a run on a site: the run and every log and artifact it names. */
async function seen(t: { url: string }, token: string, run: any): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const r = await bytes(t.url, token, `/runs/${run.runId}`);
  assert.equal(r.status, 200, r.body.toString());
  out.set('run', r.body.toString());
  const hashes = new Set<string>();
  for (const s of run.steps) {
    if (s.logsRef) hashes.add(s.logsRef);
    for (const a of s.attempts) if (a.logsRef) hashes.add(a.logsRef);
    if (s.outputs?.hash) hashes.add(s.outputs.hash);
  }
  assert.ok(hashes.size >= 2, 'the run names a log and an artifact');
  for (const h of hashes) {
    const a = await bytes(t.url, token, `/artifacts/${h}`);
    assert.equal(a.status, 200, `artifact ${h}`);
    out.set(h, a.body.toString('base64'));
  }
  return out;
}

const importArgs = (file: string, dataDir: string, ...more: string[]) => ['import', 'archive', file, '--tenant', 'a', '--data-dir', dataDir, ...more];

test('a fresh folder serves the moved runs, their logs and artifacts as the source does; re-import is harmless', async () => {
  const target = join(work, 'target');
  const r = await cli(importArgs(archive, target, '--trust-dir', TRUST));
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.json.runs.imported, 3);
  assert.deepEqual(r.json.dags, { imported: 1, unchanged: 0 });
  assert.equal(r.json.signedBy.length, 1);
  const segment = join(target, r.json.eventSegment);
  const verify = await cli(['events', 'verify', segment]);
  assert.equal(verify.code, 0, verify.stdout);
  const again = await cli(importArgs(archive, target, '--trust-dir', TRUST));
  assert.equal(again.code, 0, again.stderr);
  assert.deepEqual([again.json.runs, again.json.dags], [{ imported: 0, unchanged: 3 }, { imported: 0, unchanged: 1 }]);

  const dst = await startTestServer(['--allow-unsigned'], {}, undefined, target);
  try {
    const tokA = await src.token({ tenants: ['a'] });
    const tokB = await dst.token({ tenants: ['a'] });
    for (const run of runs) assert.deepEqual(await seen(dst, tokB, run), await seen(src, tokA, run), `run ${run.runId}`);
    const list = await dst.req('GET', '/runs');
    assert.equal(list.body.items.length, 3, 'only the archived DAG\'s runs moved');
    // The moved DAG version runs here, and the local event chain still verifies.
    const fresh = await waitForRun(dst, (await startRun(dst, 'moved', { inputs: { n: 5 } })).runId);
    assert.equal(fresh.status, runs[0].status, JSON.stringify(fresh.steps.map((s: any) => [s.stepId, s.status, s.errorCode, s.errorMessage])));
    assert.equal(fresh.dagHash, runs[0].dagHash);
  } finally {
    await dst.server.close();
  }
  const events = await cli(['export', 'events', '--data-dir', target, '--tenant', 'a', '--out', join(work, 'target-events.ndjson')]);
  assert.equal(events.code, 0, events.stderr);
  assert.equal((await cli(['events', 'verify', join(work, 'target-events.ndjson')])).code, 0);
});

test('the same data gives the same archive bytes', async () => {
  const second = join(work, 'second.tar.gz');
  const r = await cli(['export', 'archive', '--data-dir', src.dataDir, '--tenant', 'a', '--dag-id', 'moved', '--key', KEY, '--out', second]);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(readFileSync(second).equals(readFileSync(archive)));
});

/** The archive's tar with one byte changed inside `path`'s data (re-gzipped, so only the tar changes). */
function tampered(name: string, path: string): string {
  const tar = gunzipSync(readFileSync(archive));
  let off = 0;
  while (off < tar.length) {
    const entry = tar.subarray(off, off + 100).toString('utf8').replace(/\0.*$/s, '');
    const size = parseInt(tar.subarray(off + 124, off + 136).toString('utf8').replace(/\0.*$/s, '').trim(), 8);
    if (entry === path || (path.endsWith('/') && entry.startsWith(path))) {
      const at = off + 512 + Math.floor(size / 2);
      tar[at] = tar[at]! ^ 1;
      const file = join(work, name);
      writeFileSync(file, gzipDeterministic(tar));
      return file;
    }
    off += 512 + Math.ceil(size / 512) * 512;
  }
  throw new Error(`${path} not in the archive`);
}

async function refusedWithNothingInstalled(args: string[], expect: RegExp): Promise<void> {
  const target = mkdtempSync(join(work, 'refused-'));
  const r = await cli([...args.slice(0, 3), '--tenant', 'a', '--data-dir', target, ...args.slice(3)]);
  assert.notEqual(r.code, 0, r.stdout);
  assert.match(r.stderr, expect);
  assert.deepEqual([...casObjects(target)], [], 'no artifact written');
  assert.equal(existsSync(join(target, 'imported-events')), false, 'no event segment kept');
  if (existsSync(join(target, 'orchestrator.db'))) {
    const store = Store.open({ dataDir: target, lock: false });
    try {
      assert.deepEqual(store.runs.list({ tenant: 'a', limit: 10 }), [], 'no run installed');
      assert.equal(store.dags.get('a', 'moved', '1.0.0'), undefined, 'no DAG installed');
    } finally {
      store.close();
    }
  }
  rmSync(target, { recursive: true, force: true });
}

test('a byte changed in an artifact, a run line or the manifest: refused, nothing installed', async () => {
  for (const [name, path, why] of [
    ['art.tar.gz', 'artifacts/', /HASH_MISMATCH|SHA-256/],
    ['run.tar.gz', 'runs.ndjson', /HASH_MISMATCH|SHA-256/],
    ['manifest.tar.gz', 'archive.json', /MANIFEST|JSON|signature/i],
  ] as const) {
    await refusedWithNothingInstalled(['import', 'archive', tampered(name, path), name === 'run.tar.gz' ? '--allow-unsigned' : '--trust-dir', ...(name === 'run.tar.gz' ? [] : [TRUST])], why);
  }
});

test('unsigned archives need --allow-unsigned; a foreign tenant and a different DAG version are refused', async () => {
  const unsigned = join(work, 'unsigned.tar.gz');
  assert.equal((await cli(['export', 'archive', '--data-dir', src.dataDir, '--tenant', 'a', '--dag-id', 'moved', '--out', unsigned])).code, 0);
  await refusedWithNothingInstalled(['import', 'archive', unsigned, '--trust-dir', TRUST], /not signed/);
  await refusedWithNothingInstalled(['import', 'archive', unsigned], /--allow-unsigned/);
  const ok = join(work, 'unsigned-target');
  assert.equal((await cli(importArgs(unsigned, ok, '--allow-unsigned'))).code, 0);

  const foreign = await cli(['import', 'archive', archive, '--tenant', 'b', '--data-dir', join(work, 'foreign'), '--trust-dir', TRUST]);
  assert.notEqual(foreign.code, 0);
  assert.match(foreign.stderr, /tenant "a"/);
  assert.deepEqual([...casObjects(join(work, 'foreign'))], []);

  // The target has moved@1.0.0 with other content: the archive's version is refused, nothing installed.
  const clash = join(work, 'clash');
  const pre = await startTestServer(['--allow-unsigned'], {}, undefined, clash);
  await publish(pre, { ...DAG, steps: [{ id: 'make', plugin: 'noop' }], edges: [] });
  await pre.server.close();
  const before = casObjects(clash);
  const r = await cli(importArgs(archive, clash, '--trust-dir', TRUST));
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /exists here with another hash/);
  assert.deepEqual(casObjects(clash), before, 'the artifacts it wrote were removed');
  assert.equal(existsSync(join(clash, 'imported-events')) && readdirSync(join(clash, 'imported-events', 'a')).length > 0, false);
});
