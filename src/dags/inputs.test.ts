import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError } from '../core/errors.js';
import { compileInputsValidator, compileSchema, withinBudget } from './inputs.js';

const schema = {
  type: 'object',
  required: ['image'],
  properties: { image: { type: 'string', minLength: 1 }, 'a/b': { type: 'integer' }, tags: { type: 'array', items: { type: 'string' } } },
  additionalProperties: false,
};

function invalid(fn: () => void): Array<{ path: string; message: string }> {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ApiError);
    assert.equal(e.code, 'INPUTS_INVALID');
    return e.details!.errors as Array<{ path: string; message: string }>;
  }
  assert.fail('expected INPUTS_INVALID');
}

test('valid inputs pass; no schema accepts anything', () => {
  compileInputsValidator(schema)({ image: 'alpine' });
  compileInputsValidator(undefined)({ anything: 1 });
  compileInputsValidator(undefined)(undefined);
  compileInputsValidator({ type: 'object' })(undefined);
});

test('errors list every problem as {path, message} with JSON Pointer paths', () => {
  const check = compileInputsValidator(schema);
  const errs = invalid(() => check({ 'a/b': 'x', tags: ['ok', 3], extra: true }));
  const paths = errs.map((e) => e.path).sort();
  assert.deepEqual(paths, ['/', '/a~1b', '/image', '/tags/1']);
  assert.ok(errs.every((e) => typeof e.message === 'string' && e.message.length > 0));
  assert.deepEqual(invalid(() => check(undefined)), [{ path: '/image', message: "must have required property 'image'" }]);
});

test('validators are cached by canonical schema hash; inputs are not changed by defaults', () => {
  const a = compileSchema({ type: 'object', properties: { x: { type: 'string', default: 'd' } } });
  const b = compileSchema({ properties: { x: { default: 'd', type: 'string' } }, type: 'object' });
  assert.equal(a, b);
  const inputs = {};
  compileInputsValidator({ type: 'object', properties: { x: { type: 'string', default: 'd' } } })(inputs);
  assert.deepEqual(inputs, {});
});

test('schemas are isolated: the same $id in two schemas, no cross-schema $ref, formats are annotations', () => {
  const one = compileInputsValidator({ $id: 'https://stella.local/schemas/x.json', type: 'object', required: ['a'] });
  const two = compileInputsValidator({ $id: 'https://stella.local/schemas/x.json', type: 'object', required: ['b'] });
  one({ a: 1 });
  two({ b: 1 });
  assert.throws(() => compileInputsValidator({ $ref: 'https://stella.local/schemas/x.json' }), (e) => e instanceof ApiError && e.code === 'DAG_INVALID');
  compileInputsValidator({ type: 'object', properties: { e: { type: 'string', format: 'email' } } })({ e: 'not an email' });
});

test('draft 2020-12 schemas are supported', () => {
  const check = compileInputsValidator({
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    type: 'object',
    properties: { pair: { type: 'array', prefixItems: [{ type: 'string' }, { type: 'number' }], items: false } },
  });
  check({ pair: ['a', 1] });
  assert.deepEqual(invalid(() => check({ pair: ['a', 1, 2] })).map((e) => e.path), ['/pair']);
});

test('withinBudget: a check starved of CPU past the budget is tried again; one that burns the CPU is refused', () => {
  const cell = new Int32Array(new SharedArrayBuffer(4));
  let calls = 0;
  // The first call blocks without using CPU (as a descheduled thread would), the second is instant.
  const starved = () => (++calls === 1 ? (Atomics.wait(cell, 0, 0, 150), true) : true);
  assert.equal(withinBudget(starved, 50), true);
  assert.equal(calls, 2, 'tried again after a timeout without work');
  const burns = () => {
    for (;;);
  };
  assert.throws(() => withinBudget(burns, 50), (e: { code?: string }) => e.code === 'ERR_SCRIPT_EXECUTION_TIMEOUT');
});

test('a schema is checked against its draft\'s meta-schema: an invalid one and an unknown $schema are refused, in every draft', () => {
  const drafts = [undefined, 'http://json-schema.org/draft-07/schema#', 'https://json-schema.org/draft/2019-09/schema', 'https://json-schema.org/draft/2020-12/schema'];
  for (const $schema of drafts) {
    // Twice: the meta-schema check is shared by every schema of a draft; it must refuse each time.
    for (let i = 0; i < 2; i++) {
      assert.throws(() => compileSchema({ ...($schema ? { $schema } : {}), type: 'object', properties: { n: { type: `no-such-type-${i}` } } }), /schema is invalid/, String($schema));
    }
    assert.equal(typeof compileSchema({ ...($schema ? { $schema } : {}), type: 'object', properties: { n: { type: 'integer' } } }), 'function', String($schema));
  }
  assert.throws(() => compileSchema({ $schema: 'https://example.com/my-meta', type: 'object' }), /no schema with key or ref/);
});
