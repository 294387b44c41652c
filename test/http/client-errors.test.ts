/**
 * What node:http refuses before any route sees it is answered in the envelope too, with
 * `traceparent` and the security headers: request headers over the limit (431), a request that
 * is not HTTP (400), a request that does not arrive in time (408).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { MAX_HEADER_BYTES } from '../../src/http/index.js';
import { BASE, startTestServer, type TestServer } from '../helpers/server.js';

let t: TestServer;
before(async () => {
  t = await startTestServer(['--headers-timeout', '1', '--request-timeout', '2']);
});
after(() => t.stop());

/** Sends raw bytes; resolves with the status line, headers and body once the server closes. */
function raw(bytes: string): Promise<{ status: number; headers: Record<string, string>; body: any }> {
  return new Promise((resolve, reject) => {
    const c = connect(Number(new URL(t.url).port), '127.0.0.1');
    let out = '';
    c.setEncoding('latin1');
    c.on('data', (d) => (out += d));
    c.on('error', reject);
    c.on('close', () => {
      const [head = '', body = ''] = out.split('\r\n\r\n');
      const [statusLine, ...lines] = head.split('\r\n');
      const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
      resolve({ status: Number(statusLine?.split(' ')[1]), headers, body: body ? JSON.parse(body) : undefined });
    });
    c.write(bytes);
  });
}

function assertEnvelope(r: { status: number; headers: Record<string, string>; body: any }, status: number, code: string) {
  assert.equal(r.status, status);
  assert.equal(r.body?.error?.code, code, JSON.stringify(r.body));
  assert.match(r.headers.traceparent ?? '', /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  assert.equal(r.body.error.trace_id, r.headers.traceparent!.split('-')[1]);
  assert.equal(r.headers['x-content-type-options'], 'nosniff');
  assert.equal(r.headers.connection, 'close');
}

test('request headers over the limit: 431 HEADERS_TOO_LARGE in the envelope, the limit in details', async () => {
  // A page_token within its documented maxLength (2048 characters), percent-encoded: 24 KiB.
  const token = '%F0%9F%98%80'.repeat(2048);
  const r = await raw(`GET ${BASE}/dags?page_token=${token} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer x\r\n\r\n`);
  assertEnvelope(r, 431, 'HEADERS_TOO_LARGE');
  assert.deepEqual(r.body.error.details, { limitBytes: MAX_HEADER_BYTES });
  // Just under the limit is a request like any other (here: refused for its token, 401).
  const fits = await fetch(`${t.url}${BASE}/dags?pad=${'x'.repeat(MAX_HEADER_BYTES - 1024)}`, { headers: { authorization: 'Bearer x' } });
  assert.equal(fits.status, 401);
});

test('a request that is not HTTP: 400 VALIDATION_FAILED in the envelope', async () => {
  assertEnvelope(await raw('GARBAGE\r\n\r\n'), 400, 'VALIDATION_FAILED');
});

test('headers that never finish: 408 REQUEST_TIMEOUT in the envelope (--headers-timeout 1)', async () => {
  assertEnvelope(await raw(`GET ${BASE}/dags HTTP/1.1\r\nHost: x\r\n`), 408, 'REQUEST_TIMEOUT');
});
