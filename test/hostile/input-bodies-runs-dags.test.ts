/**
 * Hostile world, input: property-based fuzzing of the JSON bodies of the two busiest routes,
 * POST /runs and POST /dags (generators derived from their zod schemas, then mutated with hostile
 * values; 150 cases each).
 * Every refusal is a 4xx envelope (never a 5xx), the server stays alive, and a refused request
 * leaves the database exactly as it was (row counts of every table and the tenant's exports, byte
 * for byte). The world and the checks: ./input-world.ts (the input fuzzing is split over
 * input-*.test.ts so that the files run in parallel).
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { busiest, fuzzBodies, resettle, routes, useInputWorld } from './input-world.js';

useInputWorld('bodies of POST /runs and POST /dags');

describe('input fuzzing: the bodies of POST /runs and POST /dags', () => {
  before(resettle);

  test('every JSON body of POST /runs and POST /dags (zod-derived, then mutated): a 4xx envelope or a success, never a 5xx; refused requests change nothing', async () => {
    const heavy = routes.filter((r) => r.body && busiest(r));
    assert.deepEqual(heavy.map((r) => `${r.method} ${r.path}`).sort(), ['POST /dags', 'POST /runs']);
    await fuzzBodies(heavy);
  });
});
