import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tempStore } from './test-support.js';

test('every retention statement (and the run reads) that takes a list of run ids finds them by key, never by walking an index of all runs', (t) => {
  const store = tempStore(t, 'retention-plan');
  const sqlite = store.db.sqlite;
  const byIds = [...Object.values(store.retention as object), ...Object.values(store.runs as object)]
    .filter((s): s is { source: string } => typeof s?.source === 'string')
    .map((s) => s.source)
    .filter((sql) => /\b(run_id|holder) in \(select value from json_each/.test(sql));
  assert.ok(byIds.length >= 7, `the statements were found (${byIds.length})`);
  for (const sql of byIds) {
    const params = Array((sql.match(/\?/g) ?? []).length).fill('[]');
    const plan = (sqlite.prepare(`explain query plan ${sql}`).all(...params) as Array<{ detail: string }>).map((r) => r.detail);
    const search = plan.find((d) => /^(SEARCH|SCAN) (runs|steps|attempts|idempotency_keys|artifact_refs)\b/.test(d)) ?? '';
    assert.match(search, /^SEARCH \w+ USING (COVERING )?INDEX \w+ \((run_id|holder)=\?\)/, `${sql}\n${plan.join('\n')}`);
  }
});
