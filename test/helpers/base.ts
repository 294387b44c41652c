/**
 * The API's base path and the fixtures folder, on their own: a test file that drives a child
 * server (or none) takes them from here without loading the whole server in its own process
 * (test/helpers/server.ts imports all of src/, ~2-3 s of CPU through tsx per file).
 *
 * @example await fetch(`${url}${BASE}/runs`, { headers });
 */
import { join } from 'node:path';

/** The tests' own copy of the API's base path, so that a drift of the constant fails them. */
export const BASE = '/api/v1/orchestrator';
export const FIXTURES = join(import.meta.dirname, '..', '..', 'fixtures');
