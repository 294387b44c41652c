import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AnswerBuffers } from './answer-buffers.js';

test('a buffer is at least as long as asked, by powers of two from 64 KiB, and none is handed out twice while taken', () => {
  const pool = new AnswerBuffers();
  const a = pool.take(33_000);
  const b = pool.take(33_000);
  assert.equal(a.byteLength, 65_536);
  assert.notEqual(a.buffer, b.buffer, 'two answers in flight never share a buffer');
  assert.equal(pool.take(65_537).byteLength, 131_072);
  assert.equal(pool.take(0).byteLength, 65_536);
  pool.give(a);
  assert.equal(pool.keptBytes, 65_536);
  assert.equal(pool.take(10), a, 'given back, it is taken again');
  assert.equal(pool.keptBytes, 0);
});

test('an answer over 1 MiB gets a buffer of its own, never kept; the free bytes kept are bounded', () => {
  const pool = new AnswerBuffers(256 * 1024);
  const big = pool.take(3_000_000);
  assert.equal(big.byteLength, 3_000_000);
  pool.give(big);
  assert.equal(pool.keptBytes, 0);
  const taken = Array.from({ length: 6 }, () => pool.take(40_000));
  for (const b of taken) pool.give(b);
  assert.equal(pool.keptBytes, 256 * 1024, 'four of six kept: the bound');
  pool.give(Buffer.alloc(1000));
  assert.equal(pool.keptBytes, 256 * 1024, 'a buffer of no size class is not kept');
});
