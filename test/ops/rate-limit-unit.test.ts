/** TokenBucketLimiter with a controlled clock. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TokenBucketLimiter } from '../../src/ops/rate-limit.js';

function limiter(rate: number, opts: { maxBuckets?: number } = {}) {
  let now = 0;
  const l = new TokenBucketLimiter({ runs: { ratePerSec: rate } }, { now: () => now, ...opts });
  return { l, advance: (ms: number) => (now += ms) };
}

test('burst is twice the rate; remaining counts down; reset is seconds until full', () => {
  const { l } = limiter(5);
  const d1 = l.take('runs', 't');
  assert.deepEqual(d1, { allowed: true, limit: 10, ratePerSecond: 5, remaining: 9, resetSeconds: 1 });
  for (let i = 0; i < 9; i++) assert.equal(l.take('runs', 't').allowed, true);
  const refused = l.take('runs', 't');
  assert.equal(refused.allowed, false);
  assert.equal(refused.remaining, 0);
  assert.equal(refused.resetSeconds, 2, '10 tokens at 5/s');
  assert.equal(refused.retryAfterSeconds, 1);
});

test('refills continuously and never beyond the burst', () => {
  const { l, advance } = limiter(1);
  l.take('runs', 't');
  l.take('runs', 't');
  assert.equal(l.take('runs', 't').allowed, false);
  advance(999);
  const early = l.take('runs', 't');
  assert.equal(early.allowed, false);
  assert.equal(early.retryAfterSeconds, 1, 'never 0: at least one second');
  advance(1);
  assert.equal(l.take('runs', 't').allowed, true);
  advance(3_600_000);
  assert.equal(l.take('runs', 't').remaining, 1, 'capped at burst 2');
});

test('tenants have independent buckets', () => {
  const { l } = limiter(1);
  l.take('runs', 'a');
  l.take('runs', 'a');
  assert.equal(l.take('runs', 'a').allowed, false);
  assert.equal(l.take('runs', 'b').allowed, true);
});

test('slow rates give longer Retry-After; float noise does not add a second', () => {
  // burst 0.2 < 1 would never admit anything: refused at construction.
  assert.throws(() => new TokenBucketLimiter({ runs: { ratePerSec: 0.1 } }), /burst must be >= 1/);
  const slow = new TokenBucketLimiter({ runs: { ratePerSec: 0.5 } }, { now: () => 0 });
  assert.equal(slow.take('runs', 't').allowed, true);
  const r = slow.take('runs', 't');
  assert.equal(r.allowed, false);
  assert.equal(r.retryAfterSeconds, 2);
  let now = 0;
  const tenth = new TokenBucketLimiter({ runs: { ratePerSec: 10 } }, { now: () => now });
  for (let i = 0; i < 20; i++) tenth.take('runs', 't');
  now = 300; // 3 tokens back, 0.30000000000000004 s worth of float math
  const d = tenth.take('runs', 't');
  assert.equal(d.resetSeconds, 2);
});

test('memory is bounded: full buckets are dropped first, then the least recently used', () => {
  const { l, advance } = limiter(1, { maxBuckets: 100 });
  for (let i = 0; i < 1000; i++) l.take('runs', `t${i}`);
  assert.ok(l.size <= 100, `size ${l.size}`);
  l.take('runs', 'hot');
  l.take('runs', 'hot');
  advance(10_000); // everything refills
  for (let i = 0; i < 95; i++) l.take('runs', `n${i}`);
  l.take('runs', 'x');
  assert.ok(l.size <= 100);
});
