/**
 * The console's pure parts (they run in the browser; here under node): the graph layout,
 * the form generated from inputsSchema, token claims, NDJSON logs and artifact references,
 * the hash router; and the browser code type-checks under its own strict DOM settings.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { canWrite, isAdmin, readClaims } from '../../src/console/app/claims.js';
import { layoutDag } from '../../src/console/app/layout.js';
import { artifactRefs, parseLog, splitLines } from '../../src/console/app/logs.js';
import { formOf, initialValues, toInputs } from '../../src/console/app/schema-form.js';

const ROOT = join(import.meta.dirname, '..', '..');

test('layout: columns by longest path, rows by parents, edges right to left side', () => {
  // a → b → d, a → c → d, a → d (d sits after the longest path)
  const g = layoutDag(['a', 'b', 'c', 'd', 'lonely'], [
    { from: 'a', to: 'b' },
    { from: 'a', to: 'c' },
    { from: 'b', to: 'd' },
    { from: 'c', to: 'd' },
    { from: 'a', to: 'd' },
  ]);
  const col = (id: string) => g.nodes.get(id)!.column;
  assert.deepEqual(['a', 'b', 'c', 'd', 'lonely'].map(col), [0, 1, 1, 2, 0]);
  const { nodeWidth: w, nodeHeight: h, columnGap } = g.options;
  assert.equal(g.width, 3 * w + 2 * columnGap);
  assert.ok(g.height >= 2 * h, 'two rows in the tallest column');
  const e = g.edges.find((x) => x.from === 'a' && x.to === 'b')!;
  const a = g.nodes.get('a')!;
  const b = g.nodes.get('b')!;
  assert.ok(e.d.startsWith(`M${a.x + w},${a.y + h / 2} `) && e.d.endsWith(` ${b.x},${b.y + h / 2}`), e.d);
  // No two nodes overlap.
  const boxes = [...g.nodes.values()];
  for (const p of boxes) for (const q of boxes) if (p !== q) assert.ok(p.x !== q.x || Math.abs(p.y - q.y) >= h, `${p.id} overlaps ${q.id}`);
});

test('layout: rows follow the parents (fewer crossings), unknown edge ends are ignored', () => {
  const g = layoutDag(['p1', 'p2', 'c2', 'c1'], [
    { from: 'p1', to: 'c1' },
    { from: 'p2', to: 'c2' },
    { from: 'ghost', to: 'c1' },
  ]);
  assert.ok(g.nodes.get('c1')!.row < g.nodes.get('c2')!.row, 'c1 follows p1 (row 0) although listed last');
  assert.equal(g.edges.length, 2);
  assert.deepEqual(layoutDag([], []).height, 0);
});

test('form from inputsSchema: kinds, required, defaults, and what the user typed → inputs', () => {
  const form = formOf({
    type: 'object',
    required: ['image', 'count'],
    properties: {
      image: { type: 'string', description: 'Image reference' },
      count: { type: 'integer', default: 2 },
      ratio: { type: 'number' },
      dry: { type: 'boolean', default: true },
      mode: { enum: ['fast', 'slow'] },
      labels: { type: 'object' },
    },
  });
  assert.equal(form.freeform, false);
  assert.deepEqual(form.fields.map((f) => [f.name, f.kind, f.required]), [
    ['image', 'string', true],
    ['count', 'integer', true],
    ['ratio', 'number', false],
    ['dry', 'boolean', false],
    ['mode', 'enum', false],
    ['labels', 'json', false],
  ]);
  const v = initialValues(form);
  assert.deepEqual(v, { image: '', count: '2', ratio: '', dry: true, mode: '', labels: '' });
  assert.deepEqual(toInputs(form, v).errors, { image: 'required' });
  const ok = toInputs(form, { ...v, image: 'app:1', ratio: '0.5', mode: '"slow"', labels: '{"a":1}' });
  assert.deepEqual(ok, { inputs: { image: 'app:1', count: 2, ratio: 0.5, dry: true, mode: 'slow', labels: { a: 1 } }, errors: {} });
  const bad = toInputs(form, { ...v, image: 'x', count: '1.5', ratio: 'abc', labels: '{' });
  assert.deepEqual(bad.errors, { count: 'not a whole number', ratio: 'not a number', labels: 'not valid JSON' });
});

test('form without a usable schema: one JSON object field', () => {
  for (const schema of [undefined, {}, { type: 'object' }, { type: 'string' }]) {
    const form = formOf(schema);
    assert.equal(form.freeform, true);
    assert.deepEqual(toInputs(form, { inputs: '' }), { inputs: {}, errors: {} });
    assert.deepEqual(toInputs(form, { inputs: '{"k":[1]}' }), { inputs: { k: [1] }, errors: {} });
    assert.deepEqual(toInputs(form, { inputs: '[1]' }).errors, { inputs: 'must be a JSON object' });
  }
});

const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
const jwt = (payload: unknown) => `${b64({ alg: 'ES256' })}.${b64(payload)}.c2ln`;

test('claims: tenants (string, list, "*"), scopes (scope or scp), subject, expiry; junk is refused', () => {
  assert.deepEqual(readClaims(jwt({ 'stellaops:tenant': 'demo', scope: 'orchestrator:read', sub: 'ann', exp: 5 })), {
    tenants: ['demo'],
    scopes: ['orchestrator:read'],
    subject: 'ann',
    exp: 5,
  });
  const many = readClaims(jwt({ 'stellaops:tenant': ['b', 'a', 'b', 7], scp: ['orchestrator:admin'] }));
  assert.ok(!('error' in many));
  assert.deepEqual(many.tenants, ['a', 'b']);
  assert.ok(isAdmin(many) && canWrite(many));
  const star = readClaims(jwt({ 'stellaops:tenant': ['a', '*'], scope: 'orchestrator:read' }));
  assert.ok(!('error' in star) && star.tenants === '*' && !canWrite(star));
  for (const junk of ['', 'abc', 'a.b', `a.${b64([1])}.c`, 'a.%%%.c', `a.${Buffer.from('{').toString('base64url')}.c`]) {
    assert.ok('error' in readClaims(junk), junk);
  }
});

test('logs: NDJSON lines with levels and fields; broken lines kept as text; partial lines wait', () => {
  const lines = parseLog('{"ts":"2026-01-01T00:00:00.000Z","level":"warn","msg":"slow","ms":9}\nnot json\n{"level":"loud","msg":{"x":1}}\n\n');
  assert.deepEqual(lines, [
    { ts: '2026-01-01T00:00:00.000Z', level: 'warn', msg: 'slow', fields: { ms: 9 } },
    { level: 'info', msg: 'not json', fields: {} },
    { ts: undefined, level: 'info', msg: '{"x":1}', fields: {} },
  ]);
  assert.deepEqual(splitLines('{"a":1}\n{"b":'), { lines: ['{"a":1}'], rest: '{"b":' });
  assert.deepEqual(splitLines(''), { lines: [], rest: '' });
});

test('artifact references: every hash in the outputs, once, with its path', () => {
  const h1 = 'a'.repeat(64);
  const h2 = 'b'.repeat(64);
  assert.deepEqual(artifactRefs({ report: h1, nested: { list: [`sha256:${h2}`, h1] }, short: 'abc', upper: 'A'.repeat(64) }), [
    { path: 'outputs.report', hash: h1 },
    { path: 'outputs.nested.list[0]', hash: h2 },
  ]);
  assert.deepEqual(artifactRefs(null), []);
});

test('the browser code type-checks (strict, DOM)', () => {
  const r = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(ROOT, 'src', 'console', 'app', 'tsconfig.json')], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
});
