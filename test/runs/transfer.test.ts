// @sqlite-only: the offline CLI commands under test (export, import, verify on --data-dir) read and write a stopped SQLite data folder; on PostgreSQL the same exports are the API's (test/runs/api, test/events/export)
/**
 * Run records between installations: export → import → export gives the same bytes, the
 * imported runs are read-only, and a conflicting import installs nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestServer } from '../helpers/server.js';
import { PROGRAM_ARGS } from '../helpers/program.js';
import { publish, startRun, waitForRun } from './helpers.js';
import { ndjsonText, parseNdjsonExport } from '../../src/core/index.js';

const exec = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..');
const cli = async (...args: string[]) => {
  try {
    const r = await exec(process.execPath, [...PROGRAM_ARGS, ...args], { cwd: ROOT });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e: any) {
    return { code: e.code as number, stdout: e.stdout as string, stderr: e.stderr as string };
  }
};

test('export runs → import into another data folder → export again: identical bytes; imported runs are read-only', async (t) => {
  const tmp = mkdtempSync(join(tmpdir(), 'orch-transfer-'));
  t.after(() => rmSync(tmp, { recursive: true, force: true }));
  const a = await startTestServer(['--allow-unsigned']);
  t.after(() => a.server.close()); // also when an assertion fails (close is idempotent): a live server would hold the file open
  const xfer = {
    dagId: 'xfer',
    steps: [
      { id: 'one', plugin: 'echo', with: { v: '${{ inputs.v }}' } },
      { id: 'flaky', plugin: 'fail', with: { times: 1 }, retries: { max: 2, backoffMs: 10 } },
    ],
    edges: [{ from: 'one', to: 'flaky' }],
  };
  await publish(a, xfer);
  const runIds: string[] = [];
  for (let i = 0; i < 4; i++) {
    const r = await startRun(a, 'xfer', { inputs: { v: i }, runToken: `tok-${i}` });
    runIds.push(r.runId);
    await waitForRun(a, r.runId);
  }
  const http1 = await a.req('GET', '/runs:export');
  const http2 = await a.req('GET', '/runs:export');
  assert.equal(http1.text, http2.text);
  const dataA = a.dataDir;
  await a.server.close();

  const f1 = join(tmp, 'runs-a.ndjson');
  const e1 = await cli('export', 'runs', '--data-dir', dataA, '--tenant', 'a', '--out', f1);
  assert.equal(e1.code, 0, e1.stderr);
  assert.equal(readFileSync(f1, 'utf8'), http1.text, 'CLI export = HTTP export');
  assert.equal(parseNdjsonExport(http1.text).length, 4);

  // The target installation has the same DAG version (its hash is checked on import).
  const dataB = join(tmp, 'b');
  const pre = await startTestServer(['--allow-unsigned'], {}, undefined, dataB);
  t.after(() => pre.server.close());
  await publish(pre, xfer);
  await pre.server.close();
  const importArgs = ['--data-dir', dataB, '--tenant', 'a', '--allow-unsigned'];
  const i1 = await cli('import', 'runs', f1, ...importArgs);
  assert.equal(i1.code, 0, i1.stderr);
  assert.deepEqual(JSON.parse(i1.stdout), { ok: true, imported: 4, unchanged: 0, signedBy: [] });
  const f2 = join(tmp, 'runs-b.ndjson');
  assert.equal((await cli('export', 'runs', '--data-dir', dataB, '--tenant', 'a', '--out', f2)).code, 0);
  assert.equal(readFileSync(f2, 'utf8'), readFileSync(f1, 'utf8'), 'export → import → export round-trips');
  const again = await cli('import', 'runs', f1, ...importArgs);
  assert.deepEqual(JSON.parse(again.stdout), { ok: true, imported: 0, unchanged: 4, signedBy: [] });

  // A record that differs from what is stored: refused, and nothing of the file is installed.
  const records = parseNdjsonExport(readFileSync(f1, 'utf8')) as any[];
  const fresh = { ...records[0], runId: '01900000-0000-7000-8000-0000000000aa', runToken: null };
  const changed = { ...records[1], status: 'cancelled' };
  const bad = join(tmp, 'bad.ndjson');
  writeFileSync(bad, await ndjsonText([fresh, changed]));
  const refused = await cli('import', 'runs', bad, ...importArgs);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /other content/);
  assert.equal((await cli('export', 'runs', '--data-dir', dataB, '--tenant', 'a', '--out', f2)).code, 0);
  assert.equal(readFileSync(f2, 'utf8'), readFileSync(f1, 'utf8'), 'nothing installed by the refused import');

  // A server on the imported folder serves them read-only.
  const b = await startTestServer(['--allow-unsigned'], {}, undefined, dataB);
  try {
    const got = await b.req('GET', `/runs/${runIds[0]}`);
    assert.equal(got.status, 200);
    const { inputs: _inputs, ...expected } = records.find((r) => r.runId === runIds[0]);
    assert.deepEqual(got.body, expected);
    const cancel = await b.req('POST', `/runs/${runIds[1]}:cancel`, { body: {} });
    assert.equal(cancel.status, 200);
    assert.equal(cancel.body.status, records[1].status);
    assert.equal((await b.req('GET', '/runs:export')).text, readFileSync(f1, 'utf8'));
    // Read-only: the runToken of an imported run does not answer here (that run was started
    // elsewhere): the same request starts a run of this installation; the imported one is unchanged.
    await publish(b, xfer);
    const mine = await b.req('POST', '/runs', { body: { dagId: 'xfer', inputs: { v: 0 }, runToken: 'tok-0' } });
    assert.equal(mine.status, 201, `a new run, not the imported one: ${mine.text}`);
    assert.notEqual(mine.body.runId, runIds[0]);
    await waitForRun(b, mine.body.runId);
    assert.deepEqual((await b.req('GET', `/runs/${runIds[0]}`)).body, expected);
  } finally {
    await b.server.close();
  }

  // A run exported while still running could be resumed where it is imported: it is refused,
  // and nothing of the file is installed.
  const live = { ...records[0], runId: '01900000-0000-7000-8000-0000000000ab', runToken: null, status: 'running', endedUtc: null, durationMs: null, outputsHash: null };
  const liveFile = join(tmp, 'live.ndjson');
  writeFileSync(liveFile, await ndjsonText([live]));
  const i2 = await cli('import', 'runs', liveFile, ...importArgs);
  assert.equal(i2.code, 1, i2.stdout);
  assert.match(i2.stderr, /has not ended/);
  assert.equal((await cli('export', 'runs', '--data-dir', dataB, '--tenant', 'a', '--out', f2)).code, 0);
  assert.ok(!readFileSync(f2, 'utf8').includes(live.runId), 'the live run was not installed');
});
