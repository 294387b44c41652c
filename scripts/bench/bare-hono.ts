/**
 * The "limit" HTTP server of the benchmark: a bare Hono route that reads one row by primary key
 * from a SQLite file (WAL, 100,000 rows shaped like runs) and answers it as JSON. No auth, no
 * middleware: what the machine does with the same stack and one read per request.
 */
import { serve } from '@hono/node-server';
import Database from 'better-sqlite3';
import { Hono } from 'hono';

const db = new Database(process.argv[2]!);
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');
db.exec(`create table if not exists runs (run_id text primary key, tenant text, dag_id text, status text, started_ms integer, ended_ms integer, inputs text)`);
const ins = db.prepare('insert or ignore into runs values (?, ?, ?, ?, ?, ?, ?)');
db.transaction(() => {
  for (let i = 0; i < 100_000; i++) ins.run(String(i).padStart(8, '0'), 'demo', 'chain', 'completed', i, i + 5, '{}');
})();
const get = db.prepare('select * from runs where run_id = ?');
const app = new Hono();
app.get('/runs/:id', (c) => {
  const row = get.get(c.req.param('id'));
  return row ? c.json(row) : c.json({ error: 'not found' }, 404);
});
const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, (info) => {
  process.stdout.write(`listening http://127.0.0.1:${info.port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
