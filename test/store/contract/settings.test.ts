/**
 * Store contract: values the installation shares (`StorePorts.setting`). The first ask stores
 * its candidate; every later ask — and every concurrent first ask, as from nodes starting at
 * once — gets that one stored value.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KINDS, storeOf } from './stores.js';

for (const kind of KINDS) {
  test(`${kind}: a setting is stored by the first ask and the same for every later one`, async (ctx) => {
    const s = await storeOf(ctx, kind);
    if (!s) return;
    assert.equal(await s.setting('k1', 'first'), 'first');
    assert.equal(await s.setting('k1', 'second'), 'first', 'a later candidate never replaces it');
    assert.equal(await s.setting('k2', 'other'), 'other', 'names are apart');
  });

  test(`${kind}: concurrent first asks all get one value`, async (ctx) => {
    const s = await storeOf(ctx, kind);
    if (!s) return;
    for (let round = 0; round < 5; round++) {
      const got: string[] = await Promise.all(Array.from({ length: 8 }, (_, i): Promise<string> => s.setting(`race-${round}`, `candidate-${i}`)));
      assert.equal(new Set(got).size, 1, `one value: ${got.join(', ')}`);
      assert.match(got[0]!, /^candidate-\d$/);
    }
  });
}
