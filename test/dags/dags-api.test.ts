import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTestServer, FIXTURES, type TestServer } from '../helpers/server.js';
import { signDag } from '../../src/dags/signature.js';

let t: TestServer;
const devKey = readFileSync(join(FIXTURES, 'keys', 'dev-signing.key'), 'utf8');

before(async () => {
  t = await startTestServer();
});
after(() => t.stop());

function dag(dagId: string, version: string, extra: Record<string, unknown> = {}) {
  return signDag(
    {
      dagId,
      version,
      metadata: { description: `${dagId} ${version}` },
      steps: [
        { id: 'a', plugin: 'noop' },
        { id: 'b', plugin: 'echo', with: { x: '${{ steps.a.outputs.v }}' } },
      ],
      edges: [{ from: 'a', to: 'b' }],
      ...extra,
    } as any,
    devKey,
  );
}

/** Everything stored for tenant `a`, via the export: compared before and after bad requests. */
async function snapshot(tenant = 'a') {
  const r = await t.req('GET', '/dags:export', { tenant });
  assert.equal(r.status, 200);
  return r.text;
}

test('publish, read back, republish identical (200), conflicting content (409)', async () => {
  const d = dag('pub', '1.0.0');
  const r1 = await t.req('POST', '/dags', { body: d });
  assert.equal(r1.status, 201);
  assert.match(r1.body.hash, /^[0-9a-f]{64}$/);
  assert.equal(r1.body.active, true);
  assert.match(r1.body.createdUtc, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.equal(r1.body.signedBy.length, 1);
  assert.equal(r1.headers.get('location'), '/api/v1/orchestrator/dags/pub/1.0.0');
  const r2 = await t.req('POST', '/dags', { body: d });
  assert.equal(r2.status, 200);
  assert.deepEqual(r2.body, r1.body);
  const get = await t.req('GET', '/dags/pub/1.0.0');
  assert.deepEqual(get.body, r1.body);
  const before = await snapshot();
  const r3 = await t.req('POST', '/dags', { body: dag('pub', '1.0.0', { metadata: { description: 'changed' } }) });
  assert.equal(r3.status, 409);
  assert.equal(r3.body.error.code, 'DAG_VERSION_EXISTS');
  assert.equal(await snapshot(), before);
});

test('write scope may not publish; admin may', async () => {
  const r = await t.req('POST', '/dags', { body: dag('scoped', '1.0.0'), token: await t.token({ scopes: ['orchestrator:write'] }) });
  assert.equal(r.status, 403);
  assert.equal(r.body.error.code, 'INSUFFICIENT_SCOPE');
});

test('each invalid DAG is refused with its code and nothing is stored', async () => {
  const before = await snapshot();
  const cases: Array<[string, any, number, string]> = [
    ['cycle', { steps: [{ id: 'a', plugin: 'noop' }, { id: 'b', plugin: 'noop' }], edges: [{ from: 'a', to: 'b' }, { from: 'b', to: 'a' }] }, 422, 'DAG_INVALID'],
    ['unknown step in edge', { steps: [{ id: 'a', plugin: 'noop' }], edges: [{ from: 'a', to: 'zz' }] }, 422, 'DAG_INVALID'],
    ['duplicate ids', { steps: [{ id: 'a', plugin: 'noop' }, { id: 'a', plugin: 'noop' }], edges: [] }, 422, 'DAG_INVALID'],
    ['unknown plugin', { steps: [{ id: 'a', plugin: 'no-such-plugin' }], edges: [] }, 422, 'DAG_INVALID'],
    ['reference to non-ancestor', { steps: [{ id: 'a', plugin: 'noop' }, { id: 'b', plugin: 'echo', with: { v: '${{ steps.a.outputs.x }}' } }], edges: [] }, 422, 'DAG_INVALID'],
    ['bad trigger', { steps: [{ id: 'a', plugin: 'noop', trigger: 'sometimes' }], edges: [] }, 400, 'VALIDATION_FAILED'],
    ['bad inputsSchema', { inputsSchema: { type: 'no-such-type' }, steps: [{ id: 'a', plugin: 'noop' }], edges: [] }, 422, 'DAG_INVALID'],
    ['bad step id', { steps: [{ id: 'A B', plugin: 'noop' }], edges: [] }, 400, 'VALIDATION_FAILED'],
    ['extra field', { steps: [{ id: 'a', plugin: 'noop' }], edges: [], hash: 'x'.repeat(64) }, 400, 'VALIDATION_FAILED'],
  ];
  for (const [name, body, status, code] of cases) {
    const doc = signDag({ dagId: 'bad', version: '1.0.0', ...body }, devKey);
    const r = await t.req('POST', '/dags', { body: doc });
    assert.equal(r.status, status, `${name}: ${r.text}`);
    assert.equal(r.body.error.code, code, name);
  }
  const bad = await t.req('POST', '/dags', { body: { dagId: 'bad', version: 'v1', steps: [], edges: [] } });
  assert.equal(bad.body.error.code, 'VALIDATION_FAILED');
  assert.match(bad.body.error.details.field, /version/);
  assert.equal(await snapshot(), before);
});

test('signature tampering, unknown keys and unsigned documents are refused', async () => {
  const before = await snapshot();
  const d = dag('sig', '1.0.0');
  const changedBody = { ...d, metadata: { description: 'not what was signed' } };
  const changedPayload = { ...d, signature: { ...d.signature!, payload: Buffer.from('{"dagId":"sig"}').toString('base64') } };
  const wrongSig = { ...d, signature: { ...d.signature!, signatures: [{ ...d.signature!.signatures[0]!, sig: Buffer.alloc(64, 1).toString('base64') }] } };
  const { generateSigningKeyPair } = await import('../../src/dags/signature.js');
  const untrusted = signDag({ ...(({ signature: _s, ...rest }) => rest)(d) } as any, generateSigningKeyPair('p256').privateKeyPem);
  const { signature: _s, ...unsigned } = d;
  for (const [name, body] of Object.entries({ changedBody, changedPayload, wrongSig, untrusted, unsigned })) {
    const r = await t.req('POST', '/dags', { body });
    assert.equal(r.status, 422, name);
    assert.equal(r.body.error.code, 'SIGNATURE_INVALID', name);
  }
  assert.equal(await snapshot(), before);
});

test('list orders dagId ASC then version DESC by SemVer precedence, pre-releases below releases', async () => {
  const versions = ['1.0.0-alpha', '1.0.0', '1.0.0-alpha.1', '1.0.0-beta.2', '1.0.0-beta.11', '1.0.0-rc.1', '0.9.0', '10.0.0', '2.0.0', '1.0.0-alpha.beta'];
  for (const v of versions) assert.equal((await t.req('POST', '/dags', { body: dag('semver', v), tenant: 's' })).status, 201);
  assert.equal((await t.req('POST', '/dags', { body: dag('aaa', '1.0.0'), tenant: 's' })).status, 201);
  const r = await t.req('GET', '/dags?dagId=semver', { tenant: 's' });
  assert.deepEqual(
    r.body.items.map((i: any) => i.version),
    ['10.0.0', '2.0.0', '1.0.0', '1.0.0-rc.1', '1.0.0-beta.11', '1.0.0-beta.2', '1.0.0-alpha.beta', '1.0.0-alpha.1', '1.0.0-alpha', '0.9.0'],
  );
  const all = await t.req('GET', '/dags', { tenant: 's' });
  assert.equal(all.body.items[0].dagId, 'aaa');
});

test('pagination walks return every item exactly once while new items are inserted', async () => {
  const tenant = 'p';
  for (let i = 0; i < 25; i++) await t.req('POST', '/dags', { body: dag(`d${String(i).padStart(2, '0')}`, '1.0.0'), tenant });
  const seen: string[] = [];
  let token: string | undefined;
  let inserted = 0;
  do {
    const r = await t.req('GET', `/dags?page_size=4${token ? `&page_token=${encodeURIComponent(token)}` : ''}`, { tenant });
    assert.equal(r.status, 200);
    assert.ok(r.body.items.length <= 4);
    seen.push(...r.body.items.map((i: any) => `${i.dagId}@${i.version}`));
    token = r.body.next_page_token;
    // Insert behind and ahead of the cursor while walking.
    await t.req('POST', '/dags', { body: dag(`d00`, `1.0.${++inserted}`), tenant });
    await t.req('POST', '/dags', { body: dag(`zz${inserted}`, '1.0.0'), tenant });
  } while (token);
  assert.equal(new Set(seen).size, seen.length, 'no duplicates');
  for (let i = 0; i < 25; i++) assert.ok(seen.includes(`d${String(i).padStart(2, '0')}@1.0.0`));
  // A last page that is exactly full has no token.
  const exact = await t.req('GET', '/dags?dagId=d05&page_size=1', { tenant });
  assert.equal(exact.body.items.length, 1);
  assert.equal(exact.body.next_page_token, undefined);
});

test('page tokens are bound to tenant and filters', async () => {
  for (let i = 0; i < 3; i++) await t.req('POST', '/dags', { body: dag(`tok${i}`, '1.0.0'), tenant: 'q' });
  const r = await t.req('GET', '/dags?page_size=1', { tenant: 'q' });
  const token = encodeURIComponent(r.body.next_page_token);
  assert.equal((await t.req('GET', `/dags?page_size=1&page_token=${token}`, { tenant: 'q' })).status, 200);
  const other = await t.req('GET', `/dags?page_size=1&page_token=${token}`, { tenant: 'r' });
  assert.equal(other.body.error.code, 'INVALID_PAGE_TOKEN');
  const filtered = await t.req('GET', `/dags?page_size=1&active=true&page_token=${token}`, { tenant: 'q' });
  assert.equal(filtered.body.error.code, 'INVALID_PAGE_TOKEN');
  const forged = r.body.next_page_token.replace(/^[^.]+/, Buffer.from('{"d":"a","k":"b"}').toString('base64url'));
  assert.equal((await t.req('GET', `/dags?page_token=${encodeURIComponent(forged)}`, { tenant: 'q' })).body.error.code, 'INVALID_PAGE_TOKEN');
});

test('another tenant\'s DAG looks exactly like a missing one', async () => {
  await t.req('POST', '/dags', { body: dag('secret', '1.0.0'), tenant: 'owner' });
  const theirs = await t.req('GET', '/dags/secret/1.0.0', { tenant: 'intruder' });
  const missing = await t.req('GET', '/dags/never-was/1.0.0', { tenant: 'intruder' });
  assert.equal(theirs.status, 404);
  assert.deepEqual({ ...theirs.body.error, trace_id: '' }, { ...missing.body.error, message: theirs.body.error.message, trace_id: '' });
  assert.equal(theirs.body.error.message, missing.body.error.message);
  const dis = await t.req('POST', '/dags/secret/1.0.0:disable', { tenant: 'intruder', body: {} });
  assert.equal(dis.status, 404);
  const list = await t.req('GET', '/dags', { tenant: 'intruder' });
  assert.ok(!list.text.includes('secret'));
});

test('disable is idempotent and admin-only', async () => {
  await t.req('POST', '/dags', { body: dag('dis', '1.0.0') });
  const w = await t.req('POST', '/dags/dis/1.0.0:disable', { body: {}, token: await t.token({ scopes: ['orchestrator:write'] }) });
  assert.equal(w.body.error.code, 'INSUFFICIENT_SCOPE');
  const r1 = await t.req('POST', '/dags/dis/1.0.0:disable', { body: {} });
  assert.equal(r1.status, 200);
  assert.equal(r1.body.active, false);
  assert.ok(r1.body.disabledUtc);
  const r2 = await t.req('POST', '/dags/dis/1.0.0:disable');
  assert.equal(r2.status, 200);
  assert.equal(r2.body.disabledUtc, r1.body.disabledUtc);
  const inactive = await t.req('GET', '/dags?dagId=dis&active=false');
  assert.equal(inactive.body.items.length, 1);
});

test('Idempotency-Key: replay, reuse with another body (422), concurrent duplicates (one wins)', async () => {
  const d = dag('idem', '1.0.0');
  const h = { 'idempotency-key': 'key-1' };
  const r1 = await t.req('POST', '/dags', { body: d, headers: h });
  assert.equal(r1.status, 201);
  const r2 = await t.req('POST', '/dags', { body: d, headers: h });
  assert.equal(r2.status, 201, 'replay returns the first status');
  assert.equal(r2.headers.get('idempotency-replayed'), 'true');
  assert.deepEqual(r2.body, r1.body);
  const r3 = await t.req('POST', '/dags', { body: dag('idem', '2.0.0'), headers: h });
  assert.equal(r3.status, 422);
  assert.equal(r3.body.error.code, 'IDEMPOTENCY_KEY_REUSED');
  // Same key on another tenant is another key: that tenant's own answer (another body is no
  // reuse there), nothing replayed from tenant a, in status, headers or body.
  const theirs = await t.req('POST', '/dags', { body: dag('idem', '2.0.0'), headers: h, tenant: 'other' });
  assert.equal(theirs.status, 201, theirs.text);
  assert.equal(theirs.headers.get('idempotency-replayed'), null, 'not a replay of tenant a\'s answer');
  assert.equal(theirs.headers.get('location'), '/api/v1/orchestrator/dags/idem/2.0.0');
  assert.equal(theirs.body.version, '2.0.0');
  assert.deepEqual(theirs.body, (await t.req('GET', '/dags/idem/2.0.0', { tenant: 'other' })).body, 'the body is what tenant other stored');
  assert.equal((await t.req('GET', '/dags/idem/1.0.0', { tenant: 'other' })).status, 404, 'tenant a\'s version did not leak');
  const theirsAgain = await t.req('POST', '/dags', { body: dag('idem', '2.0.0'), headers: h, tenant: 'other' });
  assert.equal(theirsAgain.headers.get('idempotency-replayed'), 'true');
  assert.deepEqual(theirsAgain.body, theirs.body, 'tenant other replays its own answer');
  const mineAgain = await t.req('POST', '/dags', { body: d, headers: h });
  assert.deepEqual(mineAgain.body, r1.body, 'and tenant a still replays its own');
  // Concurrent duplicates: every answer is the first response or 409 in flight, one version stored.
  const d2 = dag('idem-c', '1.0.0');
  const rs = await Promise.all(Array.from({ length: 8 }, () => t.req('POST', '/dags', { body: d2, headers: { 'idempotency-key': 'conc' } })));
  for (const r of rs) assert.ok(r.status === 201 || (r.status === 409 && r.body.error.code === 'IDEMPOTENCY_IN_FLIGHT'), `${r.status} ${r.text}`);
  assert.ok(rs.some((r) => r.status === 201));
  assert.equal((await t.req('GET', '/dags?dagId=idem-c')).body.items.length, 1);
});

test('export is NDJSON with a manifest, byte-identical when repeated', async () => {
  const a = await t.req('GET', '/dags:export');
  const b = await t.req('GET', '/dags:export');
  assert.equal(a.headers.get('content-type'), 'application/x-ndjson; charset=utf-8');
  assert.equal(a.text, b.text);
  const lines = a.text.split('\n');
  assert.equal(lines.pop(), '');
  const manifest = JSON.parse(lines.pop()!).manifest;
  assert.equal(manifest.count, lines.length);
  const { createHash } = await import('node:crypto');
  assert.equal(manifest.sha256, createHash('sha256').update(lines.map((l) => l + '\n').join('')).digest('hex'));
});
