/**
 * Artifacts through real runs: a step writes one, the tenant reads it back (with caching
 * headers), plugins read only what their tenant owns, and every malformed or foreign hash is
 * the same 404 — answered before any file is touched.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { GOOD_PLUGINS, publish, startRun, stepOf, waitForRun } from './helpers.js';

let t: TestServer;
let hash: string;
const CONTENT = 'hello artifacts\n';
const touched: string[] = [];

before(async () => {
  t = await startTestServer(['--allow-unsigned', '--drain-timeout', '0', '--plugins-dir', GOOD_PLUGINS]);
  // Record every file access of the artifact store.
  const cas = (t.server.deps.services.artifacts as unknown as { cas: Record<string, any> }).cas;
  for (const m of ['stream', 'get', 'stat', 'pathOf']) {
    const orig = cas[m].bind(cas);
    cas[m] = (h: string, ...rest: unknown[]) => {
      touched.push(h);
      return orig(h, ...rest);
    };
  }
  for (const tenant of ['a', 'b']) {
    await publish(t, {
      dagId: 'art',
      steps: [
        { id: 'write', plugin: 'artifact', with: { content: CONTENT, mediaType: 'text/x-test; charset=utf-8' } },
        { id: 'read-back', plugin: 'misbehave', with: { mode: 'read', hash: '${{ steps.write.outputs.hash }}' } },
      ],
      edges: [{ from: 'write', to: 'read-back' }],
    }, tenant);
  }
  const run = await waitForRun(t, (await startRun(t, 'art')).runId);
  assert.equal(run.status, 'completed', JSON.stringify(run));
  hash = stepOf(run, 'write').outputs.hash;
  assert.equal(hash, createHash('sha256').update(CONTENT).digest('hex'));
  assert.deepEqual(stepOf(run, 'read-back').outputs, { size: Buffer.byteLength(CONTENT) });
});
after(() => t.stop());

test('round trip: bytes, media type, length, strong ETag, immutable caching; sha256: form; 304', async () => {
  for (const form of [hash, `sha256:${hash}`]) {
    const r = await t.req('GET', `/artifacts/${form}`);
    assert.equal(r.status, 200);
    assert.equal(r.text, CONTENT);
    assert.equal(r.headers.get('content-type'), 'text/x-test; charset=utf-8');
    assert.equal(r.headers.get('content-length'), String(Buffer.byteLength(CONTENT)));
    assert.equal(r.headers.get('etag'), `"${hash}"`);
    // Immutable, but only the caller's: never for a shared cache, varied on token and tenant.
    assert.equal(r.headers.get('cache-control'), 'private, max-age=31536000, immutable');
    assert.equal(r.headers.get('vary'), 'Authorization, X-Stella-Tenant');
    assert.match(r.headers.get('traceparent')!, /^00-/);
  }
  for (const inm of [`"${hash}"`, `W/"${hash}"`, `"x", "${hash}"`, '*']) {
    const r = await t.req('GET', `/artifacts/${hash}`, { headers: { 'if-none-match': inm } });
    assert.equal(r.status, 304, inm);
    assert.equal(r.text, '');
    assert.equal(r.headers.get('etag'), `"${hash}"`);
    assert.equal(r.headers.get('cache-control'), 'private, max-age=31536000, immutable');
  }
  assert.equal((await t.req('GET', `/artifacts/${hash}`, { headers: { 'if-none-match': '"other"' } })).status, 200);
});

test('every bad hash form, and another tenant\'s hash, is 404 NOT_FOUND without touching a file', async () => {
  touched.length = 0;
  const upper = hash.toUpperCase();
  const forms = [
    '..%2F..%2Fetc%2Fpasswd',
    '..%2F..%2F..%2F..%2Fetc%2Fpasswd',
    '%2e%2e%2f%2e%2e%2fetc%2fpasswd',
    `${hash.slice(0, 63)}%00`,
    `${hash}%00`,
    `%00${hash}`,
    upper,
    `sha256:${upper}`,
    hash.slice(0, 63),
    `${hash}0`,
    'sha256:',
    `sha512:${hash}`,
    `SHA256:${hash}`,
    `sha256:sha256:${hash}`,
    `${hash.slice(0, 2)}%2F${hash.slice(2)}`,
    'x'.repeat(64),
    '%20' + hash,
  ];
  const missingButValid = createHash('sha256').update('never stored').digest('hex');
  const bodies: string[] = [];
  for (const form of forms) {
    const r = await t.req('GET', `/artifacts/${form}`);
    assert.equal(r.status, 404, form);
    assert.equal(r.body.error.code, 'NOT_FOUND', form);
    bodies.push(r.body.error.message);
  }
  assert.deepEqual(touched, [], 'no file access for a malformed hash');
  const foreign = await t.req('GET', `/artifacts/${hash}`, { tenant: 'b' });
  const missing = await t.req('GET', `/artifacts/${missingButValid}`, { tenant: 'b' });
  for (const r of [foreign, missing]) {
    assert.equal(r.status, 404);
    assert.equal(r.body.error.code, 'NOT_FOUND');
    assert.equal(r.body.error.message, bodies[0]);
    assert.equal(r.headers.get('etag'), null);
  }
  assert.deepEqual([...foreign.headers.keys()].sort(), [...missing.headers.keys()].sort());
  const cond = await t.req('GET', `/artifacts/${hash}`, { tenant: 'b', headers: { 'if-none-match': '*' } });
  assert.equal(cond.status, 404, 'If-None-Match does not reveal existence');
  assert.deepEqual(touched, [], 'no file access for a hash the tenant does not own');
});

test('a plugin cannot read another tenant\'s artifact; once tenant b stores the same bytes, both own it', async () => {
  await publish(t, { dagId: 'peek', steps: [{ id: 'read', plugin: 'misbehave', with: { mode: 'read', hash } }] }, 'b');
  const peek = await waitForRun(t, (await startRun(t, 'peek', { tenant: 'b' })).runId, { tenant: 'b' });
  assert.equal(peek.status, 'failed');
  assert.equal(stepOf(peek, 'read').errorCode, 'ARTIFACT_NOT_FOUND');
  const run = await waitForRun(t, (await startRun(t, 'art', { tenant: 'b' })).runId, { tenant: 'b' });
  assert.equal(run.status, 'completed');
  assert.equal(stepOf(run, 'write').outputs.hash, hash);
  assert.equal((await t.req('GET', `/artifacts/${hash}`, { tenant: 'b' })).text, CONTENT);
});
