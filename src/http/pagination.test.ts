import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { ApiError } from '../core/index.js';
import { PageTokens } from './pagination.js';

const invalid = (e: unknown) => e instanceof ApiError && e.code === 'INVALID_PAGE_TOKEN';

test('a page token names its position for its list, tenant and filters only', () => {
  const tokens = new PageTokens(randomBytes(32));
  const t = tokens.encode('runs', 'a', { status: 'completed' }, { s: 17, id: 'x' });
  assert.deepEqual(tokens.decode('runs', 'a', { status: 'completed' }, t), { s: 17, id: 'x' });
  assert.throws(() => tokens.decode('runs', 'b', { status: 'completed' }, t), invalid, 'another tenant');
  assert.throws(() => tokens.decode('dags', 'a', { status: 'completed' }, t), invalid, 'another list');
  assert.throws(() => tokens.decode('runs', 'a', {}, t), invalid, 'other filters');
  assert.throws(() => new PageTokens(randomBytes(32)).decode('runs', 'a', { status: 'completed' }, t), invalid, 'another key');
  const [body, sig] = t.split('.');
  assert.throws(() => tokens.decode('runs', 'a', { status: 'completed' }, `${Buffer.from('{"s":18,"id":"x"}').toString('base64url')}.${sig}`), invalid, 'a forged position');
  assert.throws(() => tokens.decode('runs', 'a', { status: 'completed' }, `${body}.${sig}.x`), invalid);
});

test('the same page asked again gets the same token (remembered), and past the bound every token is still right', () => {
  const tokens = new PageTokens(randomBytes(32));
  const first = tokens.encode('runs', 'a', {}, { s: 1, id: 'r' });
  assert.equal(tokens.encode('runs', 'a', {}, { s: 1, id: 'r' }), first);
  assert.notEqual(tokens.encode('runs', 'b', {}, { s: 1, id: 'r' }), first, 'per tenant');
  for (let i = 0; i < 1500; i++) {
    const t = tokens.encode('runs', 'a', { dagId: 'd' }, { s: i, id: `r${i}` });
    assert.deepEqual(tokens.decode('runs', 'a', { dagId: 'd' }, t), { s: i, id: `r${i}` });
  }
  assert.equal(tokens.encode('runs', 'a', {}, { s: 1, id: 'r' }), first, 'made again after it left the memory: the same bytes');
});
