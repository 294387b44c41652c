/**
 * The headers every answer carries (src/http/middleware/answer.ts): the precomputed security
 * headers are exactly hono's `secureHeaders` with the server's options, and each answer —
 * built whole by the pipeline, an error envelope, a 404 outside the table, a stream — carries
 * every one of them, `traceparent`, and (on a route that takes a token) private caching, each
 * header once on the wire.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { Hono } from 'hono';
import { secureHeaders } from 'hono/secure-headers';
import { SECURITY_HEADERS } from '../../src/http/middleware/answer.js';
import { startTestServer, BASE, type TestServer } from '../helpers/server.js';

let t: TestServer;
before(async () => {
  t = await startTestServer();
});
after(() => t.stop());

test("the security headers are hono's secureHeaders with the server's options", async () => {
  const app = new Hono();
  app.use(
    secureHeaders({
      contentSecurityPolicy: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] },
      crossOriginResourcePolicy: 'same-origin',
      strictTransportSecurity: false,
      overwrite: false,
    }),
  );
  app.get('/', (c) => c.body(null, 204));
  const res = await app.request('/');
  const reference = Object.fromEntries([...res.headers].filter(([k]) => k !== 'content-type'));
  assert.deepEqual(reference, { ...SECURITY_HEADERS });
});

/** The raw header lines of an answer (names lower-cased), its body read and dropped. */
function rawHeaders(path: string, headers: Record<string, string>): Promise<{ status: number; lines: Array<[string, string]> }> {
  return new Promise((resolve, reject) => {
    const req = request(t.url + path, { headers }, (res) => {
      const raw = res.rawHeaders;
      const lines: Array<[string, string]> = [];
      for (let i = 0; i < raw.length; i += 2) lines.push([raw[i]!.toLowerCase(), raw[i + 1]!]);
      res.destroy(); // the stream answer never ends
      resolve({ status: res.statusCode!, lines });
    });
    req.on('error', reject);
    req.end();
  });
}

test('every kind of answer carries each header once: security headers, traceparent, private caching on routes that take a token', async () => {
  const token = await t.token();
  const auth = { authorization: `Bearer ${token}`, 'x-stella-tenant': 'a' };
  const cases = [
    { what: 'a built answer', path: `${BASE}/dags`, headers: auth, status: 200, private: true },
    { what: 'a page', path: `${BASE}/runs?page_size=1`, headers: auth, status: 200, private: true },
    { what: 'an error envelope', path: `${BASE}/runs/not-a-run`, headers: auth, status: 404, private: true },
    { what: 'no token', path: `${BASE}/dags`, headers: {}, status: 401, private: true },
    { what: 'a stream', path: `${BASE}/runs/stream`, headers: auth, status: 200, private: true },
    { what: 'no such path', path: `${BASE}/no-such-path`, headers: auth, status: 404, private: false },
    { what: 'no token needed', path: `${BASE}/openapi.json`, headers: {}, status: 200, private: false },
  ];
  for (const c of cases) {
    const { status, lines } = await rawHeaders(c.path, c.headers);
    const where = `${c.what} (${c.path})`;
    assert.equal(status, c.status, where);
    const names = lines.map(([k]) => k);
    assert.deepEqual(names.filter((n, i) => names.indexOf(n) !== i), [], `${where}: no header twice`);
    const h = new Map(lines);
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) assert.equal(h.get(k), v, `${where}: ${k}`);
    assert.match(h.get('traceparent') ?? '', /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/, `${where}: traceparent`);
    if (c.private) {
      assert.match(h.get('cache-control') ?? '', /^private\b/, `${where}: cache-control`);
      assert.match(h.get('vary') ?? '', /Authorization, X-Stella-Tenant$/, `${where}: vary`);
    } else {
      assert.doesNotMatch(h.get('vary') ?? '', /Authorization/, `${where}: vary`);
    }
  }
});
