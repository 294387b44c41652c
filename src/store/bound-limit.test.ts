/**
 * Every statement prepared once and run with many LIMITs binds its limit as an expression
 * (`util.ts` `boundLimit`: `limit ? + 0`), so SQLite does not re-prepare it at every run, and
 * its query plan is the one the bare `limit ?` had: the same index, the same order (SQLite 3.53
 * reads a bare bound LIMIT while planning; without sqlite_stat1 the plans here do not depend on it).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { tempStore } from './test-support.js';

type Params = unknown[] | Record<string, unknown>;

test('statements with a bound LIMIT bind it as an expression, and plan as the bare LIMIT did', (t) => {
  const store = tempStore(t, 'bound-limit');
  const own = <T>(o: unknown, k: string) => (o as Record<string, T>)[k]!;
  const source = (o: unknown, k: string) => own<Database.Statement>(o, k).source;
  // The statements made per filter shape (StatementCache), after one call of each shape.
  const cached = (o: unknown, match: string) => [...own<{ cache: Map<string, Database.Statement> }>(o, 'stmts').cache.keys()].filter((sql) => sql.includes(match));
  const after = { createdMs: 1, dagId: 'd', versionKey: 'k' };
  for (const f of [{}, { dagId: 'd' }, { active: true }]) {
    store.dags.list({ tenant: 'a', limit: 51, ...f });
    store.dags.list({ tenant: 'a', limit: 51, ...f, after: { dagId: 'd', versionKey: 'k' } });
    store.dags.exportPage('a', f, undefined, 100);
    store.dags.exportPage('a', f, after, 100);
  }
  for (const f of [{}, { dagId: 'd' }, { paused: true }, { after: 's' }]) store.schedules.list({ tenant: 'a', limit: 51, ...f });

  const named = (sql: string): Params => Object.fromEntries([...sql.matchAll(/@(\w+)/g)].map((m) => [m[1]!, m[1] === 'limit' ? 51 : 'a']));
  const positional = (sql: string): Params => (sql.match(/\?/g) ?? []).map(() => 'a');
  const cases: Array<{ name: string; sql: string; index: RegExp }> = [
    { name: 'events.since', sql: source(store.events, 'sinceStmt'), index: /USING INDEX sqlite_autoindex_events_1 \(tenant=\? AND seq>\?\)/ },
    { name: 'leases.claim', sql: source(store.leases, 'claimable'), index: /SCAN o USING INDEX sqlite_autoindex_run_owners_1/ },
    { name: 'refs.ownedPage', sql: source(store.refs, 'ownedPageStmt'), index: /SEARCH a USING INDEX sqlite_autoindex_artifacts_1 \(\(tenant,hash\)>/ },
    { name: 'refs.ownedPage of a tenant', sql: source(store.refs, 'ownedPageOfTenantStmt'), index: /SEARCH a USING INDEX sqlite_autoindex_artifacts_1 \(tenant=\? AND hash>\?\)/ },
    { name: 'retention.eligible', sql: source(store.retention, 'eligibleStmt'), index: /SEARCH runs USING INDEX runs_dag_order \(tenant=\? AND dag_id=\?/ },
    ...cached(store.dags, 'from dag_versions').filter((s) => /limit/.test(s)).map((sql) => ({ name: 'dags page', sql, index: /USING INDEX dag_versions_order/ })),
    ...cached(store.schedules, 'from schedules').map((sql) => ({ name: 'schedules page', sql, index: /USING INDEX (sqlite_autoindex_schedules_1|schedules_dag) / })),
  ];
  assert.equal(cases.filter((c) => c.name === 'dags page').length, 12, 'every dags page shape');
  assert.equal(cases.filter((c) => c.name === 'schedules page').length, 4, 'every schedules page shape');
  const plan = (sql: string, params: Params) => (store.db.sqlite.prepare(`explain query plan ${sql}`).all(...(Array.isArray(params) ? params : [params])) as Array<{ detail: string }>).map((r) => r.detail).join('\n');
  for (const { name, sql, index } of cases) {
    assert.match(sql, /limit (\?|@limit) \+ 0\b/, `${name}: the limit is bound as an expression:\n${sql}`);
    const params = /@\w+/.test(sql) ? named(sql) : positional(sql);
    const bare = sql.replace(/limit (\?|@limit) \+ 0\b/, 'limit $1');
    const p = plan(sql, params);
    assert.equal(p, plan(bare, params), `${name}: the same plan as with a bare limit:\n${sql}`);
    assert.match(p, index, `${name}:\n${p}`);
  }
});

test('no statement of the SQLite store binds a bare LIMIT: every one goes through boundLimit', () => {
  // Walks every source file of the store (not the PostgreSQL one, which does not re-prepare), so a
  // statement added later with `limit ?` or `limit @name` fails here, listed or not above.
  const dir = import.meta.dirname;
  const bare = /\blimit\s+(\?|[@:$]\w+)(?!\s*\+\s*0)/gi;
  const found: string[] = [];
  for (const name of readdirSync(dir)) {
    if (!name.endsWith('.ts') || name.endsWith('.test.ts')) continue;
    const text = readFileSync(join(dir, name), 'utf8');
    for (const m of text.matchAll(bare)) found.push(`${name}: ${m[0]}`);
  }
  assert.deepEqual(found, [], 'bind the limit with boundLimit (src/store/util.ts)');
  assert.match(readFileSync(join(dir, 'util.ts'), 'utf8'), /return `limit \$\{param\} \+ 0`/, 'boundLimit itself writes the expression');
});
