/**
 * When a node's next heartbeat comes (src/engine/scheduler/lease-expiry.ts): its period, or just
 * after another node's lease runs out when that is sooner — never before it, counted from the
 * heartbeat's own time in the database; its own lease and dead nodes' leases do not count.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LEASE_EXPIRY_MARGIN_MS, nextBeatDelay } from '../../src/engine/scheduler/lease-expiry.js';

const self = { id: 'b', heartbeatMs: 1000 };
const row = (nodeId: string, leaseUntilMs: number, live = true) => ({ nodeId, startedMs: 0, heartbeatMs: 0, leaseUntilMs, capacity: 1, live });

test('a node beats at its period while every other live lease outlasts it', () => {
  assert.equal(nextBeatDelay([], self, 10_000), 1000);
  assert.equal(nextBeatDelay([row('a', 12_000), row('b', 10_500)], self, 10_000), 1000, 'a live node renewing on time: its lease ends after the next beat');
  assert.equal(nextBeatDelay([row('a', 10_400, false)], self, 10_000), 1000, 'a lease already run out is taken at this beat, not planned for');
});

test('a lease that runs out before the next beat: the next beat comes just after it, never before', () => {
  assert.equal(nextBeatDelay([row('a', 10_400), row('c', 10_700)], self, 10_000), 400 + LEASE_EXPIRY_MARGIN_MS);
  assert.equal(nextBeatDelay([row('a', 10_000 + 1000 - LEASE_EXPIRY_MARGIN_MS)], self, 10_000), 1000);
  assert.equal(nextBeatDelay([row('a', 10_001)], self, 10_000), 1 + LEASE_EXPIRY_MARGIN_MS);
  assert.equal(nextBeatDelay([row('b', 10_100)], self, 10_000), 1000, 'its own lease does not count');
});
