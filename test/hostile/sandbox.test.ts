/**
 * Hostile world, plugins beneath the API (issue #10, exploit 3): a plugin that declares
 * `{network: false, exec: []}` tries what a malicious plugin author would — find the data folder
 * from /proc/self/cmdline, read another tenant's artifact straight from DATA/artifacts, list the
 * data folder, read the database and the dev private key, read the server's environment (a
 * database password planted there), spawn `id`, call a local HTTP listener, and start a thread
 * outside Node's permission model to do the same. Every attempt must fail; the listener must
 * never be called. A plugin that declares the network and is allowed it by the operator
 * (`--plugin-network`) does reach the listener: the boundary is the declaration, not a blanket.
 *
 * The server runs as a real child process (bundled, as in production), so /proc, its
 * environment and its memory are the real ones.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureDevKeys, mintToken } from '../../src/auth/index.js';
import { startChild, type Child } from './child.js';

const PLUGINS = join(import.meta.dirname, '..', 'fixtures', 'plugins', 'sandbox');
const SECRET_NAME = 'STELLA_TEST_DB_PASSWORD';
const SECRET = `hunter2-${randomBytes(8).toString('hex')}`;
const VICTIM_CONTENT = `victim-only-${randomBytes(8).toString('hex')}`;

let child: Child;
let dataDir: string;
let token: string;
let listener: Server;
let port: number;
const requests: string[] = [];

/** A request as `tenant` with this file's token (the dev token knows only `demo`). */
const req = (method: string, path: string, tenant: string, body?: unknown) =>
  child.req(method, path, body, tenant, { authorization: `Bearer ${token}` });

/** Publishes a one-step DAG, runs it, waits for the end; returns the run. */
async function runOnce(tenant: string, dagId: string, step: Record<string, unknown>): Promise<any> {
  const pub = await req('POST', '/dags', tenant, { dagId, version: '1.0.0', steps: [{ id: 'x', ...step }] });
  assert.equal(pub.status, 201, pub.text);
  const run = await req('POST', '/runs', tenant, { dagId });
  assert.equal(run.status, 201, run.text);
  const deadline = Date.now() + 60_000;
  for (;;) {
    const r = await req('GET', `/runs/${run.body.runId}`, tenant);
    if (['completed', 'failed', 'cancelled'].includes(r.body.status)) return r.body;
    if (Date.now() > deadline) assert.fail(`run ${dagId} did not end: ${r.text}`);
    await new Promise((res) => setTimeout(res, 25));
  }
}

before(async () => {
  listener = createServer((rq, rs) => {
    requests.push(rq.url ?? '');
    rs.end('leaked');
  });
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  port = (listener.address() as AddressInfo).port;
  dataDir = mkdtempSync(join(tmpdir(), 'orch-sandbox-'));
  process.env[SECRET_NAME] = SECRET; // the server inherits it, as a real deployment's password would be
  try {
    child = await startChild(dataDir, ['--plugins-dir', PLUGINS, '--plugin-network', 'reach']);
  } finally {
    delete process.env[SECRET_NAME];
  }
  const dev = await ensureDevKeys(dataDir);
  token = await mintToken({ ...dev, tenants: ['evil', 'victim'], scopes: ['orchestrator:admin'] });
});

after(async () => {
  child?.proc.kill('SIGTERM');
  await child?.exited;
  listener?.close();
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(`${dataDir}-work`, { recursive: true, force: true });
});

describe('a plugin declaring no capabilities cannot reach past its sandbox', () => {
  test('data folder, another tenant\'s artifact, dev key, database, server environment, programs, network, escape threads: every attempt fails', async () => {
    const victim = await runOnce('victim', 'store', { plugin: 'artifact', with: { content: VICTIM_CONTENT } });
    assert.equal(victim.status, 'completed', JSON.stringify(victim));
    const hash = victim.steps[0].outputs.hash as string;

    const run = await runOnce('evil', 'snoop', { plugin: 'snoop', with: { hash, dataDir, port, secretName: SECRET_NAME } });
    assert.equal(run.status, 'completed', JSON.stringify(run));
    const results = run.steps[0].outputs.results as Record<string, { ok: boolean; detail: string }>;
    const succeeded = Object.entries(results).filter(([, r]) => r.ok);
    console.log(`sandbox: ${Object.entries(results).map(([k, r]) => `${k} → ${r.ok ? 'SUCCEEDED' : `refused (${r.detail.slice(0, 60)})`}`).join('; ')}`);
    assert.deepEqual(succeeded, [], 'every attempt is refused');
    assert.deepEqual(requests, [], 'the local listener was never called');
    const all = JSON.stringify(run);
    for (const leak of [SECRET, VICTIM_CONTENT, 'PRIVATE KEY', 'uid=']) assert.ok(!all.includes(leak), `nothing leaked (${leak})`);
  });

  test('the data folder is closed to everyone but the server (0700); work folders are outside it', () => {
    assert.equal(statSync(dataDir).mode & 0o777, 0o700);
    assert.ok(statSync(`${dataDir}-work`).isDirectory(), 'the default work root is beside the data folder');
  });

  test('a plugin that declares the network and is allowed it (--plugin-network) reaches the listener', async () => {
    const before = requests.length;
    const run = await runOnce('evil', 'reach', { plugin: 'reach', with: { port } });
    assert.equal(run.status, 'completed', JSON.stringify(run));
    assert.equal(run.steps[0].outputs.status, 200);
    assert.equal(requests.length, before + 1);
  });
});
