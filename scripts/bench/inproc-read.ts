/**
 * CPU per request of the read routes without sockets: the real server (startServer) over a data
 * folder, its Hono app called in-process (`app.fetch`) for GET /runs/{id} and a page of GET /runs,
 * and a bare Hono route doing the same SQLite read by primary key for comparison.
 *
 *   npx tsx scripts/bench/inproc-read.ts --dir /tmp/orch-100k [--n 20000] [--cpu-prof]
 */
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { Hono } from 'hono';
import { mintToken } from '../../src/auth/index.js';
import { SERVE_FLAGS, serveConfig } from '../../src/cli/config.js';
import { parseFlags } from '../../src/cli/args.js';
import { createLogger, startServer } from '../../src/cli/server.js';
import { createApp } from '../../src/http/app.js';
import { API_BASE } from '../../src/core/paths.js';
import { load1, spreadRunIds } from './lib.js';

const { values } = parseArgs({ options: { dir: { type: 'string' }, n: { type: 'string', default: '20000' }, rounds: { type: 'string', default: '3' } } });
const dataDir = values.dir!;
const N = Number(values.n);
const ids = spreadRunIds(dataDir);

const { flags } = parseFlags(['--dev', '--port', '0', '--data-dir', dataDir, '--allow-unsigned'], SERVE_FLAGS, {});
const server = await startServer(serveConfig(flags), createLogger('warn'));
const app = createApp(server.deps, server.routes);
const keys = server.devKeys!;
const token = await mintToken({ privateKeyPem: keys.privateKeyPem, kid: keys.kid, tenants: ['demo'], scopes: ['orchestrator:read'], ttlSec: 3600 } as any);
const headers = { authorization: `Bearer ${token}`, 'x-stella-tenant': 'demo' };

const bareDb = new Database(join(dataDir, 'orchestrator.db'), { readonly: true });
const bareGet = bareDb.prepare('select * from runs where run_id = ?');
const bare = new Hono();
bare.get('/runs/:id', (c) => {
  const row = bareGet.get(c.req.param('id'));
  return row ? c.json(row) : c.json({ error: 'not found' }, 404);
});

async function bench(name: string, fetch: (i: number) => Response | Promise<Response>): Promise<void> {
  let bytes = 0;
  for (let i = 0; i < 2000; i++) bytes = (await (await fetch(i)).text()).length;
  const c0 = process.cpuUsage();
  for (let i = 0; i < N; i++) {
    const r = await fetch(i);
    if (r.status !== 200) throw new Error(`${name}: ${r.status} ${await r.text()}`);
    await r.text();
  }
  const c = process.cpuUsage(c0);
  process.stdout.write(`${name.padEnd(6)} ${((c.user + c.system) / N).toFixed(1).padStart(7)} µs CPU/request (${bytes} bytes, load1 ${load1()})\n`);
}

const base = `http://localhost${API_BASE}`;
for (let r = 0; r < Number(values.rounds); r++) {
  await bench('bare', (i) => bare.fetch(new Request(`http://localhost/runs/${ids[i % ids.length]}`)));
  await bench('get', (i) => app.fetch(new Request(`${base}/runs/${ids[i % ids.length]}`, { headers })));
  await bench('list', () => app.fetch(new Request(`${base}/runs?page_size=50`, { headers })));
  process.stdout.write(`ended views kept: ${server.ports.endedViews.size}\n`);
}
bareDb.close();
await server.close();
