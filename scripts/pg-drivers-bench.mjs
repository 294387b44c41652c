#!/usr/bin/env node
// Compares the two PostgreSQL drivers for Node (node-postgres `pg`, the store's; `postgres` by
// porsager, the other candidate) on the write the scheduler makes per chain step: one
// transaction that upserts an attempt, updates the step and the run, and appends two events
// under the tenant's advisory lock (lock, read the head, insert). docs/SCALE-OUT.md has the
// figures. `postgres` is not a dependency: `npm i --no-save postgres` first.
//
// Usage: node scripts/pg-drivers-bench.mjs postgres://postgres@127.0.0.1:5432/bench [transactions]
import { loadavg } from 'node:os';
import pg from 'pg';

const url = process.argv[2];
const N = Number(process.argv[3] ?? 2000);
if (!url) {
  console.error('usage: node scripts/pg-drivers-bench.mjs postgres://… [transactions]');
  process.exit(2);
}
const postgres = (await import('postgres')).default;

const DDL = [
  'drop table if exists b_attempts, b_steps, b_runs, b_events',
  'create table b_runs (run_id text primary key, status text not null, ended_ms bigint)',
  'create table b_steps (run_id text, step_id text, status text not null, attempt bigint not null, primary key (run_id, step_id))',
  'create table b_attempts (run_id text, step_id text, attempt bigint, status text not null, started_ms bigint not null, primary key (run_id, step_id, attempt))',
  'create table b_events (tenant text, seq bigint, run_id text not null, body text not null, hash text not null, primary key (tenant, seq))',
];
const Q = {
  attempt: `insert into b_attempts values ($1, $2, $3, 'running', $4) on conflict (run_id, step_id, attempt) do update set status = excluded.status`,
  step: `update b_steps set status = 'running', attempt = $3 where run_id = $1 and step_id = $2`,
  run: `update b_runs set status = 'running' where run_id = $1`,
  lock: 'select pg_advisory_xact_lock(hashtextextended($1, 0))',
  head: 'select coalesce(max(seq), 0)::bigint as seq from b_events where tenant = $1',
  events: `insert into b_events select $1, s, $2, 'x', 'h' from unnest($3::bigint[]) as u(s)`,
};

async function setup() {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  for (const d of DDL) await c.query(d);
  await c.query(`insert into b_runs select 'r' || i, 'queued', null from generate_series(0, 63) i`);
  await c.query(`insert into b_steps select 'r' || i, 's' || j, 'pending', 0 from generate_series(0, 63) i, generate_series(0, ${N}) j`);
  await c.end();
}

/** Runs `tx(i)` N times with `conc` at once; returns transactions per second. */
async function measure(conc, tx) {
  let next = 0;
  const t0 = process.hrtime.bigint();
  await Promise.all(Array.from({ length: conc }, async () => {
    for (let i = next++; i < N; i = next++) await tx(i);
  }));
  return (N / (Number(process.hrtime.bigint() - t0) / 1e9)).toFixed(0);
}

const args = (i) => ({ run: `r${i % 64}`, step: `s${i}`, tenant: `t${i % 4}` });

async function withPg(conc) {
  const pool = new pg.Pool({ connectionString: url, max: conc });
  const q = (c, text, values) => c.query({ name: text.slice(0, 60), text, values });
  const r = await measure(conc, async (i) => {
    const a = args(i);
    const c = await pool.connect();
    try {
      await c.query('begin');
      await q(c, Q.attempt, [a.run, a.step, 1, i]);
      await q(c, Q.step, [a.run, a.step, 1]);
      await q(c, Q.run, [a.run]);
      await q(c, Q.lock, [a.tenant]);
      const seq = Number((await q(c, Q.head, [a.tenant])).rows[0].seq);
      await q(c, Q.events, [a.tenant, a.run, [seq + 1, seq + 2]]);
      await c.query('commit');
    } finally {
      c.release();
    }
  });
  await pool.end();
  return r;
}

async function withPostgres(conc, pipelined) {
  const sql = postgres(url, { max: conc, onnotice: () => {} });
  const r = await measure(conc, async (i) => {
    const a = args(i);
    await sql.begin(async (t) => {
      if (pipelined) {
        // Independent statements sent together, one round trip (porsager's pipelining).
        await Promise.all([t.unsafe(Q.attempt, [a.run, a.step, 1, i], { prepare: true }), t.unsafe(Q.step, [a.run, a.step, 1], { prepare: true }), t.unsafe(Q.run, [a.run], { prepare: true }), t.unsafe(Q.lock, [a.tenant], { prepare: true })]);
      } else {
        await t.unsafe(Q.attempt, [a.run, a.step, 1, i], { prepare: true });
        await t.unsafe(Q.step, [a.run, a.step, 1], { prepare: true });
        await t.unsafe(Q.run, [a.run], { prepare: true });
        await t.unsafe(Q.lock, [a.tenant], { prepare: true });
      }
      const seq = Number((await t.unsafe(Q.head, [a.tenant], { prepare: true }))[0].seq);
      await t.unsafe(Q.events, [a.tenant, a.run, [seq + 1, seq + 2]], { prepare: true });
    });
  });
  await sql.end();
  return r;
}

for (const conc of [1, 8]) {
  for (const [name, fn] of [['pg', () => withPg(conc)], ['postgres', () => withPostgres(conc, false)], ['postgres pipelined', () => withPostgres(conc, true)]]) {
    await setup();
    const tps = await fn();
    console.log(`${name.padEnd(20)} concurrency ${conc}: ${tps} tx/s (${N} transactions)  load ${loadavg()[0].toFixed(2)}`);
  }
}
