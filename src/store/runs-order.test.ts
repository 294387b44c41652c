import { test } from 'node:test';
import assert from 'node:assert/strict';
import type Database from 'better-sqlite3';
import { tempStore } from './test-support.js';
import type { RunListFilter } from './runs.js';

test('a page of GET /runs (startedUtc DESC, runId ASC) reads its keys from an index in order: no sort, whatever the filter and position', (t) => {
  const store = tempStore(t, 'runs-order');
  const after = { startedMs: 5, runId: '0190' };
  const filters: RunListFilter[] = [];
  for (const f of [{}, { dagId: 'd' }, { scheduleId: 's' }]) {
    for (const range of [{}, { fromMs: 1 }, { fromMs: 1, toMs: 9 }]) filters.push({ tenant: 'a', limit: 51, ...f, ...range }, { tenant: 'a', limit: 51, ...f, ...range, after });
  }
  for (const f of filters) store.runs.listKeys(f);
  // The statements the list made (prepared once per distinct filter shape).
  const cache = (store.runs as unknown as { stmts: { cache: Map<string, Database.Statement> } }).stmts.cache;
  const lists = [...cache.keys()].filter((sql) => sql.includes('order by started_ms desc, run_id asc'));
  assert.equal(lists.length, filters.length, 'one statement per filter shape');
  for (const sql of lists) {
    const params = Object.fromEntries([...sql.matchAll(/@(\w+)/g)].map((m) => [m[1]!, m[1] === 'tenant' ? 'a' : 0]));
    const plan = (store.db.sqlite.prepare(`explain query plan ${sql}`).all(params) as Array<{ detail: string }>).map((r) => r.detail);
    assert.ok(plan.every((d) => !/TEMP B-TREE/.test(d)), `no sort:\n${sql}\n${plan.join('\n')}`);
    assert.match(plan.join('\n'), /USING COVERING INDEX runs_(dag_|schedule_)?list\b/, `${sql}\n${plan.join('\n')}`);
  }
});
