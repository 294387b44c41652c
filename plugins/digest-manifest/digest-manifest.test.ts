import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalJson, sha256Hex } from '../../src/core/hash.js';
import { startPool, task, type TestPool } from '../../src/engine/pool/test-support.js';
import type { StepResult } from '../../src/engine/index.js';

let t: TestPool;
before(async () => {
  t = await startPool({ size: 1 });
});
after(() => t.pool.close());

function outputs(r: StepResult): Record<string, unknown> {
  assert.equal(r.status, 'completed', JSON.stringify(r));
  return r.status === 'completed' ? r.outputs : {};
}

async function putArtifact(content: string, tenant = 'demo'): Promise<string> {
  return outputs(await t.pool.run(task('artifact', { content }, { tenant }))).hash as string;
}

test('digests artifacts and inline files into a sorted, stored manifest', async () => {
  const h1 = await putArtifact('first');
  const h2 = await putArtifact('second artifact');
  const r = outputs(
    await t.pool.run(task('digest-manifest', { artifacts: [h2, `sha256:${h1}`], files: { 'z.txt': 'zed', 'a.txt': 'ay' } })),
  );
  const entries = [
    { name: 'a.txt', sha256: sha256Hex('ay'), size: 2 },
    { name: h1, sha256: h1, size: 5 },
    { name: h2, sha256: h2, size: 15 },
    { name: 'z.txt', sha256: sha256Hex('zed'), size: 3 },
  ].sort((a, b) => (a.name < b.name ? -1 : 1));
  const manifestHash = sha256Hex(canonicalJson({ entries }));
  assert.deepEqual(r, { manifestHash, count: 4, artifact: sha256Hex(canonicalJson({ entries, manifestHash })) });
  const stored = (await t.store.get(r.artifact as string))!.toString('utf8');
  assert.equal(stored, canonicalJson({ entries, manifestHash }));
  assert.equal(t.io.types.get(r.artifact as string), 'application/json');
});

test('the manifest is deterministic whatever the input order', async () => {
  const a = outputs(await t.pool.run(task('digest-manifest', { files: { b: '2', a: '1', 'ü': '3' } })));
  const b = outputs(await t.pool.run(task('digest-manifest', { files: { 'ü': '3', a: '1', b: '2' } })));
  assert.deepEqual(a, b);
});

test('a missing or foreign artifact, bad inputs and duplicates fail clearly', async () => {
  const other = await putArtifact('belongs to acme', 'acme');
  const cases: Array<[Record<string, unknown>, string]> = [
    [{ artifacts: [other] }, 'ARTIFACT_NOT_FOUND'],
    [{ artifacts: ['f'.repeat(64)] }, 'ARTIFACT_NOT_FOUND'],
    [{ artifacts: ['nope'] }, 'INPUTS_INVALID'],
    [{ artifacts: 'x' }, 'INPUTS_INVALID'],
    [{}, 'INPUTS_INVALID'],
    [{ files: { a: 1 } }, 'INPUTS_INVALID'],
  ];
  for (const [inputs, code] of cases) {
    const r = await t.pool.run(task('digest-manifest', inputs));
    assert.equal(r.status, 'failed', JSON.stringify(inputs));
    assert.equal(r.status === 'failed' && r.error.code, code, JSON.stringify(r));
    assert.equal(r.status === 'failed' && r.error.retryable, false);
  }
  const h = await putArtifact('dup');
  const d = await t.pool.run(task('digest-manifest', { artifacts: [h, h] }));
  assert.equal(d.status === 'failed' && d.error.code, 'DUPLICATE_ENTRY');
});
