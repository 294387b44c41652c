/**
 * The zones the issue names, over the whole of 2020–2040 without gaps in the checking: every
 * 15-minute and hourly fire in one chain (Lord Howe's 30-minute shift included), and the
 * zones that change their offset at midnight with daily times at and around midnight.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { changesIn, checkDaily, checkElapsedChain, EVERY_15, HOURLY, oracleFor } from './properties.js';
import { ours } from './ours.js';

const HOUR = 3_600_000;

for (const zone of ['Australia/Lord_Howe', 'Europe/Berlin', 'America/New_York', 'Asia/Kathmandu']) {
  test(`${zone}: */15 and 0 * fire every 15 min / every elapsed hour, 2020-01-01 … 2040-12-31`, () => {
    const oz = oracleFor(zone);
    for (const c of [EVERY_15, HOURLY]) {
      const r = checkElapsedChain(ours, oz, c);
      assert.deepEqual(r.violations, []);
      assert.ok(r.checked > 7670 * (c === EVERY_15 ? 96 : 24) - 30, `${c.expr}: ${r.checked} fires`);
    }
  });
}

test('Australia/Lord_Howe changes by 30 minutes, twice a year', () => {
  const shifts = new Set(changesIn(oracleFor('Australia/Lord_Howe')).map((c) => c.after - c.before));
  assert.deepEqual([...shifts].sort(), [-HOUR / 2, HOUR / 2].sort());
});

// Zones whose clocks change at midnight (found by scanning 2020–2040): a day starts at 01:00,
// or 23:00–24:00 happens twice.
const MIDNIGHT_ZONES = ['America/Santiago', 'America/Havana', 'America/Asuncion', 'Asia/Gaza', 'Asia/Beirut', 'Asia/Damascus', 'Asia/Tehran', 'Africa/Cairo', 'Atlantic/Azores'];

for (const zone of MIDNIGHT_ZONES) {
  test(`${zone}: 0 0, 30 0 and 30 23 fire exactly once per local day, 2020–2040`, () => {
    const oz = oracleFor(zone);
    const midnightChanges = changesIn(oz).filter((c) => [c.at + c.before, c.at + c.after].some((w) => w % 86_400_000 === 0));
    assert.ok(midnightChanges.length > 0, `${zone} has no change at midnight in 2020–2040`);
    let gaps = 0;
    let repeats = 0;
    for (const [h, m] of [[0, 0], [0, 30], [23, 30]] as const) {
      const r = checkDaily(ours, oz, h, m);
      assert.deepEqual(r.violations, []);
      gaps += r.gaps;
      repeats += r.repeats;
    }
    assert.ok(gaps + repeats > 0, 'the midnight changes were met');
  });
}
