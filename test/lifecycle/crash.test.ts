/**
 * SIGKILL during a retention pass and during an artifact collection, then a restart: the
 * database passes integrity_check, the event log verifies from its checkpoint, no record names
 * a missing object; the next pass finishes the work, leaving exactly the newest runs the policy
 * keeps and the artifacts they name. And a collection raced against running steps that write
 * artifacts never takes an object a step just wrote.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canonicalJson, readNdjsonExport } from '../../src/core/index.js';
import { namedHashes } from '../../src/artifacts/index.js';
import { verifyEventChain } from '../../src/events/index.js';
import { importRunRecords, type RunRecord } from '../../src/runs/transfer.js';
import { exportedRuns } from '../helpers/exports.js';
import { SqlitePorts, Store } from '../../src/store/index.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { publish, startRun, stepOf, waitForRun } from '../runs/helpers.js';
import { integrityCheck } from '../hostile/support.js';
import { casObjects, ROOT } from './support.js';
import { tsEntry } from '../helpers/program.js';
import { pruneTenant } from '../../src/lifecycle/index.js';
import { systemClock } from '../../src/core/index.js';
import pino from 'pino';

let work = '';
before(() => {
  work = mkdtempSync(join(tmpdir(), 'orch-lc-crash-'));
  // As an operator's installation folder: plugin hosts (nobody, when root) reach <data>-work
  // through it. At 0700 every step fails WORKER_START_FAILED and writes no artifact.
  chmodSync(work, 0o711);
});
after(() => rmSync(work, { recursive: true, force: true }));

/** Starts the child and SIGKILLs it once it printed `after` lines; resolves with what it printed. */
function killMidway(dataDir: string, mode: 'prune' | 'gc', after: number): Promise<{ lines: string[]; killed: boolean }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [...tsEntry('test/lifecycle/child-lifecycle.ts'), dataDir, mode], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let killed = false;
    proc.stdout.setEncoding('utf8').on('data', (c: string) => {
      out += c;
      if (!killed && out.split('\n').filter(Boolean).length >= after) {
        killed = true;
        proc.kill('SIGKILL');
      }
    });
    proc.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
    proc.once('error', reject);
    proc.once('close', (code) => {
      if (!killed && code !== 0) reject(new Error(`child failed (${code}): ${err}`));
      else resolve({ lines: out.split('\n').filter(Boolean), killed });
    });
  });
}

/** No record names a missing object: every owned artifact and every reference has its file. */
function assertNoDangling(dataDir: string): void {
  const store = Store.open({ dataDir, lock: false });
  try {
    const db = store.db.sqlite;
    const present = casObjects(dataDir);
    for (const h of db.prepare(`select hash from artifacts union select hash from artifact_refs`).pluck().all() as string[]) {
      assert.ok(present.has(h), `${h} is named and present`);
    }
  } finally {
    store.close();
  }
}

async function chainVerifies(t: TestServer): Promise<void> {
  const ev = await t.req('GET', '/events:export');
  const { records, manifest } = readNdjsonExport(ev.text);
  const report = verifyEventChain(records, manifest);
  assert.equal(report.ok, true, JSON.stringify(report.problems));
}

test('SIGKILL during a retention pass and during a collection, then restart: consistent, verifiable, nothing dangling', async () => {
  const dataDir = join(work, 'data');
  let t = await startTestServer(['--allow-unsigned', '--artifact-gc-grace', '0'], {}, undefined, dataDir);
  await publish(t, { dagId: 'art', steps: [{ id: 'put', plugin: 'artifact', with: { content: '${{ inputs.content }}' } }] });
  const ids: string[] = [];
  for (let i = 0; i < 40; i++) ids.push((await startRun(t, 'art', { inputs: { content: `crash artifact ${i}` } })).runId);
  for (const id of ids) {
    const run = await waitForRun(t, id);
    assert.equal(run.status, 'completed', `the runs write the artifacts a collection will free: ${JSON.stringify(run.steps)}`);
  }
  const templates = await exportedRuns(t.server.ports, { tenant: 'a' });
  const clones = Array.from({ length: 3000 }, (_, k) => ({ ...templates[k % 40]!, runId: `${templates[k % 40]!.runId.slice(0, 24)}${String(k).padStart(12, '0')}`, runToken: null }) as RunRecord);
  for (let i = 0; i < clones.length; i += 500) await importRunRecords(t.server.ports, clones.slice(i, i + 500), { tenant: 'a' });
  await t.server.close();

  const prune = await killMidway(dataDir, 'prune', 3);
  assert.ok(prune.killed, `killed during the pass (printed ${prune.lines.join(', ')})`);
  assert.equal(integrityCheck(dataDir), 'ok');
  assertNoDangling(dataDir);

  // The interrupted pass is finished, so that a collection has objects to delete; then it is killed.
  {
    const store = Store.open({ dataDir });
    await pruneTenant({ ports: new SqlitePorts(store), clock: systemClock, logger: pino({ level: 'silent' }) }, 'a', { maxAgeDays: 0, keepLast: 5 });
    store.close();
  }
  const before = casObjects(dataDir);
  const gc = await killMidway(dataDir, 'gc', 3);
  assert.ok(gc.killed, `killed during the collection (printed ${gc.lines.join(', ')})`);
  assert.equal(integrityCheck(dataDir), 'ok');
  assertNoDangling(dataDir);

  // Restart: the server serves, the chain verifies; a pass finishes what was interrupted.
  t = await startTestServer(['--allow-unsigned', '--artifact-gc-grace', '0'], {}, undefined, dataDir);
  try {
    await chainVerifies(t);
    assert.equal((await t.req('PUT', '/admin/retention', { body: { maxAgeDays: 0, keepLast: 5 } })).status, 200);
    const r = await t.req('POST', '/admin/retention:apply', { body: {} });
    assert.equal(r.status, 200, r.text);
    const left = await exportedRuns(t.server.ports, { tenant: 'a' });
    assert.equal(left.length, 5, 'the newest five runs are kept');
    await chainVerifies(t);
    const named = new Set(left.flatMap((run) => namedHashes(canonicalJson(run))).filter((h) => before.has(h)));
    assert.deepEqual(casObjects(dataDir), named, 'exactly the artifacts the kept runs name');
    for (const h of named) assert.equal((await t.req('GET', `/artifacts/${h}`)).status, 200);
  } finally {
    await t.server.close();
  }
  assert.equal(integrityCheck(dataDir), 'ok');
  assertNoDangling(dataDir);
});

test('a collection raced against running steps that write artifacts never takes what they wrote', async () => {
  // A grace of 1 s: an object a step just wrote is unowned until its row commits, which the
  // grace covers; the last collection runs once every object is older than the grace.
  const t = await startTestServer(['--allow-unsigned', '--artifact-gc-grace', '1']);
  try {
    await publish(t, {
      dagId: 'writer',
      steps: [{ id: 'put', plugin: 'artifact', with: { content: 'race ${{ inputs.n }}' } }, { id: 'again', plugin: 'artifact', with: { content: 'race ${{ inputs.n }} again' } }],
      edges: [{ from: 'put', to: 'again' }],
    });
    // Retention keeps everything, so every artifact a run wrote is referenced; collections run
    // back to back while the runs write.
    assert.equal((await t.req('PUT', '/admin/retention', { body: { maxAgeDays: 36500, keepLast: null } })).status, 200);
    const runs: string[] = [];
    let collecting = true;
    const collections = (async () => {
      let n = 0;
      while (collecting) {
        const r = await t.req('POST', '/admin/retention:apply', { body: {} });
        assert.equal(r.status, 200, r.text);
        n++;
      }
      return n;
    })();
    for (let n = 0; n < 60; n++) runs.push((await startRun(t, 'writer', { inputs: { n } })).runId);
    const done = [];
    for (const id of runs) done.push(await waitForRun(t, id, { timeoutMs: 60_000 }));
    collecting = false;
    const passes = await collections;
    assert.ok(passes >= 2, `collections ran during the runs (${passes})`);
    const lastWrite = Date.now();
    while (Date.now() < lastWrite + 1500) await new Promise((r) => setTimeout(r, 100));
    const last = await t.req('POST', '/admin/retention:apply', { body: {} });
    assert.equal(last.body.artifacts.objects, 0, 'every object is referenced: none collected');
    for (const run of done) {
      assert.equal(run.status, 'completed', JSON.stringify(run.steps));
      for (const s of ['put', 'again']) {
        const hash = stepOf(run, s).outputs.hash;
        const got = await t.req('GET', `/artifacts/${hash}`);
        assert.equal(got.status, 200, `${run.runId}/${s}: its artifact is still there`);
      }
    }
  } finally {
    await t.stop();
  }
});
