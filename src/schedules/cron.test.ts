import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApiError } from '../core/errors.js';
import { parseCron, validationError, type Cron } from './index.js';

function ok(text: string): Cron {
  const r = parseCron(text);
  if (!r.ok) assert.fail(`${text}: ${r.issue.message}`);
  return r.value;
}

const range = (a: number, b: number, step = 1): number[] => {
  const out: number[] = [];
  for (let i = a; i <= b; i += step) out.push(i);
  return out;
};

test('fields: lists, ranges, steps, names, 7 = Sunday', () => {
  const c = ok('*/15 9-17 1,15 JAN-MAR,dec MON-FRI');
  assert.deepEqual(c.minutes, [0, 15, 30, 45]);
  assert.deepEqual(c.hours, range(9, 17));
  assert.deepEqual(c.daysOfMonth, [1, 15]);
  assert.deepEqual(c.months, [1, 2, 3, 12]);
  assert.deepEqual(c.daysOfWeek, [1, 2, 3, 4, 5]);
  assert.deepEqual(ok('0 0 * * 7').daysOfWeek, [0]);
  assert.deepEqual(ok('0 0 * * 5-7').daysOfWeek, [0, 5, 6]);
  assert.deepEqual(ok('0 0 * * MON-SUN').daysOfWeek, range(0, 6), 'a range ending on SUN runs to 7');
  assert.deepEqual(ok('0 0 * * SUN-SAT').daysOfWeek, range(0, 6));
  assert.deepEqual(ok('0 0 * * SUN-SUN').daysOfWeek, [0]);
  assert.deepEqual(ok('0 0 * * 0-SUN').daysOfWeek, [0]);
  assert.deepEqual(ok('0 0 * * FRI-SUN').daysOfWeek, [0, 5, 6]);
  assert.deepEqual(ok('0 0 * * */2').daysOfWeek, [0, 2, 4, 6]);
  assert.deepEqual(ok('5/20 * * * *').minutes, [5, 25, 45], 'a/s runs from a to the field maximum');
  assert.deepEqual(ok('10-40/10 * * * *').minutes, [10, 20, 30, 40]);
  assert.deepEqual(ok('0 */6 * * *').hours, [0, 6, 12, 18]);
  assert.deepEqual(ok('05 0 * * *').minutes, [5]);
  assert.deepEqual(ok('  0\t0  * * *  ').fields, '0 0 * * *', 'blanks and tabs separate fields');
});

test('macros expand to their 5-field forms, in any letter case', () => {
  assert.equal(ok('@hourly').fields, '0 * * * *');
  assert.equal(ok('@daily').fields, '0 0 * * *');
  assert.equal(ok('@midnight').fields, '0 0 * * *');
  assert.equal(ok('@weekly').fields, '0 0 * * 0');
  assert.equal(ok('@monthly').fields, '0 0 1 * *');
  assert.equal(ok('@yearly').fields, '0 0 1 1 *');
  assert.equal(ok('@annually').fields, '0 0 1 1 *');
  assert.equal(ok('@Daily').source, '@Daily');
});

test('Vixie day rule flags and the elapsed-time hour flag', () => {
  const both = ok('0 0 1,15 * MON');
  assert.equal(both.domStar || both.dowStar, false, 'both restricted: either matches (OR)');
  assert.equal(ok('0 0 */2 * MON').domStar, true, 'a field starting with * is a wildcard for the rule (AND)');
  assert.equal(ok('0 * * * *').hourElapsed, true);
  assert.equal(ok('0 */2 * * *').hourElapsed, true);
  assert.equal(ok('0 0-23/3 * * *').hourElapsed, true, 'a step is elapsed time too');
  assert.equal(ok('0 1-23 * * *').hourElapsed, false);
  assert.equal(ok('0 2 * * *').hourElapsed, false);
  assert.equal(ok('@daily').hourElapsed, false);
  assert.equal(ok('@hourly').hourElapsed, true);
});

const BAD: [string, string, string?][] = [
  ['', 'needs 5 fields (minute hour day-of-month month day-of-week), got 0'],
  ['* * * *', 'needs 5 fields (minute hour day-of-month month day-of-week), got 4'],
  ['0 * * * * *', 'needs 5 fields (minute hour day-of-month month day-of-week), got 6'],
  ['60 * * * *', 'minute: 60 is out of range 0-59', 'minute'],
  ['0 24 * * *', 'hour: 24 is out of range 0-23', 'hour'],
  ['0 0 0 * *', 'day-of-month: 0 is out of range 1-31', 'day-of-month'],
  ['0 0 32 * *', 'day-of-month: 32 is out of range 1-31', 'day-of-month'],
  ['0 0 * 13 *', 'month: 13 is out of range 1-12', 'month'],
  ['0 0 * * 8', 'day-of-week: 8 is out of range 0-7', 'day-of-week'],
  ['0 0 * * MONDAY', 'day-of-week: "MONDAY" is not a number 0-7 or a name (SUN, MON, TUE, …)', 'day-of-week'],
  ['0 0 * FOO *', 'month: "FOO" is not a number 1-12 or a name (JAN, FEB, MAR, …)', 'month'],
  ['MON * * * *', 'minute: "MON" is not a number 0-59', 'minute'],
  ['5-1 * * * *', 'minute: range "5-1" runs backwards', 'minute'],
  ['0 0 * * FRI-MON', 'day-of-week: range "FRI-MON" runs backwards', 'day-of-week'],
  ['*/0 * * * *', 'minute: step 0 in "*/0" is out of range 1-60', 'minute'],
  ['*/61 * * * *', 'minute: step 61 in "*/61" is out of range 1-60', 'minute'],
  ['*/x * * * *', 'minute: step "x" in "*/x" is not a positive number', 'minute'],
  ['1/2/3 * * * *', 'minute: "1/2/3" has more than one "/"', 'minute'],
  ['1-2-3 * * * *', 'minute: "1-2-3" is not a range a-b', 'minute'],
  ['1,,2 * * * *', 'minute: empty list item in "1,,2"', 'minute'],
  ['1, * * * *', 'minute: empty list item in "1,"', 'minute'],
  ['-1 * * * *', 'minute: empty value', 'minute'],
  ['+1 * * * *', 'minute: "+1" is not a number 0-59', 'minute'],
  ['0 0 ? * *', 'day-of-month: "?" is not supported (Quartz syntax); use "*"', 'day-of-month'],
  ['0 0 L * *', 'day-of-month: "L" is not supported (Quartz syntax)', 'day-of-month'],
  ['0 0 15W * *', 'day-of-month: "15W" is not supported (Quartz syntax)', 'day-of-month'],
  ['0 0 * * MON#2', 'day-of-week: "MON#2" is not supported (Quartz syntax)', 'day-of-week'],
  ['@reboot', 'unknown macro "@reboot" (known: @yearly @annually @monthly @weekly @daily @midnight @hourly)'],
  ['@every 5m', 'unknown macro "@every 5m" (known: @yearly @annually @monthly @weekly @daily @midnight @hourly)'],
];

test('bad expressions are refused with a message that names the cron field', () => {
  for (const [text, message, cronField] of BAD) {
    const r = parseCron(text);
    assert.equal(r.ok, false, text);
    if (r.ok) continue;
    assert.deepEqual(r.issue, { field: 'cron', code: 'CRON_INVALID', message: `cron: ${message}`, ...(cronField ? { cronField } : {}) }, text);
  }
});

test('an expression that can never fire is refused', () => {
  for (const text of ['0 0 31 2 *', '0 0 30,31 FEB *', '0 0 31 4,6,9,11 *', '0 0 31 2 */2']) {
    const r = parseCron(text);
    assert.equal(r.ok ? 'ok' : r.issue.code, 'CRON_NEVER_FIRES', text);
    if (!r.ok) assert.equal(r.issue.cronField, 'day-of-month');
  }
  // Under the OR rule a weekday restriction fires even when the day never comes; 29 February
  // comes every four years.
  assert.equal(parseCron('0 0 31 2 MON').ok, true);
  assert.equal(parseCron('0 0 29 2 *').ok, true);
});

test('non-strings and over-long input are refused without work', () => {
  for (const v of [undefined, null, 5, ['* * * * *'], { cron: '* * * * *' }]) {
    const r = parseCron(v);
    assert.equal(r.ok ? 'ok' : r.issue.message, 'cron: must be a string');
  }
  const r = parseCron(`${'1,'.repeat(200)}1 * * * *`);
  assert.equal(r.ok ? 'ok' : r.issue.message, 'cron: longer than 256 characters');
});

test('an issue becomes a 400 VALIDATION_FAILED naming the request field', () => {
  const r = parseCron('0 25 * * *');
  assert.equal(r.ok, false);
  if (r.ok) return;
  const e = validationError(r.issue, 'body');
  assert.ok(e instanceof ApiError);
  assert.equal(e.code, 'VALIDATION_FAILED');
  assert.equal(e.message, 'body.cron: hour: 25 is out of range 0-23');
  assert.deepEqual(e.details, {
    field: 'body.cron',
    issues: [{ field: 'body.cron', code: 'CRON_INVALID', message: 'cron: hour: 25 is out of range 0-23', cronField: 'hour' }],
  });
  assert.equal(validationError(r.issue).details!.field, 'cron');
});
