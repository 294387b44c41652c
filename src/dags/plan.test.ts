import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError } from '../core/errors.js';
import { dagHash } from './canonical.js';
import { parseDag, type DagDocument } from './model.js';
import { compilePlan } from './plan.js';
import { backoffMs, resolveWith, StepReferenceError } from './resolve.js';
import { validateDag } from './validate.js';

function dag(steps: Array<Record<string, unknown>>, edges: Array<[string, string]> = []): DagDocument {
  return parseDag({
    dagId: 'd',
    version: '1.0.0',
    steps: steps.map((s) => ({ plugin: 'noop', ...s })),
    edges: edges.map(([from, to]) => ({ from, to })),
  });
}

test('topological order breaks ties by step id (byte order), not by document order', () => {
  const doc = dag(
    [{ id: 'z-report' }, { id: 'scan-b' }, { id: 'scan-a' }, { id: 'fetch' }, { id: 'Z'.toLowerCase() }, { id: 'aaa' }],
    [
      ['fetch', 'scan-b'],
      ['fetch', 'scan-a'],
      ['scan-a', 'z-report'],
      ['scan-b', 'z-report'],
      ['aaa', 'z-report'],
    ],
  );
  // Ready at start: aaa, fetch, z → aaa first; then fetch; its successors scan-a, scan-b join z.
  assert.deepEqual(compilePlan(doc).order, ['aaa', 'fetch', 'scan-a', 'scan-b', 'z', 'z-report']);
  assert.deepEqual(compilePlan(dag([{ id: 'b.1' }, { id: 'b-1' }, { id: 'b_1' }, { id: 'b1' }])).order, ['b-1', 'b.1', 'b1', 'b_1']);
});

test('plan steps carry defaults, preds/succs, refs, and are deeply frozen', () => {
  const doc = dag(
    [
      { id: 'a' },
      { id: 'b', retries: { max: 2, backoffMs: 500 }, timeoutMs: 60000, trigger: 'all_done', with: { x: '${{ steps.a.outputs.v }}', y: ['${{ steps.a.outputs }}', '${{ inputs.q }}'] } },
      { id: 'c', plugin: 'echo@1.0.0' },
    ],
    [
      ['a', 'b'],
      ['a', 'c'],
      ['a', 'c'],
    ],
  );
  const plan = compilePlan(doc);
  assert.equal(plan.hash, dagHash(doc));
  const [a, b, c] = plan.steps;
  assert.deepEqual({ ...a!, retries: { ...a!.retries } }, {
    id: 'a', index: 0, plugin: 'noop', with: {}, retries: { max: 0, backoffMs: 1000, factor: 2, maxBackoffMs: 300000 },
    timeoutMs: null, trigger: 'all_success', preds: [], succs: ['b', 'c'], refs: [],
  });
  assert.deepEqual(b!.retries, { max: 2, backoffMs: 500, factor: 2, maxBackoffMs: 300000 });
  assert.equal(b!.timeoutMs, 60000);
  assert.equal(b!.trigger, 'all_done');
  assert.deepEqual(b!.refs, ['a']);
  assert.deepEqual(c!.preds, ['a'], 'duplicate edges merged');
  assert.equal(plan.byId.get('c')!.index, 2);
  assert.ok(Object.isFrozen(plan) && Object.isFrozen(b) && Object.isFrozen(b!.with) && Object.isFrozen(b!.with.y));
  assert.throws(() => {
    (b!.with.y as string[]).push('x');
  }, TypeError);
  assert.equal(Object.isFrozen(doc.steps[1]!.with), false, 'the source document is not frozen');
});

test('compilePlan refuses structurally invalid documents', () => {
  const cyclic = dag([{ id: 'a' }, { id: 'b' }], [['a', 'b'], ['b', 'a']]);
  assert.throws(() => compilePlan(cyclic), (e) => e instanceof ApiError && e.code === 'DAG_INVALID');
  assert.throws(() => compilePlan(dag([{ id: 'a' }, { id: 'a' }])), /duplicate step id/);
  assert.throws(() => compilePlan(dag([{ id: 'a' }], [['a', 'x']])), /unknown step/);
});

test('10,000-step chain validates and compiles (iterative, O((V+E) log V))', () => {
  const n = 10_000;
  const steps = Array.from({ length: n }, (_, i) => ({ id: `s${String(n - i).padStart(5, '0')}`, with: i ? { p: `\${{ steps.s${String(n - i + 1).padStart(5, '0')}.outputs }}` } : {} }));
  const edges = Array.from({ length: n - 1 }, (_, i) => [steps[i]!.id, steps[i + 1]!.id] as [string, string]);
  const doc = dag(steps, edges);
  validateDag(doc, { pluginExists: () => true });
  const t0 = performance.now();
  const plan = compilePlan(doc);
  console.log(`compilePlan: 10,000-step chain in ${(performance.now() - t0).toFixed(0)} ms`);
  assert.equal(plan.order.length, n);
  assert.equal(plan.order[0], 's10000');
  assert.equal(plan.order[n - 1], 's00001');
});

const ctx = {
  inputs: { image: 'alpine:3.20', n: 3, tags: ['a', 'b'], nested: { ok: true }, nil: null },
  outputs: (id: string) => (id === 'scan' ? { findings: { high: 1 }, list: [10, 20], text: 'done', zero: 0 } : undefined),
};

test('resolveWith: an exact expression becomes the referenced JSON value', () => {
  assert.deepEqual(
    resolveWith(
      {
        image: '${{ inputs.image }}',
        n: '${{inputs.n}}',
        tags: '${{ inputs.tags }}',
        second: '${{ inputs.tags.1 }}',
        nil: '${{ inputs.nil }}',
        all: '${{ inputs }}',
        findings: '${{ steps.scan.outputs.findings }}',
        first: '${{ steps.scan.outputs.list.0 }}',
        zero: '${{ steps.scan.outputs.zero }}',
        keep: [1, true, null, { deep: '${{ steps.scan.outputs.text }}' }],
      },
      ctx,
    ),
    {
      image: 'alpine:3.20',
      n: 3,
      tags: ['a', 'b'],
      second: 'b',
      nil: null,
      all: ctx.inputs,
      findings: { high: 1 },
      first: 10,
      zero: 0,
      keep: [1, true, null, { deep: 'done' }],
    },
  );
});

test('resolveWith: expressions inside text are interpolated (non-strings as canonical JSON)', () => {
  assert.equal(resolveWith('scan ${{ inputs.image }} (n=${{ inputs.n }})', ctx), 'scan alpine:3.20 (n=3)');
  assert.equal(resolveWith('f=${{ steps.scan.outputs.findings }} ${{ inputs.nested }}${{ inputs.nil }}', ctx), 'f={"high":1} {"ok":true}null');
  assert.equal(resolveWith(' ${{ inputs.n }}', ctx), ' 3', 'not exact: surrounding text makes a string');
  assert.equal(resolveWith('no refs }} here', ctx), 'no refs }} here');
  const input = { a: '${{ inputs.image }}' };
  resolveWith(input, ctx);
  assert.deepEqual(input, { a: '${{ inputs.image }}' }, 'input unchanged');
  assert.deepEqual(resolveWith({ x: '${{ inputs }}' }, { inputs: undefined, outputs: () => undefined }), { x: {} });
});

test('resolveWith: missing values throw REFERENCE_UNRESOLVED; prototype properties are not values', () => {
  const unresolved = (v: unknown) =>
    assert.throws(() => resolveWith(v, ctx), (e) => e instanceof StepReferenceError && e.code === 'REFERENCE_UNRESOLVED');
  unresolved('${{ inputs.missing }}');
  unresolved('x ${{ inputs.image.length }}');
  unresolved('${{ inputs.tags.2 }}');
  unresolved('${{ inputs.tags.01 }}');
  unresolved('${{ inputs.constructor }}');
  unresolved('${{ inputs.nested.__proto__ }}');
  unresolved('${{ steps.other.outputs }}');
  unresolved('${{ steps.scan.outputs.nope }}');
  assert.throws(() => resolveWith('${{ env.HOME }}', ctx), (e) => e instanceof StepReferenceError && e.code === 'REFERENCE_INVALID');
});

test('backoffMs = min(maxBackoffMs, backoffMs * factor^(attempt-1)) with defaults', () => {
  assert.deepEqual([1, 2, 3, 4].map((a) => backoffMs(undefined, a)), [1000, 2000, 4000, 8000]);
  assert.equal(backoffMs(undefined, 20), 300_000);
  const r = { max: 5, backoffMs: 500, factor: 1.5, maxBackoffMs: 1000 };
  assert.deepEqual([1, 2, 3].map((a) => backoffMs(r, a)), [500, 750, 1000]);
  assert.equal(backoffMs({ max: 1, factor: 100 }, 10_000), 300_000, 'overflow is capped');
  assert.equal(backoffMs({ max: 1, backoffMs: 0 }, 3), 0);
  assert.equal(backoffMs(undefined, 0), 1000);
});

test("resolveWith notCompleted 'null': a step without outputs gives null; a missing path of a completed step still throws", () => {
  const c = { inputs: {}, outputs: (id: string) => (id === 'done' ? { n: 1 } : undefined), notCompleted: 'null' as const };
  assert.deepEqual(resolveWith({ all: '${{ steps.failed.outputs }}', one: '${{ steps.failed.outputs.exitCode }}', text: 'exit=${{ steps.failed.outputs.exitCode }}' }, c), {
    all: null,
    one: null,
    text: 'exit=null',
  });
  assert.deepEqual(resolveWith('${{ steps.done.outputs.n }}', c), 1);
  assert.throws(() => resolveWith('${{ steps.done.outputs.nope }}', c), (e) => e instanceof StepReferenceError && e.code === 'REFERENCE_UNRESOLVED');
});
