/**
 * Every example of docs/DAGS.md, as a reader would run it: the DAG document is saved, signed
 * with a key made by `orchestrator keys generate`, checked, published with curl to a real
 * server (which trusts the key after SIGHUP), and run with curl; the outcomes the page
 * describes are checked.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { atUrl, bash, block, docBlocks, docsApi, docsTmp, runEnded, startServer, until } from './harness.js';

const blocks = docBlocks('DAGS.md');
const tmp = docsTmp('orch-doc-dags-');

/** The shell commands of a block: each `curl …` (with its continuation lines) on its own. */
function commands(script: string): string[] {
  return script.split(/\n(?=\S)/);
}

test('DAGS.md: build-and-report is signed, checked, published and run as the page says', async () => {
  writeFileSync(join(tmp, 'build-and-report.json'), block(blocks, 'build-and-report'));
  mkdirSync(join(tmp, 'trust'));
  const server = await startServer(['--dev', '--port', '0', '--data-dir', 'data', '--workers', '1', '--trust-dir', 'trust', '--exec-allow', '/bin/echo'], tmp);
  try {
    const TOKEN = (await bash('orchestrator token --data-dir data --tenant demo --scopes orchestrator:admin', tmp)).trim();
    const env = { TOKEN };
    const api = docsApi(server.url, TOKEN);

    // Sign and check; then the server learns the key (SIGHUP) and the document is published.
    const [keys, cp, sign, check, publish] = commands(block(blocks, 'sign-and-publish'));
    await bash([keys, cp, sign].join('\n'), tmp);
    const checked = JSON.parse(await bash(check!, tmp));
    assert.equal(checked.ok, true);
    assert.equal(checked.dagId, 'build-and-report');
    assert.equal(checked.signedBy.length, 1);
    server.hup();
    await until(() => server.logs().some((l) => l.part === 'trust' && l.added?.length === 1), 'the trust folder is re-read');
    const published = JSON.parse(await bash(atUrl(publish!, server.url), tmp, env));
    assert.equal(published.dagId, 'build-and-report');
    assert.deepEqual(published.signedBy, checked.signedBy);
    assert.equal(published.hash, checked.hash);
    const again = await bash(atUrl(publish!, server.url).replace('curl -s', 'curl -s -o /dev/null -w "%{http_code}"'), tmp, env);
    assert.equal(again, '200', 'publishing the same file again is 200');

    // The two runs.
    const [runOk, runBad] = commands(block(blocks, 'run')).map((c) => atUrl(c, server.url));
    const ok = JSON.parse(await bash(runOk!, tmp, env));
    const bad = JSON.parse(await bash(runBad!, tmp, env));
    const step = (run: any, id: string) => run.steps.find((s: any) => s.stepId === id);

    const r1 = await runEnded(api, ok.runId);
    assert.equal(r1.status, 'completed', JSON.stringify(r1.steps.map((s: any) => [s.stepId, s.status, s.errorCode, s.errorMessage])));
    assert.equal(step(r1, 'unstable').attempts.length, 2);
    const report1 = step(r1, 'report').outputs;
    assert.equal(report1.component, 'api');
    assert.equal(report1.unstable, 'attempt 2');
    assert.equal(report1.build.exitCode, 0);
    assert.match(report1.build.stdoutHash, /^[0-9a-f]{64}$/);
    const stdout = await fetch(`${server.url}/api/v1/orchestrator/artifacts/${report1.build.stdoutHash}`, { headers: { authorization: `Bearer ${TOKEN}`, 'x-stella-tenant': 'demo' } });
    assert.equal((await stdout.text()).trim(), 'building api');
    const log = await fetch(`${server.url}/api/v1/orchestrator/artifacts/${step(r1, 'build').logsRef}`, { headers: { authorization: `Bearer ${TOKEN}`, 'x-stella-tenant': 'demo' } });
    assert.ok((await log.text()).split('\n').some((l) => l.includes('"stream":"stdout"') && l.includes('building api')), 'the build line is in the log');

    const r2 = await runEnded(api, bad.runId);
    assert.equal(r2.status, 'failed');
    assert.equal(step(r2, 'unstable').status, 'failed');
    assert.equal(step(r2, 'unstable').errorCode, 'FLAKY');
    assert.equal(step(r2, 'unstable').attempts.length, 3);
    assert.equal(step(r2, 'report').status, 'completed', 'all_done runs after a failure');
    assert.equal(step(r2, 'report').outputs.unstable, 'attempt null', 'a failed step has null outputs');

    const missing = await api('POST', '/runs', { dagId: 'build-and-report', inputs: {} });
    assert.equal(missing.status, 422);
    assert.equal(missing.body.error.code, 'INPUTS_INVALID');
    assert.match(JSON.stringify(missing.body.error), /\/component|component/);
  } finally {
    await server.stop();
  }
});
