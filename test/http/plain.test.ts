/**
 * The plain JSON routes answered on node's request and response (src/http/plain.ts) answer
 * byte for byte as the Hono app does: the test server (which takes them on that path) and the
 * same app served by @hono/node-server alone, over the same data, are asked the same requests for
 * every GET route of the table: found, missing, malformed, without a token, for a tenant the
 * token does not hold, with a bad query, with two Authorization headers, with a traceparent.
 * Only what differs per answer by design (Date, the new trace of a request without traceparent,
 * a page token's random part) is masked.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import { startTestServer, BASE, type TestServer } from '../helpers/server.js';
import { createApp, plainAnswers, type RouteDef } from '../../src/http/index.js';
import { jsonSchemaOf } from '../../src/http/route.js';
import { concrete, queryKeys } from '../hostile/support.js';
import { publish, waitForRun } from '../runs/helpers.js';

let t: TestServer;
let hono: Server;
let honoUrl: string;
let token: string;

before(async () => {
  t = await startTestServer(['--allow-unsigned']);
  // As in production: answers not checked against their declaration (checking clones each answer,
  // which makes @hono/node-server write it from its Headers: sorted, another byte order).
  const deps = { ...t.server.deps, config: { ...t.server.deps.config, validateResponses: false } };
  hono = createServer(getRequestListener(createApp(deps, t.server.routes).fetch));
  await new Promise<void>((r) => hono.listen(0, '127.0.0.1', r));
  honoUrl = `http://127.0.0.1:${(hono.address() as AddressInfo).port}`;
  token = await t.token({ tenants: ['a'] });
});
after(async () => {
  await new Promise((r) => hono.close(r));
  await t.stop();
});

/** The answer's bytes as text (one request, `Connection: close`), with what differs by design masked. */
function raw(url: string, path: string, headers: string, method = 'GET', base = BASE): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const sock = connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    sock.on('data', (d) => chunks.push(d));
    sock.on('error', reject);
    sock.on('close', () =>
      resolve(
        Buffer.concat(chunks)
          .toString('latin1')
          .replace(/^Date: .*$/m, 'Date: -')
          .replace(/00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]/g, 'TRACEPARENT')
          .replace(/"trace_id":"[0-9a-f]{32}"/g, '"trace_id":"-"')
          .replace(/"next_page_token":"[^"]*"/g, '"next_page_token":"-"'),
      ),
    );
    sock.write(`${method} ${base}${path} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nConnection: close\r\n${headers}\r\n`);
  });
}

test('every GET route answers the same bytes on the plain path as through the Hono app', async () => {
  await publish(t, { dagId: 'plain', steps: [{ id: 'w', plugin: 'noop' }] } as never);
  const started = await t.req('POST', '/runs', { body: { dagId: 'plain' } });
  assert.equal(started.status, 201, started.text);
  const runId = started.body.runId as string;
  await waitForRun(t, runId);
  const real = { runId, stepId: 'w', dagId: 'plain', version: '1.0.0' };
  const auth = `Authorization: Bearer ${token}\r\n`;
  const asA = `${auth}X-Stella-Tenant: a\r\n`;
  // The routes the plain path takes: GET, every answer JSON (the others are the Hono app's on both servers).
  const gets = t.server.routes.filter((r: RouteDef) => r.method === 'GET' && Object.values(r.responses).every((x) => jsonSchemaOf(x) !== undefined));
  assert.ok(gets.length > 10, `${gets.length} plain routes`);
  let compared = 0;
  let found = 0;
  for (const r of gets) {
    const path = concrete(r, real);
    const query = queryKeys(r).includes('page_size') ? '?page_size=1' : '';
    const asks: Array<[string, string, string]> = [
      ['found', path + query, asA],
      ['missing', concrete(r), asA],
      ['malformed', concrete(r, { runId: 'nope', dagId: '-', version: 'x', stepId: '~' }), asA],
      ['no token', path, 'X-Stella-Tenant: a\r\n'],
      ['other tenant', path, `${auth}X-Stella-Tenant: b\r\n`],
      ['no tenant', path, auth],
      ['two tokens', path, `${auth}${asA}`],
      ['traceparent', path, `${asA}traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\n`],
      ['bad query', path + '?page_size=1&page_size=2&status=nope', asA],
      ['percent-encoded', path.replace(/-/g, '%2D'), asA],
    ];
    for (const [what, p, headers] of asks) {
      const ask = async () => [await raw(t.url, p, headers), await raw(honoUrl, p, headers)] as const;
      let [plain, app] = await ask();
      // The health answer counts uptime in whole seconds: two requests in a row can straddle one.
      if (plain !== app && plain.includes('"uptimeSeconds":')) [plain, app] = await ask();
      assert.ok(plain.startsWith('HTTP/1.1 '), `${r.path} ${what}: ${plain.slice(0, 80)}`);
      assert.equal(plain, app, `${r.method} ${r.path} (${what}: ${p})`);
      compared++;
      if (plain.startsWith('HTTP/1.1 200 ')) found++;
    }
  }
  assert.ok(compared > 100, `${compared} answers compared`);
  assert.ok(found >= 8, `${found} of them 200`);
});

test('the plain path takes the GET routes whose answers are JSON, and leaves every other request to the app', async () => {
  const plain = plainAnswers(t.server.deps, t.server.routes);
  const only = createServer((req, res) => {
    if (!plain(req, res)) res.writeHead(599).end();
  });
  await new Promise<void>((r) => only.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(only.address() as AddressInfo).port}`;
  const asA = `Authorization: Bearer ${token}\r\nX-Stella-Tenant: a\r\n`;
  const status = async (path: string, method = 'GET') => {
    const text = await raw(url, path, asA, method);
    return Number(text.slice(9, 12));
  };
  try {
    for (const path of ['/runs?page_size=5', '/runs/01900000-0000-7000-8000-000000000000', '/dags', '/schedules', '/openapi.json', '/admin/health']) {
      assert.notEqual(await status(path), 599, `${path} is taken`);
    }
    for (const [method, path] of [['GET', '/runs:export'], ['GET', '/events:export'], ['POST', '/runs'], ['DELETE', '/runs'], ['GET', '/artifacts/' + '0'.repeat(64)], ['GET', '/runs/../runs'], ['GET', '//runs'], ['GET', '/health']] as const) {
      assert.equal(await status(path, method), 599, `${method} ${path} is left to the app`);
    }
    assert.equal(Number((await raw(url, '', asA, 'GET', '/console/')).slice(9, 12)), 599, 'the console is left to the app');
  } finally {
    await new Promise((r) => only.close(r));
  }
});

/** Sends the requests at once on one connection (HTTP/1.1 pipelining) and reads as many answers; their bodies in order. */
function pipelined(url: string, paths: string[], headers: string): Promise<string[]> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const sock = connect(Number(port), hostname);
    let buf = Buffer.alloc(0);
    const bodies: string[] = [];
    sock.on('error', reject);
    sock.on('close', () => bodies.length < paths.length && reject(new Error(`the connection closed after ${bodies.length} of ${paths.length} answers`)));
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const length = Number(/\r\ncontent-length: (\d+)/i.exec(buf.subarray(0, end).toString('latin1'))?.[1]);
        if (buf.length < end + 4 + length) return;
        bodies.push(buf.subarray(end + 4, end + 4 + length).toString('utf8'));
        buf = buf.subarray(end + 4 + length);
        if (bodies.length === paths.length) {
          sock.end();
          resolve(bodies);
        }
      }
    });
    sock.write(paths.map((p) => `GET ${BASE}${p} HTTP/1.1\r\nHost: ${hostname}:${port}\r\n${headers}\r\n`).join(''));
  });
}

test('pages answered at once, pipelined and over several connections, each carry their own bytes (the reused answer buffers)', async () => {
  await publish(t, { dagId: 'pages', steps: [{ id: 'w', plugin: 'noop' }] } as never);
  for (let i = 0; i < 12; i++) {
    const r = await t.req('POST', '/runs', { body: { dagId: 'pages' } });
    assert.equal(r.status, 201, r.text);
    await waitForRun(t, r.body.runId as string);
  }
  const asA = `Authorization: Bearer ${token}\r\nX-Stella-Tenant: a\r\n`;
  // Pages of different lengths and contents, and a wide one (a buffer of another size).
  const paths = [...Array.from({ length: 12 }, (_, i) => `/runs?page_size=${i + 1}`), '/runs?page_size=500', '/runs?page_size=3&dagId=pages'];
  const want = await Promise.all(paths.map(async (p) => (await pipelined(honoUrl, [p], asA))[0]!));
  for (const [i, body] of want.entries()) assert.ok(body.startsWith('{"items":[{'), `${paths[i]}: ${body.slice(0, 80)}`);
  const orders = Array.from({ length: 8 }, (_, k) => paths.map((_, i) => (i * (k + 1) + k) % paths.length));
  const got = await Promise.all(orders.map((order) => pipelined(t.url, order.map((i) => paths[i]!), asA)));
  for (const [k, order] of orders.entries()) {
    for (const [j, i] of order.entries()) assert.equal(got[k]![j], want[i], `connection ${k}, answer ${j}: ${paths[i]}`);
  }
});
