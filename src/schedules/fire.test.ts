import assert from 'node:assert/strict';
import { test } from 'node:test';
import { firesBetween, formatLocal, nextFire, nextFires, parseCron, upcoming, type Cron } from './index.js';

function cron(text: string): Cron {
  const r = parseCron(text);
  if (!r.ok) assert.fail(r.issue.message);
  return r.value;
}
const at = (s: string): number => Date.parse(s);
const isos = (ts: number[]): string[] => ts.map((t) => new Date(t).toISOString());

test('strictly after: a fire at afterMs is not returned again; seconds are rounded up to the next minute', () => {
  const c = cron('* * * * *');
  assert.equal(nextFire(c, 'UTC', at('2026-01-01T12:00:00.000Z')), at('2026-01-01T12:01:00.000Z'));
  assert.equal(nextFire(c, 'UTC', at('2026-01-01T12:00:30.500Z')), at('2026-01-01T12:01:00.000Z'));
  assert.equal(nextFire(c, 'UTC', at('2026-01-01T11:59:59.999Z')), at('2026-01-01T12:00:00.000Z'));
});

test('after the first occurrence of a repeated wall time, a fixed hour waits for the next day', () => {
  // Berlin, 2024-10-27: 02:30 CEST (00:30Z) and 02:30 CET (01:30Z).
  const c = cron('30 2 * * *');
  assert.equal(nextFire(c, 'Europe/Berlin', at('2024-10-27T00:45:00Z')), at('2024-10-28T01:30:00Z'));
  // From inside the repeated hour (02:10 CET) too: 02:30 CET is a second occurrence.
  assert.equal(nextFire(c, 'Europe/Berlin', at('2024-10-27T01:10:00Z')), at('2024-10-28T01:30:00Z'));
  assert.equal(nextFire(cron('*/15 2 * * *'), 'Europe/Berlin', at('2024-10-27T01:10:00Z')), at('2024-10-28T01:00:00Z'));
  // An elapsed-time hour fires at both.
  assert.deepEqual(isos(nextFires(cron('30 * * * *'), 'Europe/Berlin', at('2024-10-27T00:00:00Z'), 3)), [
    '2024-10-27T00:30:00.000Z',
    '2024-10-27T01:30:00.000Z',
    '2024-10-27T02:30:00.000Z',
  ]);
});

test('Pacific/Apia skipped 2011-12-30 entirely: a fixed time fires once at the first instant after it', () => {
  // 2011-12-29T23:59:59-10:00 was followed by 2011-12-31T00:00:00+14:00 (= 2011-12-30T10:00Z).
  const fires = nextFires(cron('0 12 * * *'), 'Pacific/Apia', at('2011-12-29T00:00:00Z'), 3);
  assert.deepEqual(fires.map((t) => formatLocal(t, 'Pacific/Apia')), [
    '2011-12-29T12:00:00.000-10:00',
    '2011-12-31T00:00:00.000+14:00', // 30 December's noon, which never was
    '2011-12-31T12:00:00.000+14:00',
  ]);
  // Elapsed time: every 6 hours goes on, nothing fires for the missing day.
  const six = nextFires(cron('0 */6 * * *'), 'Pacific/Apia', at('2011-12-29T20:00:00Z'), 4);
  assert.deepEqual(six.map((t) => formatLocal(t, 'Pacific/Apia')), [
    '2011-12-29T12:00:00.000-10:00',
    '2011-12-29T18:00:00.000-10:00',
    '2011-12-31T00:00:00.000+14:00',
    '2011-12-31T06:00:00.000+14:00',
  ]);
});

test('rare dates are found years ahead (29 February across the non-leap 2100)', () => {
  assert.equal(nextFire(cron('0 0 29 2 *'), 'UTC', at('2096-03-01T00:00:00Z')), at('2104-02-29T00:00:00Z'));
  assert.equal(nextFire(cron('0 0 29 2 *'), 'Europe/Berlin', at('2024-02-28T00:00:00Z')), at('2024-02-28T23:00:00Z'));
});

test('Vixie day rule: both fields restricted is OR, a field starting with * makes it AND', () => {
  // 2026-03: the 13th is a Friday.
  const or = nextFires(cron('0 0 13 * FRI'), 'UTC', at('2026-03-01T00:00:00Z'), 3);
  assert.deepEqual(isos(or), ['2026-03-06T00:00:00.000Z', '2026-03-13T00:00:00.000Z', '2026-03-20T00:00:00.000Z']);
  const and = nextFires(cron('0 0 */2 * FRI'), 'UTC', at('2026-03-01T00:00:00Z'), 3);
  assert.deepEqual(isos(and), ['2026-03-13T00:00:00.000Z', '2026-03-27T00:00:00.000Z', '2026-04-03T00:00:00.000Z']);
});

test('firesBetween: (from, to], the newest `limit` fires and a count of the older ones', () => {
  const c = cron('* * * * *');
  const from = at('2026-01-01T00:00:00Z');
  const all = firesBetween(c, 'UTC', from, from + 86_400_000, 5000);
  assert.equal(all.fires.length, 1440);
  assert.equal(all.fires[0], from + 60_000, 'from is excluded');
  assert.equal(all.fires.at(-1), from + 86_400_000, 'to is included');
  assert.equal(all.omitted, 0);
  const some = firesBetween(c, 'UTC', from, from + 86_400_000, 100);
  assert.deepEqual(some.fires, all.fires.slice(-100));
  assert.equal(some.omitted, 1340);
  assert.deepEqual(firesBetween(c, 'UTC', from, from + 86_400_000, 0), { fires: [], omitted: 1440 });
  assert.deepEqual(firesBetween(c, 'UTC', from, from, 10), { fires: [], omitted: 0 });
});

test('upcoming: the next fires in UTC and local time with the offset in force', () => {
  const clock = { now: () => at('2024-03-29T12:00:00Z') };
  assert.deepEqual(upcoming(cron('30 2 * * *'), 'Europe/Berlin', clock, 3), [
    { utc: '2024-03-30T01:30:00.000Z', local: '2024-03-30T02:30:00.000+01:00' },
    { utc: '2024-03-31T01:00:00.000Z', local: '2024-03-31T03:00:00.000+02:00' },
    { utc: '2024-04-01T00:30:00.000Z', local: '2024-04-01T02:30:00.000+02:00' },
  ]);
  assert.equal(upcoming(cron('@daily'), 'UTC', clock).length, 5, 'five by default');
  assert.equal(formatLocal(at('2024-01-15T12:00:00Z'), 'America/New_York'), '2024-01-15T07:00:00.000-05:00');
  assert.equal(formatLocal(at('2024-01-15T12:00:00Z'), 'Asia/Kathmandu'), '2024-01-15T17:45:00.000+05:45');
  assert.equal(formatLocal(at('2024-01-15T12:00:00Z'), 'UTC'), '2024-01-15T12:00:00.000+00:00');
});
