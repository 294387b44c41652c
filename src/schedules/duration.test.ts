import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseDuration } from './index.js';

const S = 1000;
const M = 60 * S;
const H = 60 * M;
const D = 24 * H;

test('ISO-8601 durations with a fixed length', () => {
  const cases: [string, number][] = [
    ['PT1H', H],
    ['PT90M', 90 * M],
    ['P1D', D],
    ['P1W', 7 * D],
    ['P1DT12H', 36 * H],
    ['PT1H30M', 90 * M],
    ['PT45S', 45 * S],
    ['PT0.5S', 500],
    ['PT1,25S', 1250],
    ['P0DT1M', M],
    ['PT36H', 36 * H],
    ['P366D', 366 * D],
  ];
  for (const [text, ms] of cases) assert.deepEqual(parseDuration(text), { ok: true, value: ms }, text);
});

test('bad durations are refused naming catchup.window (or the given field)', () => {
  const form = 'is not an ISO-8601 duration of the form PnW or PnDTnHnMnS (e.g. PT1H, PT90M, P1D)';
  const cases: [unknown, string][] = [
    ['P1M', '"P1M": months and years have no fixed length; use days (P30D)'],
    ['P1Y', '"P1Y": months and years have no fixed length; use days (P30D)'],
    ['P1Y2DT1H', '"P1Y2DT1H": months and years have no fixed length; use days (P30D)'],
    ['P', `"P" ${form}`],
    ['PT', `"PT" ${form}`],
    ['P1DT', `"P1DT" ${form}`],
    ['1H', `"1H" ${form}`],
    ['pt1h', `"pt1h" ${form}`],
    ['-PT1H', `"-PT1H" ${form}`],
    ['PT1.5H', `"PT1.5H" ${form}`],
    ['P1W1D', `"P1W1D" ${form}`],
    ['PT1H ', `"PT1H " ${form}`],
    ['PT0S', 'PT0S is zero; a window must be longer (the "none" policy starts nothing)'],
    ['P0D', 'P0D is zero; a window must be longer (the "none" policy starts nothing)'],
    ['P367D', 'P367D is longer than P366D'],
    ['PT9999999H', 'PT9999999H is longer than P366D'],
    [3600, 'must be a string (an ISO-8601 duration such as PT1H)'],
    [null, 'must be a string (an ISO-8601 duration such as PT1H)'],
  ];
  for (const [input, message] of cases) {
    const r = parseDuration(input);
    assert.deepEqual(r, { ok: false, issue: { field: 'catchup.window', code: 'DURATION_INVALID', message: `catchup.window: ${message}` } }, String(input));
  }
  const r = parseDuration('P1M', 'window');
  assert.equal(r.ok ? '' : r.issue.field, 'window');
});
