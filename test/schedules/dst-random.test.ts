/**
 * Random cron expressions (fast-check) against the brute-force oracle: over two-day windows,
 * mostly around changes of offset, the evaluator's fires equal the instants the contract's
 * rules pick minute by minute from Intl's own wall-clock times. The expressions are generated
 * as structures; the oracle expands the structure itself, the evaluator parses the text.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { firesBetween, nextFire, parseCron } from '../../src/schedules/index.js';
import { ALL_ZONES } from './oracle.js';
import { changingInstants, exprArb, nearChange, neverFires, oracleWindow, WINDOW_MS, type Expr } from './random-exprs.js';

const MINUTE = 60_000;

/** How many windows had fires, and in how many the DST rules changed the answer. */
const stats = { windows: 0, withFires: 0, rulesMattered: 0 };

function checkWindow(e: Expr, zone: string, a: number): void {
  const parsed = parseCron(e.text);
  if (neverFires(e)) {
    assert.equal(parsed.ok ? 'ok' : parsed.issue.code, 'CRON_NEVER_FIRES', e.text);
    return;
  }
  assert.ok(parsed.ok, `${e.text}: ${parsed.ok ? '' : parsed.issue.message}`);
  const want = oracleWindow(e, zone, a);
  const got = firesBetween(parsed.value, zone, a, a + WINDOW_MS, 10_000).fires;
  assert.deepEqual(got.map((t) => new Date(t).toISOString()), want.map((t) => new Date(t).toISOString()), `${e.text} in ${zone} after ${new Date(a).toISOString()}`);
  if (want.length > 0) assert.equal(nextFire(parsed.value, zone, a), want[0]);
  stats.windows++;
  if (want.length > 0) stats.withFires++;
  if (want.join() !== oracleWindow(e, zone, a, !e.hourElapsed).join()) stats.rulesMattered++;
}

const changes = changingInstants();

test('random expressions around changes of offset equal the brute-force oracle', () => {
  assert.ok(changes.length > 400);
  fc.assert(
    fc.property(exprArb, nearChange(changes), (e, c) => checkWindow(e, c.zone, c.at)),
    { numRuns: 200 },
  );
  // Not vacuous: many windows fire (about half with these weights), and in some the gap /
  // repeat rules decided the answer.
  assert.ok(stats.withFires > stats.windows / 3, JSON.stringify(stats));
  assert.ok(stats.rulesMattered >= 10, JSON.stringify(stats));
});

test('random expressions at random instants of random zones equal the brute-force oracle', () => {
  const from = Date.UTC(2020, 0, 1);
  const to = Date.UTC(2040, 11, 29);
  fc.assert(
    fc.property(exprArb, fc.constantFrom(...ALL_ZONES), fc.integer({ min: 0, max: (to - from) / MINUTE }), (e, zone, m) => {
      checkWindow(e, zone, from + m * MINUTE);
    }),
    { numRuns: 100 },
  );
});
