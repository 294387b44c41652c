/**
 * Hostile world, input: property-based fuzzing of the JSON body of every route of the route table
 * that takes one, except POST /runs and POST /dags (input-bodies-runs-dags.test.ts): generators
 * derived from the routes' zod schemas, then mutated with hostile values; 60 cases each.
 * Every refusal is a 4xx envelope (never a 5xx), the server stays alive, and a refused request
 * leaves the database exactly as it was (row counts of every table and the tenant's exports, byte
 * for byte). The world and the checks: ./input-world.ts (the input fuzzing is split over
 * input-*.test.ts so that the files run in parallel).
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { busiest, fuzzBodies, resettle, routes, useInputWorld } from './input-world.js';

useInputWorld('bodies of the routes but POST /runs and POST /dags');

describe('input fuzzing: every other body of the route table', () => {
  before(resettle);

  test('every JSON body but those of POST /runs and /dags (zod-derived, then mutated): a 4xx envelope or a success, never a 5xx; refused requests change nothing', async () => {
    const withBody = routes.filter((r) => r.body);
    assert.ok(withBody.length >= 5 && withBody.some((r) => r.method === 'PUT'), 'the table has its mutating routes, PUT included');
    const others = withBody.filter((r) => !busiest(r));
    assert.equal(others.length, withBody.length - 2, 'only POST /runs and POST /dags are fuzzed elsewhere');
    await fuzzBodies(others);
  });
});
