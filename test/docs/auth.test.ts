/** Every example of docs/AUTH.md, run as written: OpenSSL keys and tokens, jose, SIGHUP rotation, the scrape token. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { atUrl, bash, block, docBlocks, docsTmp, ROOT, serveArgs, startServer, until } from './harness.js';

const blocks = docBlocks('AUTH.md');
const tmp = docsTmp('orch-doc-auth-');

test('AUTH.md: keys with OpenSSL, the server started as shown, a token minted with openssl, then one with jose after a SIGHUP', async () => {
  await bash(block(blocks, 'keys'), tmp);
  const jwks = JSON.parse(readFileSync(join(tmp, 'jwks.json'), 'utf8'));
  assert.equal(jwks.keys[0].kid, 'prod-2026-12');
  mkdirSync(join(tmp, 'trust'));
  const server = await startServer(serveArgs(block(blocks, 'serve'), join(tmp, 'data')), tmp);
  try {
    // The mint example, then the token it made for the checks the text promises.
    const out = await bash(atUrl(block(blocks, 'mint'), server.url) + '\nprintf "\\n%s\\n" "$TOKEN"', tmp);
    const [answer, token] = out.trim().split('\n');
    assert.equal(answer, '{"items":[]}');
    const asBeta = await fetch(`${server.url}/api/v1/orchestrator/dags`, { headers: { authorization: `Bearer ${token}`, 'x-stella-tenant': 'beta' } });
    assert.equal(asBeta.status, 403);
    assert.equal(((await asBeta.json()) as any).error.code, 'TENANT_FORBIDDEN');

    // The jose example, run with node; its key is added to the JWKS and the server told with SIGHUP.
    const dir = join(tmp, 'jose');
    mkdirSync(dir);
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
    writeFileSync(join(dir, 'mint.mjs'), block(blocks, 'jose'));
    // Not spawnSync: a blocked event loop misses the server closing the idle keep-alive socket, and
    // the next fetch then fails with 'other side closed' (seen under load).
    const r = await promisify(execFile)(process.execPath, ['mint.mjs'], { cwd: dir, encoding: 'utf8' });
    const joseToken = r.stdout.trim();
    const get = async (tok: string) =>
      (await fetch(`${server.url}/api/v1/orchestrator/dags`, { headers: { authorization: `Bearer ${tok}`, 'x-stella-tenant': 'acme' } })).status;
    assert.equal(await get(joseToken), 401, 'not in the JWKS yet');
    const es256 = JSON.parse(readFileSync(join(dir, 'jwks-es256.json'), 'utf8'));
    writeFileSync(join(tmp, 'jwks.json'), JSON.stringify({ keys: [...jwks.keys, ...es256.keys] }));
    server.hup();
    await until(() => server.logs().some((l) => l.part === 'jwks' && l.added?.includes(es256.keys[0].kid)), 'the reload is logged');
    assert.equal(await get(joseToken), 200, 'the jose token is accepted after SIGHUP');
    assert.equal(await get(token!), 200, 'and the first key still is');
    const rejected = server.logs().find((l) => l.msg === 'token rejected' && l.kid === es256.keys[0].kid);
    assert.match(rejected?.reason ?? '', /^unknown kid/, 'the refusal before the reload was logged as the doc says');
  } finally {
    await server.stop();
  }
});

test('AUTH.md: the scrape token example', async () => {
  const script = block(blocks, 'scrape');
  const serveLine = script.split('\n').find((l) => l.startsWith('orchestrator serve'))!;
  const rest = script.split('\n').filter((l) => l !== serveLine);
  const dir = join(tmp, 'scrape');
  mkdirSync(dir);
  await bash(block(blocks, 'keys'), dir);
  await bash(rest.filter((l) => !l.startsWith('curl')).join('\n'), dir);
  const server = await startServer(serveArgs(serveLine, join(dir, 'data')), dir);
  try {
    const out = await bash(atUrl(rest.filter((l) => l.startsWith('curl')).join('\n'), server.url), dir);
    assert.match(out, /^orchestrator_build_info\{version="[^"]+"\} 1$/m);
  } finally {
    await server.stop();
  }
});
