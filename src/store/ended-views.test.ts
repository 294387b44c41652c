import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EndedViews } from './ended-views.js';

test('EndedViews: per tenant, bounded (least recently used first), forget', () => {
  const v = new EndedViews<string>(2);
  v.put('t', 'r1', 'full', '{"a":1}');
  v.put('t', 'r1', 'item', '{"b":1}');
  assert.equal(v.get('t', 'r1', 'full'), '{"a":1}');
  assert.equal(v.get('t', 'r1', 'item'), '{"b":1}');
  assert.equal(v.get('u', 'r1', 'full'), undefined, 'another tenant never sees it');
  v.put('u', 'r1', 'full', 'x');
  assert.equal(v.get('u', 'r1', 'full'), undefined, 'an entry keeps its tenant');
  v.put('t', 'r2', 'full', '2');
  v.put('t', 'r1', 'full', '{"a":1}'); // r1 used again: r2 is now the oldest
  v.put('t', 'r3', 'full', '3');
  assert.equal(v.size, 2);
  assert.equal(v.get('t', 'r2', 'full'), undefined);
  assert.equal(v.get('t', 'r1', 'full'), '{"a":1}');
  v.forget(['r1', 'nope']);
  assert.equal(v.get('t', 'r1', 'full'), undefined);
  assert.equal(v.size, 1);
});

test('EndedViews: the run\'s ids are given only by sole views, per tenant, and forgotten with the run', () => {
  const head = { runId: 'r1', dagId: 'd', scheduleId: null };
  const sole = new EndedViews<string>(4, true);
  sole.put('t', 'r1', 'full', '{}', head);
  assert.deepEqual(sole.head('t', 'r1'), head);
  assert.equal(sole.head('u', 'r1'), undefined);
  sole.put('t', 'r1', 'item', '{}');
  assert.deepEqual(sole.head('t', 'r1'), head, 'a view put without ids keeps those known');
  sole.forget(['r1']);
  assert.equal(sole.head('t', 'r1'), undefined);
  const shared = new EndedViews<string>(4);
  shared.put('t', 'r1', 'full', '{}', head);
  assert.equal(shared.head('t', 'r1'), undefined, 'not sole: the reader reads the run');
});
