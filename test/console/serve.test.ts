/**
 * How the server serves the console (no browser): redirect, CSP, caching by content hash,
 * gzip, the envelope and traceparent on errors, no token needed, the size budget, and the
 * dev sign-in endpoint that exists only under --dev and only for this machine's own page.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { ensureDevKeys } from '../../src/auth/index.js';
import { parseFlags } from '../../src/cli/args.js';
import { SERVE_FLAGS, serveConfig } from '../../src/cli/config.js';
import { createLogger, startServer, type RunningServer } from '../../src/cli/server.js';
import { CONSOLE_CSP, loadConsoleAssets } from '../../src/console/index.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const TRACEPARENT = /^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

/** A POST with exactly these headers (fetch will not send its own Host). */
function rawPost(url: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function assets(url: string): Promise<string[]> {
  const html = await (await fetch(`${url}/console/`)).text();
  return [...html.matchAll(/(?:src|href)="(assets\/[^"]+)"/g)].map((m) => m[1]!);
}

describe('console served beside the API (--dev)', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer();
  });
  after(async () => s?.stop());

  test('GET / redirects to /console/; index.html needs no token, is never cached, has the strict CSP', async () => {
    const root = await fetch(`${s.url}/`, { redirect: 'manual' });
    assert.equal(root.status, 302);
    assert.equal(root.headers.get('location'), '/console/');
    assert.match(root.headers.get('traceparent') ?? '', TRACEPARENT);
    const res = await fetch(`${s.url}/console/`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assert.equal(res.headers.get('content-security-policy'), CONSOLE_CSP);
    assert.match(CONSOLE_CSP, /^default-src 'self';/);
    assert.match(res.headers.get('traceparent') ?? '', TRACEPARENT);
    const html = await res.text();
    assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>|<style|\sstyle=|\son[a-z]+=/i, 'no inline script, style or handler');
    assert.doesNotMatch(html, /https?:\/\//, 'no absolute URL: nothing from outside');
    assert.match(html, /<meta name="stella-dev-signin" content="\/console\/dev-token">/);
  });

  test('assets: hashed names, immutable, ETag and 304, gzip when asked; all under 300 KB gzipped', async () => {
    const paths = await assets(s.url);
    assert.deepEqual(paths.map((p) => p.replace(/-[0-9a-f]{16}\./, '-*.')).sort(), ['assets/icon-*.svg', 'assets/main-*.css', 'assets/main-*.js']);
    let gzipped = 0;
    for (const p of paths) {
      const plain = await fetch(`${s.url}/console/${p}`, { headers: { 'accept-encoding': 'identity' } });
      assert.equal(plain.status, 200, p);
      assert.equal(plain.headers.get('cache-control'), 'public, max-age=31536000, immutable');
      assert.equal(plain.headers.get('content-security-policy'), CONSOLE_CSP);
      const body = Buffer.from(await plain.arrayBuffer());
      const gz = await fetch(`${s.url}/console/${p}`, { headers: { 'accept-encoding': 'gzip' }, decompress: false } as RequestInit);
      // undici decompresses on its own; read the length it was sent with.
      assert.equal(gz.headers.get('content-encoding'), 'gzip');
      gzipped += Number(gz.headers.get('content-length'));
      await gz.arrayBuffer();
      const etag = plain.headers.get('etag')!;
      assert.match(etag, /^"[0-9a-f]{64}"$/);
      const again = await fetch(`${s.url}/console/${p}`, { headers: { 'if-none-match': etag } });
      assert.equal(again.status, 304);
      assert.ok(body.byteLength > 0);
    }
    const { gzipBytes } = await loadConsoleAssets();
    console.log(`console assets: ${(gzipBytes / 1024).toFixed(1)} KiB gzipped, all files (budget 300 KiB); served gzipped: ${(gzipped / 1024).toFixed(1)} KiB`);
    assert.ok(gzipBytes < 300 * 1024, `${gzipBytes} bytes gzipped`);
    const { assets: all } = await loadConsoleAssets();
    for (const a of all.values()) assert.deepEqual(gunzipSync(a.gzip), a.body);
  });

  test('unknown console paths are the 404 envelope with traceparent; other methods 405', async () => {
    for (const path of ['/console/nope', '/console/assets/main-0000000000000000.js', '/console/assets/../../package.json', '/console/index.html']) {
      const res = await fetch(`${s.url}${path}`);
      assert.equal(res.status, 404, path);
      assert.match(res.headers.get('traceparent') ?? '', TRACEPARENT);
      const body = (await res.json()) as { error: { code: string; trace_id: string } };
      assert.equal(body.error.code, 'NOT_FOUND');
      assert.equal(body.error.trace_id, res.headers.get('traceparent')!.split('-')[1]);
    }
    const post = await fetch(`${s.url}/console/`, { method: 'POST' });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get('allow'), 'GET, HEAD');
    assert.equal(((await post.json()) as { error: { code: string } }).error.code, 'METHOD_NOT_ALLOWED');
    const get = await fetch(`${s.url}/console/dev-token`);
    assert.equal(get.status, 405);
    assert.equal(get.headers.get('allow'), 'POST');
  });

  test('HTTP metrics name the console routes by template; unknown console paths stay unmatched', async () => {
    const m = await s.req('GET', '/admin/metrics', { tenant: null });
    assert.equal(m.status, 200, m.text);
    assert.match(m.text, /orchestrator_http_requests_total\{route="\/console\/assets\/\{file\}",method="GET",status="200"\}/);
    assert.match(m.text, /orchestrator_http_requests_total\{route="\/",method="GET",status="302"\}/);
    assert.doesNotMatch(m.text, /route="\/console\/nope"|route="\/console\/\*"/);
  });

  test('dev sign-in: an admin token for tenant demo that the API accepts', async () => {
    const res = await fetch(`${s.url}/console/dev-token`, { method: 'POST' });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    const { token, tenant } = (await res.json()) as { token: string; tenant: string };
    assert.equal(tenant, 'demo');
    const dags = await s.req('GET', '/dags', { token, tenant: 'demo' });
    assert.equal(dags.status, 200, dags.text);
    const other = await s.req('GET', '/dags', { token, tenant: 'a' });
    assert.equal(other.status, 403, 'only tenant demo');
  });

  test("dev sign-in refuses another site's page (Host, Origin, Sec-Fetch-Site) as if it did not exist", async () => {
    const port = new URL(s.url).port;
    for (const headers of [
      { host: `evil.example:${port}` },
      { origin: 'http://evil.example' },
      { origin: `http://localhost:${port}` },
      { 'sec-fetch-site': 'cross-site' },
    ] as Record<string, string>[]) {
      const res = await rawPost(`${s.url}/console/dev-token`, headers);
      assert.equal(res.status, 404, JSON.stringify(headers));
      assert.equal((JSON.parse(res.body) as { error: { code: string } }).error.code, 'NOT_FOUND');
    }
    const same = await fetch(`${s.url}/console/dev-token`, { method: 'POST', headers: { origin: s.url, 'sec-fetch-site': 'same-origin' } });
    assert.equal(same.status, 200);
  });
});

describe('console without --dev', () => {
  let server: RunningServer;
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'orch-console-'));
    const keys = await ensureDevKeys(join(dir, 'keys'));
    const { flags } = parseFlags(['--port', '0', '--data-dir', join(dir, 'data'), '--jwks', keys.jwksFile, '--workers', '1'], SERVE_FLAGS, {});
    server = await startServer(serveConfig(flags), createLogger('silent'));
  });
  after(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('serves the console, without the dev sign-in', async () => {
    const res = await fetch(`${server.url}/console/`);
    assert.equal(res.status, 200);
    assert.doesNotMatch(await res.text(), /stella-dev-signin/);
    const post = await fetch(`${server.url}/console/dev-token`, { method: 'POST' });
    assert.equal(post.status, 404);
    assert.equal(((await post.json()) as { error: { code: string } }).error.code, 'NOT_FOUND');
  });
});
