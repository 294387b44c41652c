/**
 * The listener binds the port before the HTTP adapter is loaded (src/cli/listener.ts, issue #20):
 * a request that arrives between `listening` and attach() waits and is answered once the adapter
 * is on; requests after that are served directly; close() drops the port. Real server, port 0.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { test } from 'node:test';
import { listen } from '../../src/cli/listener.js';

const config = { host: '127.0.0.1', port: 0, headersTimeoutMs: 10_000, requestTimeoutMs: 30_000 };

/** GET `url`; resolves with status and body once the answer has arrived. */
function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    request(url, { agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    })
      .on('error', reject)
      .end();
  });
}

test('a request before attach() is parked and answered once the adapter is on; later ones directly', async () => {
  const seen: string[] = [];
  const fetch = (req: Request) => {
    seen.push(new URL(req.url).pathname);
    return new Response(`hello ${new URL(req.url).pathname}`, { status: 201 });
  };
  const closers: Array<() => Promise<void>> = [];
  const l = await listen(config, (close) => closers.push(close));
  assert.equal(closers.length, 1);
  try {
    const early = get(`${l.url}/early`);
    // Give the request time to reach the server and be parked (the assertions hold either way).
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(seen, []);
    await Promise.all([l.attach(fetch), l.attach(fetch)]); // idempotent
    assert.deepEqual(await early, { status: 201, body: 'hello /early' });
    assert.deepEqual(await get(`${l.url}/later`), { status: 201, body: 'hello /later' });
    assert.deepEqual(seen, ['/early', '/later']);
  } finally {
    await l.close();
  }
  await assert.rejects(get(`${l.url}/after-close`), /ECONNREFUSED/);
});
