/**
 * Helpers for run tests: publish unsigned DAGs (the server runs with `--allow-unsigned`), start
 * runs, and poll a run until it reaches a status.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { TestServer } from '../helpers/server.js';

/** The engine's test plugins (`misbehave`: busy loops, artifact reads and writes, …). */
export const GOOD_PLUGINS = join(import.meta.dirname, '..', 'fixtures', 'plugins', 'good');

export const TERMINAL = ['completed', 'failed', 'cancelled'];

export interface DagSpec {
  dagId: string;
  version?: string;
  steps: Array<Record<string, unknown>>;
  edges?: Array<{ from: string; to: string }>;
  inputsSchema?: Record<string, unknown>;
  metadata?: Record<string, unknown>;
}

export async function publish(t: TestServer, dag: DagSpec, tenant = 'a'): Promise<any> {
  const r = await t.req('POST', '/dags', { tenant, body: { version: '1.0.0', ...dag } });
  assert.ok(r.status === 201 || r.status === 200, `publish ${dag.dagId}: ${r.status} ${r.text}`);
  return r.body;
}

export async function startRun(
  t: TestServer,
  dagId: string,
  opts: { inputs?: Record<string, unknown>; tenant?: string; runToken?: string; version?: string } = {},
): Promise<any> {
  const body: Record<string, unknown> = { dagId };
  if (opts.inputs !== undefined) body.inputs = opts.inputs;
  if (opts.runToken !== undefined) body.runToken = opts.runToken;
  if (opts.version !== undefined) body.version = opts.version;
  const r = await t.req('POST', '/runs', { tenant: opts.tenant ?? 'a', body });
  assert.equal(r.status, 201, `start ${dagId}: ${r.status} ${r.text}`);
  return r.body;
}

/** Polls `GET /runs/{id}` until its status is one of `statuses` (default: any terminal one). */
export async function waitForRun(
  t: TestServer,
  runId: string,
  opts: { tenant?: string; statuses?: string[]; timeoutMs?: number } = {},
): Promise<any> {
  const want = opts.statuses ?? TERMINAL;
  const deadline = Date.now() + (opts.timeoutMs ?? 20_000);
  let last: any;
  while (Date.now() < deadline) {
    const r = await t.req('GET', `/runs/${runId}`, { tenant: opts.tenant ?? 'a' });
    assert.equal(r.status, 200, r.text);
    last = r.body;
    if (want.includes(last.status)) return last;
    await new Promise((res) => setTimeout(res, 15));
  }
  assert.fail(`run ${runId} did not reach ${want.join('|')} (last: ${last?.status})`);
}

/** Polls until `pred(run)` holds. */
export async function waitUntil(t: TestServer, runId: string, pred: (run: any) => boolean, tenant = 'a', timeoutMs = 20_000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const r = await t.req('GET', `/runs/${runId}`, { tenant });
    if (r.status === 200 && pred(r.body)) return r.body;
    await new Promise((res) => setTimeout(res, 15));
  }
  assert.fail(`run ${runId}: condition not met in ${timeoutMs} ms`);
}

export function stepOf(run: any, stepId: string): any {
  const s = run.steps.find((x: any) => x.stepId === stepId);
  assert.ok(s, `step ${stepId} in run`);
  return s;
}

export function statuses(run: any): Record<string, string> {
  return Object.fromEntries(run.steps.map((s: any) => [s.stepId, s.status]));
}
