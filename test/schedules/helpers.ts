/** Helpers for schedule tests: create schedules, list a schedule's runs, wait for conditions. */
import assert from 'node:assert/strict';
import type { TestServer } from '../helpers/server.js';

export async function createSchedule(t: TestServer, body: Record<string, unknown>, tenant = 'a'): Promise<any> {
  const r = await t.req('POST', '/schedules', { tenant, body });
  assert.ok(r.status === 201 || r.status === 200, `create ${String(body.scheduleId)}: ${r.status} ${r.text}`);
  return r.body;
}

/** The schedule's runs, oldest fire first. */
export async function runsOf(t: TestServer, scheduleId: string, tenant = 'a'): Promise<any[]> {
  const r = await t.req('GET', `/runs?scheduleId=${scheduleId}&page_size=500`, { tenant });
  assert.equal(r.status, 200, r.text);
  return [...r.body.items].sort((x: any, y: any) => x.scheduledUtc.localeCompare(y.scheduledUtc) || x.startedUtc.localeCompare(y.startedUtc));
}

/** Polls `fn` until it returns a truthy value. */
export async function eventually<T>(fn: () => Promise<T | undefined | null | false>, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    const v = await fn();
    if (v) return v;
    last = v;
    await new Promise((res) => setTimeout(res, 20));
  }
  assert.fail(`${what}: not reached in ${timeoutMs} ms (last: ${JSON.stringify(last)})`);
}

/** The tenant's events (NDJSON export, manifest dropped). */
export async function eventsOf(t: TestServer, tenant = 'a'): Promise<any[]> {
  const r = await t.req('GET', '/events:export', { tenant });
  assert.equal(r.status, 200, r.text);
  return r.text.trim().split('\n').map((l) => JSON.parse(l)).filter((e) => !e.manifest);
}
