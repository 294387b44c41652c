/**
 * `orchestrator runs start|get|cancel|logs` as child processes against a real server: exit
 * codes 0 (completed), 4 (failed or cancelled) and 3 (cancellation rejected), `--follow`
 * output (plain lines when piped, the run's exact events with --output ndjson), step logs,
 * and JSON output parsed back.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { waitForRun, waitUntil } from '../runs/helpers.js';
import { cli, clientWorld, parseJson, parseNdjson, runEvents, type ClientWorld } from './helpers.js';

const DAGS = [
  {
    dagId: 'pass',
    steps: [
      { id: 'first', plugin: 'talker', with: { lines: ['starting', 'warming up'] } },
      { id: 'second', plugin: 'echo', with: { from: '${{ steps.first.outputs }}' } },
    ],
    edges: [{ from: 'first', to: 'second' }],
  },
  {
    dagId: 'boom',
    steps: [
      { id: 'prepare', plugin: 'noop' },
      { id: 'explode', plugin: 'talker', with: { lines: ['about to fail'], fail: 'the disk is on fire' } },
    ],
    edges: [{ from: 'prepare', to: 'explode' }],
  },
  { dagId: 'slow', steps: [{ id: 'nap', plugin: 'sleep', with: { ms: 600_000 } }] },
];

describe('runs commands', () => {
  let w: ClientWorld;
  before(async () => {
    w = await clientWorld(DAGS);
  });
  after(() => w.stop());

  test('start --wait: a passing DAG exits 0, a failing one 4; the JSON printed is the final run', async () => {
    const [ok, bad] = await Promise.all([
      cli(['runs', 'start', 'pass', '--wait'], { env: w.env }),
      cli(['runs', 'start', 'boom', '--wait', '--input', 'note=x', '--input', 'n:=3'], { env: w.env }),
    ]);
    assert.equal(ok.code, 0, ok.stderr);
    const run = parseJson(ok);
    assert.equal(run.status, 'completed');
    assert.deepEqual(run.steps.map((s: any) => [s.stepId, s.status]), [['first', 'completed'], ['second', 'completed']]);
    assert.deepEqual((await w.t.req('GET', `/runs/${run.runId}`)).body, run, 'what the CLI printed is the run as stored');

    assert.equal(bad.code, 4, bad.stderr);
    const failed = parseJson(bad);
    assert.equal(failed.status, 'failed');
    const explode = failed.steps.find((s: any) => s.stepId === 'explode');
    assert.equal(explode.errorCode, 'TALKER_FAILED');
    const inputs = await w.t.req('GET', `/runs:export?dagId=boom`);
    assert.match(inputs.text, /"inputs":\{"n":3,"note":"x"\}/, '--input k=v is a string, k:=json a JSON value');
  });

  test('start --follow, piped: a first line naming the run, one plain line per change, the outcome last', async () => {
    const r = await cli(['runs', 'start', 'boom', '--follow'], { env: w.env });
    assert.equal(r.code, 4, r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    const runId = /^run ([0-9a-f-]{36})  boom@1\.0\.0  queued$/.exec(lines[0]!)?.[1];
    assert.ok(runId, `first line: ${lines[0]}`);
    const changes = lines.slice(1, -2).map((l) => {
      const m = /^(\d{4}-\d\d-\d\dT[\d:.]+Z)  (run|step \S+)\s+(\w+)$/.exec(l);
      assert.ok(m, `a change line: ${JSON.stringify(l)}`);
      return `${m[2]} ${m[3]}`;
    });
    assert.deepEqual(changes, [
      'run running',
      'step prepare queued',
      'step prepare running',
      'step prepare completed',
      'step explode queued',
      'step explode running',
      'step explode failed',
      'run failed',
    ]);
    assert.equal(lines.at(-2), 'step explode failed: TALKER_FAILED: the disk is on fire');
    assert.match(lines.at(-1)!, new RegExp(`^run ${runId} failed in \\d`));
    assert.ok(!/\x1b\[/.test(r.stdout), 'no colour when piped');
  });

  test('start --follow --output ndjson prints exactly the run\'s events, in order, once each', async () => {
    const r = await cli(['runs', 'start', 'pass', '--follow', '--output', 'ndjson'], { env: w.env });
    assert.equal(r.code, 0, r.stderr);
    const events = parseNdjson(r.stdout);
    assert.equal(events[0].type, 'run.started');
    assert.equal(events.at(-1).type, 'run.completed');
    assert.deepEqual(events, await runEvents(w.t, events[0].runId));
  });

  test('runs get: the run as JSON, and --wait on a run that already ended returns at once', async () => {
    const started = parseJson(await cli(['runs', 'start', 'pass'], { env: w.env }));
    assert.equal(started.status, 'queued', 'without --wait, start prints the run as accepted');
    const got = await cli(['runs', 'get', started.runId, '--wait'], { env: w.env });
    assert.equal(got.code, 0, got.stderr);
    assert.equal(parseJson(got).status, 'completed');
    const again = await cli(['runs', 'get', started.runId, '--wait'], { env: w.env });
    assert.deepEqual(parseJson(again), parseJson(got));
    const missing = await cli(['runs', 'get', '01900000-0000-7000-8000-000000000000'], { env: w.env });
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^orchestrator runs get: NOT_FOUND: run not found \(trace_id [0-9a-f]{32}\)$/m);
  });

  test('runs logs: one step, every step, NDJSON with stepId and attempt, and a table for people', async () => {
    const run = parseJson(await cli(['runs', 'start', 'boom', '--wait'], { env: w.env }));
    const one = await cli(['runs', 'logs', run.runId, 'explode'], { env: w.env });
    assert.equal(one.code, 0, one.stderr);
    const records = parseNdjson(one.stdout);
    assert.deepEqual(
      records.map((r) => [r.stepId, r.attempt, r.level, r.msg]),
      [
        ['explode', 1, 'info', 'about to fail'],
        ['explode', 1, 'error', 'step failed'],
      ],
    );
    assert.equal(records[0].step, 'explode', 'the fields of a log record are kept');
    const table = await cli(['runs', 'logs', run.runId, '--output', 'table'], { env: w.env });
    assert.match(table.stdout, /^explode#1  \S+Z  info   about to fail  \{"step":"explode"\}$/m);
    const unknown = await cli(['runs', 'logs', run.runId, 'nope'], { env: w.env });
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /NOT_FOUND/);
  });

  test('runs logs --follow prints each attempt\'s log as it ends and exits with the run\'s outcome', async () => {
    const run = parseJson(await cli(['runs', 'start', 'pass'], { env: w.env }));
    const r = await cli(['runs', 'logs', run.runId, '--follow'], { env: w.env });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(parseNdjson(r.stdout).map((x) => `${x.stepId}#${x.attempt} ${x.msg}`), ['first#1 starting', 'first#1 warming up']);
  });

  test('runs cancel: 0 when cancelled (also again), 3 when the run had already ended, 1 for an unknown run', async () => {
    const run = parseJson(await cli(['runs', 'start', 'slow'], { env: w.env }));
    await waitUntil(w.t, run.runId, (r) => r.steps[0].status === 'running');
    const c = await cli(['runs', 'cancel', run.runId, '--reason', 'test', '--wait'], { env: w.env });
    assert.equal(c.code, 0, c.stderr);
    assert.equal(parseJson(c).status, 'cancelled');
    const again = await cli(['runs', 'cancel', run.runId], { env: w.env });
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /already cancelled/);

    const done = parseJson(await cli(['runs', 'start', 'pass', '--wait'], { env: w.env }));
    const rejected = await cli(['runs', 'cancel', done.runId], { env: w.env });
    assert.equal(rejected.code, 3, rejected.stderr);
    assert.match(rejected.stderr, /had already ended completed; nothing to cancel/);
    assert.equal((await waitForRun(w.t, done.runId)).status, 'completed', 'a rejected cancel changes nothing');

    const unknown = await cli(['runs', 'cancel', '01900000-0000-7000-8000-000000000000'], { env: w.env });
    assert.equal(unknown.code, 1);
  });

  test('--wait on a run cancelled by someone else exits 4', async () => {
    const run = parseJson(await cli(['runs', 'start', 'slow'], { env: w.env }));
    const waiting = cli(['runs', 'get', run.runId, '--wait'], { env: w.env });
    await waitUntil(w.t, run.runId, (r) => r.steps[0].status === 'running');
    assert.equal((await w.t.req('POST', `/runs/${run.runId}:cancel`, { body: {} })).status, 202);
    const r = await waiting;
    assert.equal(r.code, 4, r.stderr);
    assert.equal(parseJson(r).status, 'cancelled');
  });
});
