/**
 * The API's paths, written once: the server's route table, the `Location` of created resources,
 * the CLI client, the web console and the benchmarks all take them from here.
 *
 * @example
 * `${API_BASE}/runs` // '/api/v1/orchestrator/runs'
 * runPath('0193a3c4-5b6e-7f00-8a1b-2c3d4e5f6a7b') // '/api/v1/orchestrator/runs/0193a3c4-…'
 */

/** Every path of the API is under this base path. */
export const API_BASE = '/api/v1/orchestrator';

/** The runs collection (`POST` starts a run). */
export const RUNS_PATH = `${API_BASE}/runs`;

/** The schedules collection (`POST` creates a schedule). */
export const SCHEDULES_PATH = `${API_BASE}/schedules`;

/** A run (the `Location` of a started run). */
export const runPath = (runId: string): string => `${RUNS_PATH}/${runId}`;

/** A schedule (the `Location` of a created schedule). */
export const schedulePath = (scheduleId: string): string => `${SCHEDULES_PATH}/${scheduleId}`;

/** A DAG version (the `Location` of a published version). */
export const dagVersionPath = (dagId: string, version: string): string => `${API_BASE}/dags/${dagId}/${version}`;
