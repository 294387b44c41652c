/**
 * docs/OPERATIONS.md "Moving runs between sites": its examples, run as written (the single
 * executable's bundle in bash) on a real source folder whose runs wrote logs and artifacts; the
 * target folder then serves the same runs, logs and artifacts, byte for byte.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bash, block, docBlocks, docsTmp } from './harness.js';
import { startTestServer, FIXTURES, type TestServer } from '../helpers/server.js';
import { publish, startRun, waitForRun } from '../runs/helpers.js';

const blocks = docBlocks('OPERATIONS.md');

/** The run and every log and artifact it names, as a site answers them to tenant demo. */
async function answers(t: TestServer, run: any): Promise<string[]> {
  const out = [(await t.req('GET', `/runs/${run.runId}`, { tenant: 'demo' })).text];
  const hashes = run.steps.flatMap((s: any) => [s.outputs?.hash, ...s.attempts.map((a: any) => a.logsRef)]).filter(Boolean);
  assert.ok(hashes.length >= 2, 'the run names a log and an artifact');
  for (const h of hashes) {
    const r = await t.req('GET', `/artifacts/${h}`, { tenant: 'demo' });
    assert.equal(r.status, 200, `artifact ${h}`);
    out.push(`${h} ${r.text}`);
  }
  return out;
}

test('docs/OPERATIONS.md: moving runs between sites, as documented', async () => {
  const tmp = docsTmp('orch-docs-move-');
  writeFileSync(join(tmp, 'signing.key'), readFileSync(join(FIXTURES, 'keys', 'dev-signing.key')));
  cpSync(join(FIXTURES, 'keys', 'trust'), join(tmp, 'trusted'), { recursive: true });
  const a = await startTestServer(['--allow-unsigned'], {}, undefined, join(tmp, 'site-a'));
  await publish(a, {
    dagId: 'report',
    steps: [
      { id: 'make', plugin: 'artifact', with: { content: 'weekly report', mediaType: 'text/markdown' } },
      { id: 'flaky', plugin: 'fail', with: { times: 1 }, retries: { max: 1, backoffMs: 1 } },
    ],
    edges: [{ from: 'make', to: 'flaky' }],
  }, 'demo');
  const run = await waitForRun(a, (await startRun(a, 'report', { tenant: 'demo' })).runId, { tenant: 'demo' });
  const before = await answers(a, run);
  await a.server.close();

  await bash(block(blocks, 'move-export'), tmp);
  const imported = JSON.parse((await bash(block(blocks, 'move-import'), tmp)).split('\n')[0]!);
  assert.equal(imported.runs.imported, 1);
  assert.ok(imported.artifacts >= 2);

  const b = await startTestServer(['--allow-unsigned'], {}, undefined, join(tmp, 'site-b'));
  try {
    assert.deepEqual(await answers(b, run), before);
  } finally {
    await b.server.close();
  }
  const verified = JSON.parse(await bash(block(blocks, 'signed-events'), tmp));
  assert.equal(verified.ok, true);
  assert.equal(verified.signedBy.length, 1);
});
