import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_CATCHUP_FIRES, ON_TIME_GRACE_MS, planDueFires } from './catchup.js';

const H = 3600_000;
const now = Date.parse('2026-07-01T15:00:10Z');
/** Every 10 minutes from 12:10 to 15:00. */
const due = Array.from({ length: 18 }, (_, i) => Date.parse('2026-07-01T12:10:00Z') + i * 600_000);

test('one due fire within the grace is an ordinary fire, whatever the policy', () => {
  for (const policy of ['latest', 'all', 'none'] as const) {
    assert.deepEqual(planDueFires({ policy, windowMs: H }, [now - 10_000], null, now), { start: [now - 10_000], missed: null });
  }
  const late = now - ON_TIME_GRACE_MS - 1;
  assert.deepEqual(planDueFires({ policy: 'none', windowMs: H }, [late], null, now), { start: [], missed: { count: 1, firstMs: late, lastMs: late } });
});

test('latest starts the newest fire in the window; all every fire in it; none nothing; the rest are missed', () => {
  const latest = planDueFires({ policy: 'latest', windowMs: H }, due, null, now);
  assert.deepEqual(latest.start, [due[17]]);
  assert.deepEqual(latest.missed, { count: 17, firstMs: due[0], lastMs: due[16] });
  const all = planDueFires({ policy: 'all', windowMs: H }, due, null, now);
  assert.deepEqual(all.start, due.slice(12));
  assert.deepEqual(all.missed, { count: 12, firstMs: due[0], lastMs: due[11] });
  const none = planDueFires({ policy: 'none', windowMs: H }, due, null, now);
  assert.deepEqual(none.start, []);
  assert.deepEqual(none.missed, { count: 18, firstMs: due[0], lastMs: due[17] });
});

test('a window that holds no due fire starts nothing; omitted older fires count as missed', () => {
  const p = planDueFires({ policy: 'latest', windowMs: 1000 }, due, null, now);
  assert.deepEqual(p.start, []);
  assert.equal(p.missed!.count, 18);
  const older = { count: 500, firstMs: Date.parse('2026-06-01T00:00:00Z'), lastMs: due[0]! - 600_000 };
  const q = planDueFires({ policy: 'all', windowMs: 400 * 24 * H }, due, older, now);
  assert.deepEqual(q.start, due);
  assert.deepEqual(q.missed, older, 'all listed fires started; only the omitted ones are missed');
  const many = Array.from({ length: MAX_CATCHUP_FIRES + 5 }, (_, i) => now - (MAX_CATCHUP_FIRES + 5 - i) * 1000);
  const r = planDueFires({ policy: 'all', windowMs: H }, many, null, now);
  assert.equal(r.start.length, MAX_CATCHUP_FIRES);
  assert.equal(r.missed!.count, 5);
});
