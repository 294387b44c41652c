import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkTimeZone, timeZone } from './index.js';

test('every zone of the runtime list, UTC, aliases and Etc zones are accepted as written', () => {
  const names = [...Intl.supportedValuesOf('timeZone'), 'UTC', 'Etc/UTC', 'GMT', 'US/Eastern', 'Asia/Calcutta', 'Europe/Kyiv', 'Etc/GMT+5', 'Etc/GMT-14', 'europe/berlin'];
  for (const name of names) assert.deepEqual(checkTimeZone(name), { ok: true, value: name }, name);
  assert.equal(timeZone('US/Eastern').canonical, 'America/New_York');
  assert.equal(timeZone('europe/berlin'), timeZone('Europe/Berlin'), 'spellings of one zone share a table');
});

test('unknown names, offsets and non-strings are refused naming timezone', () => {
  const shape = (s: string): string => `${JSON.stringify(s)} is not an IANA time zone name (e.g. Europe/Berlin, UTC)`;
  const unknown = (s: string): string => `unknown time zone "${s}" (not in this runtime's IANA time zone data)`;
  const cases: [unknown, string][] = [
    ['Mars/Olympus_Mons', unknown('Mars/Olympus_Mons')],
    ['Factory', unknown('Factory')],
    ['CEST', unknown('CEST')],
    ['+02:00', shape('+02:00')],
    ['-0500', shape('-0500')],
    ['UTC+2', unknown('UTC+2')],
    ['', shape('')],
    [' Europe/Berlin', shape(' Europe/Berlin')],
    ['Europe/Berlin\n', shape('Europe/Berlin\n')],
    ['../../etc/passwd', shape('../../etc/passwd')],
    ['A'.repeat(65), shape('A'.repeat(65))],
    [42, 'must be a string (an IANA time zone name)'],
  ];
  for (const [input, message] of cases) {
    assert.deepEqual(checkTimeZone(input), { ok: false, issue: { field: 'timezone', code: 'TIMEZONE_UNKNOWN', message: `timezone: ${message}` } }, String(input));
  }
});

test('offsets match Intl, including a 30-minute shift and a skipped day', () => {
  const howe = timeZone('Australia/Lord_Howe');
  assert.equal(howe.offsetAt(Date.parse('2024-07-01T00:00:00Z')), 10.5 * 3_600_000);
  assert.equal(howe.offsetAt(Date.parse('2024-12-01T00:00:00Z')), 11 * 3_600_000);
  // Samoa moved across the date line: 2011-12-29T23:59:59-10:00 was followed by 2011-12-31T00:00:00+14:00.
  const apia = timeZone('Pacific/Apia');
  assert.equal(apia.offsetAt(Date.parse('2011-12-30T09:59:59Z')), -10 * 3_600_000);
  assert.equal(apia.offsetAt(Date.parse('2011-12-30T10:00:00Z')), 14 * 3_600_000);
  assert.equal(apia.spanAt(Date.parse('2011-12-30T12:00:00Z')).start, Date.parse('2011-12-30T10:00:00Z'));
});
