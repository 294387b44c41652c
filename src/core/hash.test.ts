import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalJson, canonicalHash, sha256Hex } from './hash.js';
import { uuidv7, UUID_V7_RE } from './ids.js';
import { parseJsonBounded, jsonDepthExceeds } from './json.js';
import { ApiError } from './errors.js';

test('canonical JSON sorts keys and normalises numbers (RFC 8785)', () => {
  assert.equal(canonicalJson({ b: 1, a: [1e21, 0.5, 'x'] }), '{"a":[1e+21,0.5,"x"],"b":1}');
  assert.equal(canonicalHash({}), sha256Hex('{}'));
});

test('uuidv7 ids are lowercase v7 and sort in creation order', () => {
  const ids = Array.from({ length: 5000 }, () => uuidv7());
  for (const id of ids) assert.match(id, UUID_V7_RE);
  assert.deepEqual([...ids].sort(), ids);
});

test('deep JSON is refused before parsing', () => {
  const deep = '['.repeat(100_000) + ']'.repeat(100_000);
  assert.throws(() => parseJsonBounded(deep, 64), (e) => e instanceof ApiError && e.code === 'VALIDATION_FAILED');
  assert.deepEqual(parseJsonBounded('{"a":"[[[["}', 2), { a: '[[[[' });
  assert.equal(jsonDepthExceeds({ a: { b: {} } }, 2), true);
  assert.equal(jsonDepthExceeds({ a: { b: 1 } }, 2), false);
});

test('__proto__ keys are refused, also when written with escapes', () => {
  for (const text of ['{"__proto__":{"admin":true}}', '{"a":[{"\\u005f_proto__":1}]}']) {
    assert.throws(() => parseJsonBounded(text, 64), (e) => e instanceof ApiError && e.code === 'VALIDATION_FAILED');
  }
  assert.deepEqual(parseJsonBounded('{"a":"__proto__"}', 64), { a: '__proto__' });
});
