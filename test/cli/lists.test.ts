/**
 * Lists and downloads from the CLI against a real server: pagination over 120 runs (`--all`,
 * `--limit`, NDJSON), DAG lists and versions, publish and disable, and `artifacts get`
 * writing exactly the stored bytes.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startRun, waitForRun } from '../runs/helpers.js';
import { cli, clientWorld, parseJson, parseNdjson, type ClientWorld } from './helpers.js';

const BYTES = Buffer.concat([Buffer.from([0, 255, 13, 10, 0x1b]), randomBytes(70_000), Buffer.from('\r\n\u00e9\n')]);

describe('lists and downloads', () => {
  let w: ClientWorld;
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'orch-cli-lists-'));
    w = await clientWorld([
      { dagId: 'tick', steps: [{ id: 'n', plugin: 'noop' }] },
      { dagId: 'bytes', steps: [{ id: 'store', plugin: 'talker', with: { base64: BYTES.toString('base64') } }] },
    ]);
  });
  after(async () => {
    await w.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('runs list over 120 runs: --all pages through everything, --limit stops, NDJSON streams the same items', async () => {
    for (let i = 0; i < 120; i++) await startRun(w.t, 'tick');
    const server: any[] = [];
    for (let token: string | undefined, first = true; first || token; first = false) {
      const r = await w.t.req('GET', `/runs?dagId=tick&page_size=500${token ? `&page_token=${token}` : ''}`);
      server.push(...r.body.items);
      token = r.body.next_page_token;
    }
    assert.equal(server.length, 120);
    const ids = server.map((r) => r.runId);

    const [all, limited, nd, table] = await Promise.all([
      cli(['runs', 'list', '--dag-id', 'tick', '--all', '--page-size', '50', '--output', 'json'], { env: w.env }),
      cli(['runs', 'list', '--dag-id', 'tick', '--limit', '70', '--page-size', '50'], { env: w.env }),
      cli(['runs', 'list', '--dag-id', 'tick', '--all', '--page-size', '7', '--output', 'ndjson'], { env: w.env }),
      cli(['runs', 'list', '--dag-id', 'tick', '--output', 'table'], { env: w.env }),
    ]);
    assert.equal(all.code, 0, all.stderr);
    assert.deepEqual(parseJson(all).map((r: any) => r.runId), ids, '--all: every run once, in the server order');
    assert.equal(all.stderr, '', 'nothing more to say when everything was shown');
    assert.deepEqual(parseJson(limited).map((r: any) => r.runId), ids.slice(0, 70), '--limit 70 across two pages');
    assert.match(limited.stderr, /more runs exist: use --limit N or --all/);
    assert.deepEqual(parseNdjson(nd.stdout).map((r) => r.runId), ids, '18 pages of 7');
    const rows = table.stdout.trimEnd().split('\n');
    assert.match(rows[0]!, /^RUN {35}DAG +STATUS +STARTED +DURATION$/);
    assert.equal(rows.length, 51, 'the default limit is 50');
    assert.ok(rows.slice(1).every((l, i) => l.startsWith(`${ids[i]}  tick@1.0.0  `)), 'aligned columns');
  });

  test('a bad filter is the server\'s 400, printed with its code, field and trace id (exit 1)', async () => {
    const r = await cli(['runs', 'list', '--from', 'yesterday'], { env: w.env });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^orchestrator runs list: VALIDATION_FAILED: .+ \(trace_id [0-9a-f]{32}\)$/m);
    assert.match(r.stderr, /details: .*"field":"query\.from"/);
    const bad = await cli(['runs', 'list', '--status', 'sleeping'], { env: w.env });
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /--status must be one of queued, running, cancelling, completed, failed, cancelled/);
  });

  test('artifacts get writes exactly the stored bytes, to a file or stdout; a wrong hash is refused', async () => {
    const run = await waitForRun(w.t, (await startRun(w.t, 'bytes')).runId);
    const hash = run.steps[0].outputs.hash as string;
    const file = join(dir, 'out.bin');
    const [toFile, toStdout] = await Promise.all([
      cli(['artifacts', 'get', hash, '-o', file], { env: w.env }),
      cli(['artifacts', 'get', `sha256:${hash}`], { env: w.env }),
    ]);
    assert.equal(toFile.code, 0, toFile.stderr);
    assert.ok(readFileSync(file).equals(BYTES), 'the file holds the exact bytes');
    assert.deepEqual(readdirSync(dir), ['out.bin'], 'no .part file left behind');
    assert.equal(toStdout.code, 0, toStdout.stderr);
    assert.ok(toStdout.bytes.equals(BYTES), 'stdout carries the exact bytes');

    const missing = await cli(['artifacts', 'get', 'f'.repeat(64), '-o', join(dir, 'missing.bin')], { env: w.env });
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /NOT_FOUND: artifact not found/);
    assert.deepEqual(readdirSync(dir), ['out.bin'], 'a failed download writes nothing');
    const malformed = await cli(['artifacts', 'get', '../../etc/passwd'], { env: w.env });
    assert.equal(malformed.code, 1);
    assert.match(malformed.stderr, /HASH must be 64 lowercase hex/);
  });

  test('artifacts get: bytes that do not hash to the name asked for are exit 1, and -o writes nothing', async () => {
    // A server that answers every artifact with other bytes (as a broken proxy or disk would).
    const liar = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(BYTES));
    await new Promise<void>((r) => liar.listen(0, '127.0.0.1', r));
    try {
      const env = { ...w.env, ORCH_SERVER: `http://127.0.0.1:${(liar.address() as AddressInfo).port}` };
      const claimed = 'a'.repeat(64);
      const before = readdirSync(dir);
      const toFile = await cli(['artifacts', 'get', claimed, '-o', join(dir, 'lie.bin')], { env });
      assert.equal(toFile.code, 1, toFile.stderr);
      assert.match(toFile.stderr, new RegExp(`the bytes received hash to [0-9a-f]{64}, not ${claimed}`));
      assert.deepEqual(readdirSync(dir), before, 'neither the file nor its .part is left');
      const toStdout = await cli(['artifacts', 'get', claimed], { env });
      assert.equal(toStdout.code, 1, toStdout.stderr);
    } finally {
      liar.closeAllConnections();
      await new Promise((r) => liar.close(r));
    }
  });

  test('dags publish, list, get (newest active by default), disable; publishing the same document again says unchanged', async () => {
    const doc = (version: string) => ({ dagId: 'nightly', version, metadata: { description: `nightly ${version}` }, steps: [{ id: 'n', plugin: 'noop' }], edges: [] });
    writeFileSync(join(dir, 'n1.json'), JSON.stringify(doc('1.0.0')));
    writeFileSync(join(dir, 'n2.json'), JSON.stringify(doc('1.10.0')));
    const p1 = await cli(['dags', 'publish', join(dir, 'n1.json')], { env: w.env });
    assert.equal(p1.code, 0, p1.stderr);
    assert.match(p1.stderr, /published nightly@1\.0\.0/);
    assert.equal(parseJson(p1).hash.length, 64);
    const p2 = await cli(['dags', 'publish', '-'], { env: w.env, input: JSON.stringify(doc('1.10.0')) });
    assert.equal(p2.code, 0, p2.stderr);
    const again = await cli(['dags', 'publish', join(dir, 'n1.json')], { env: w.env });
    assert.match(again.stderr, /unchanged nightly@1\.0\.0/);

    const list = parseJson(await cli(['dags', 'list', '--dag-id', 'nightly'], { env: w.env }));
    assert.deepEqual(list.map((v: any) => v.version), ['1.10.0', '1.0.0'], 'SemVer order, newest first');
    assert.equal(parseJson(await cli(['dags', 'get', 'nightly'], { env: w.env })).version, '1.10.0');

    const d = await cli(['dags', 'disable', 'nightly', '1.10.0', '--reason', 'test'], { env: w.env });
    assert.equal(d.code, 0, d.stderr);
    assert.equal(parseJson(d).active, false);
    assert.equal(parseJson(await cli(['dags', 'get', 'nightly'], { env: w.env })).version, '1.0.0', 'the newest active version');
    const shown = await cli(['dags', 'get', 'nightly', '1.10.0', '--output', 'table'], { env: w.env });
    assert.match(shown.stdout, /^active +no \(disabled \S+Z\)$/m);
    assert.match(shown.stdout, /^STEP +PLUGIN +AFTER +TRIGGER +RETRIES +TIMEOUT$/m);

    const refused = await cli(['dags', 'publish', '-'], { env: w.env, input: JSON.stringify({ ...doc('2.0.0'), edges: [{ from: 'n', to: 'ghost' }] }) });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /DAG_INVALID/);
    const notJson = await cli(['dags', 'publish', '-'], { env: w.env, input: '{nope' });
    assert.equal(notJson.code, 1);
  });
});
