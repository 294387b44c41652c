/** docs/PLUGINS.md's example plugin, installed as the page says and run by the page's DAG. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bash, block, docBlocks, docsApi, docsTmp, runEnded, startServer } from './harness.js';

const blocks = docBlocks('PLUGINS.md');
const tmp = docsTmp('orch-doc-plugins-');

test('PLUGINS.md: line-count loads from --plugins-dir and the DAG gets the documented outputs; bad inputs fail INPUTS_INVALID once', async () => {
  const dir = join(tmp, 'plugins', 'line-count');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'plugin.json'), block(blocks, 'manifest'));
  writeFileSync(join(dir, 'index.mjs'), block(blocks, 'entry'));
  const server = await startServer(['--dev', '--port', '0', '--data-dir', 'data', '--workers', '1', '--allow-unsigned', '--plugins-dir', 'plugins'], tmp);
  try {
    const token = (await bash('orchestrator token --data-dir data --tenant demo --scopes orchestrator:admin', tmp)).trim();
    const api = docsApi(server.url, token);
    const runToEnd = async (dagId: string, version: string, inputs?: Record<string, unknown>) => {
      const started = await api('POST', '/runs', { dagId, version, ...(inputs ? { inputs } : {}) });
      assert.equal(started.status, 201, JSON.stringify(started.body));
      return runEnded(api, started.body.runId);
    };

    const dag = JSON.parse(block(blocks, 'dag'));
    const published = await api('POST', '/dags', dag);
    assert.equal(published.status, 201, JSON.stringify(published.body));
    assert.equal(published.body.pluginPins['line-count@1.0.0'].builtin, false);
    const run = await runToEnd('count-errors', '1.0.0');
    assert.equal(run.status, 'completed');
    const count = run.steps.find((s: any) => s.stepId === 'count');
    assert.equal(count.outputs.lines, 4);
    assert.equal(count.outputs.matching, 2);
    assert.match(count.outputs.matchesHash, /^[0-9a-f]{64}$/);
    assert.equal((await api('GET', `/artifacts/${count.outputs.matchesHash}`)).body, 'ERROR disk\nERROR net\n');
    const log = String((await api('GET', `/artifacts/${count.logsRef}`)).body);
    assert.ok(log.split('\n').some((l) => l.includes('"msg":"counted"') && l.includes('"lines":4')), 'ctx.log wrote the documented line');

    const bad = structuredClone(dag);
    bad.version = '1.0.1';
    bad.steps[1].with.match = 7;
    bad.steps[1].retries = { max: 3, backoffMs: 1 };
    // Written in the DAG, the bad value is refused at publish, naming the field.
    const refused = await api('POST', '/dags', bad);
    assert.equal(refused.status, 422);
    assert.deepEqual(refused.body.error.details.errors.map((e: any) => e.field), ['steps.count.with.match']);
    // Arriving through a reference, it fails the step at once.
    bad.steps[1].with.match = '${{ inputs.match }}';
    assert.equal((await api('POST', '/dags', bad)).status, 201);
    const failed = await runToEnd('count-errors', '1.0.1', { match: 7 });
    assert.equal(failed.status, 'failed');
    const step = failed.steps.find((s: any) => s.stepId === 'count');
    assert.equal(step.errorCode, 'INPUTS_INVALID');
    assert.equal(step.attempts.length, 1, 'not retried');
  } finally {
    await server.stop();
  }
});
