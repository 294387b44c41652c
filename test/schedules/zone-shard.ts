/**
 * The "Done when" property over every zone the runtime knows, split into shards so
 * that `npm test` runs them in parallel: for each zone of the shard and every day of
 * 2020–2040, `30 2 * * *` fires exactly once per local day; around every change of offset
 * `*\/15 * * * *` fires every 15 elapsed minutes and `0 * * * *` every elapsed hour, equal to
 * the oracle's minute-by-minute fires.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ALL_ZONES, shard } from './oracle.js';
import { changesIn, checkDaily, checkElapsedAroundChanges, EVERY_15, HOURLY, oracleFor, type Report } from './properties.js';
import { ours } from './ours.js';

export const SHARDS = 4;

export function zoneShardTests(k: number): void {
  const zones = shard(k, SHARDS);
  const oracles = new Map(zones.map((z) => [z, oracleFor(z)]));

  test(`shard ${k + 1}/${SHARDS}: the oracle sees the zones' changes of offset`, () => {
    assert.equal(ALL_ZONES.length > 400, true, `the runtime lists ${ALL_ZONES.length} zones`);
    const changes = [...oracles.values()].reduce((n, oz) => n + changesIn(oz).length, 0);
    assert.ok(changes > 500, `only ${changes} changes of offset found in 2020–2040`);
  });

  const sum = (reports: Report[]): { checked: number; gaps: number; repeats: number; violations: string[] } => ({
    checked: reports.reduce((n, r) => n + r.checked, 0),
    gaps: reports.reduce((n, r) => n + r.gaps, 0),
    repeats: reports.reduce((n, r) => n + r.repeats, 0),
    violations: reports.flatMap((r) => r.violations).slice(0, 30),
  });

  test(`shard ${k + 1}/${SHARDS}: 30 2 * * * fires exactly once per local day, 2020–2040, in ${zones.length} zones`, () => {
    const s = sum([...oracles.values()].map((oz) => checkDaily(ours, oz)));
    assert.deepEqual(s.violations, []);
    const days = (Date.UTC(2040, 11, 31) - Date.UTC(2020, 0, 1)) / 86_400_000 + 1;
    assert.equal(s.checked, days * zones.length, 'one fire per zone and local day');
    // Not vacuous: the shard met spring-forward nights without 02:30 and fall-backs with two.
    assert.ok(s.gaps > 100 && s.repeats > 100, `gaps ${s.gaps}, repeats ${s.repeats}`);
  });

  for (const c of [EVERY_15, HOURLY]) {
    test(`shard ${k + 1}/${SHARDS}: ${c.expr} follows elapsed time across every change of offset, 2020–2040`, () => {
      const s = sum([...oracles.values()].map((oz) => checkElapsedAroundChanges(ours, oz, c)));
      assert.deepEqual(s.violations, []);
      assert.ok(s.gaps > 100 && s.repeats > 100, `gaps ${s.gaps}, repeats ${s.repeats}`);
    });
  }
}
