/**
 * `orchestrator schedules …` as child processes against a real server: create (created,
 * unchanged, SCHEDULE_EXISTS), bad input (exit 1 naming the field), list as JSON over several
 * pages, get with its upcoming fires, replace, pause/resume, trigger --wait|--follow (exit 0 and
 * 4, like runs start), delete, export, and no token (exit 2).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { cli, clientWorld, parseJson, parseNdjson, type ClientWorld } from './helpers.js';

const DAGS = [
  { dagId: 'pass', steps: [{ id: 'first', plugin: 'talker', with: { lines: ['hello'] } }] },
  { dagId: 'boom', steps: [{ id: 'explode', plugin: 'talker', with: { lines: ['about to fail'], fail: 'the disk is on fire' } }] },
  { dagId: 'many', steps: [{ id: 'nothing', plugin: 'noop' }] },
];

/** Far from any test's clock: Feb 29 at midnight fires only in leap years. */
const RARE = '0 0 29 2 *';

describe('schedules commands', () => {
  let w: ClientWorld;
  let dir: string;
  before(async () => {
    w = await clientWorld(DAGS);
    dir = mkdtempSync(join(tmpdir(), 'orch-cli-schedules-'));
  });
  after(async () => {
    await w.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('create: 201 "created", the same body again "unchanged" (exit 0), another body SCHEDULE_EXISTS (exit 1, code, message, trace id)', async () => {
    const flags = ['--dag-id', 'pass', '--cron', '30 2 * * *', '--timezone', 'Europe/Berlin', '--input', 'who=night', '--catchup-policy', 'none'];
    const first = await cli(['schedules', 'create', 'nightly', ...flags], { env: w.env });
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stderr, /^created nightly$/m);
    const created = parseJson(first);
    assert.deepEqual(
      [created.scheduleId, created.dagId, created.cron, created.timezone, created.inputs, created.catchup],
      ['nightly', 'pass', '30 2 * * *', 'Europe/Berlin', { who: 'night' }, { policy: 'none', window: 'PT1H' }],
    );
    const stored = await w.t.req('GET', '/schedules/nightly');
    assert.equal(stored.body.createdUtc, created.createdUtc);

    // The same document from a file on stdin (the defaults spelled out) is the same schedule.
    const doc = { scheduleId: 'nightly', dagId: 'pass', cron: '30 2 * * *', timezone: 'Europe/Berlin', inputs: { who: 'night' }, overlap: 'skip', catchup: { policy: 'none' } };
    const [again, other] = await Promise.all([
      cli(['schedules', 'create', '--file', '-'], { env: w.env, input: JSON.stringify(doc) }),
      cli(['schedules', 'create', 'nightly', ...flags, '--cron', '45 2 * * *'], { env: w.env }),
    ]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /^unchanged nightly$/m);
    assert.deepEqual(parseJson(again), created);
    assert.equal(other.code, 1, other.stderr);
    assert.match(other.stderr, /^orchestrator schedules create: SCHEDULE_EXISTS: .+ \(trace_id [0-9a-f]{32}\)$/m);
    assert.equal((await w.t.req('GET', '/schedules/nightly')).body.cron, '30 2 * * *', 'the refused body changed nothing');
  });

  test('bad input: a bad cron is exit 1 naming cron; an unknown DAG DAG_INVALID; no id, a bad file or --inputs are usage errors', async () => {
    const [cron, zone, dag, noId, notObject, inputs] = await Promise.all([
      cli(['schedules', 'create', 'bad', '--dag-id', 'pass', '--cron', '30 25 * * *'], { env: w.env }),
      cli(['schedules', 'create', 'bad', '--dag-id', 'pass', '--cron', '@daily', '--timezone', 'Mars/Olympus'], { env: w.env }),
      cli(['schedules', 'create', 'bad', '--dag-id', 'ghost', '--cron', '@daily'], { env: w.env }),
      cli(['schedules', 'create', '--dag-id', 'pass', '--cron', '@daily'], { env: w.env }),
      cli(['schedules', 'create', '--file', '-'], { env: w.env, input: '[1]' }),
      cli(['schedules', 'create', 'bad', '--dag-id', 'pass', '--cron', '@daily', '--inputs', '"x"'], { env: w.env }),
    ]);
    assert.equal(cron.code, 1, cron.stderr);
    assert.match(cron.stderr, /VALIDATION_FAILED: body\.cron: hour: 25 .* \(trace_id [0-9a-f]{32}\)/);
    assert.match(cron.stderr, /details: \{"field":"body\.cron"/);
    assert.equal(zone.code, 1, zone.stderr);
    assert.match(zone.stderr, /VALIDATION_FAILED: .*timezone/);
    assert.equal(dag.code, 1, dag.stderr);
    assert.match(dag.stderr, /DAG_INVALID: /);
    assert.equal(noId.code, 1);
    assert.match(noId.stderr, /no schedule id/);
    assert.equal(notObject.code, 1);
    assert.match(notObject.stderr, /must hold a JSON object/);
    assert.equal(inputs.code, 1);
    assert.match(inputs.stderr, /--inputs must be a JSON object/);
    assert.equal((await w.t.req('GET', '/schedules/bad')).status, 404, 'nothing was stored');
  });

  test('list: JSON parsed back, every page with --all, --limit with a note, --paused and NDJSON', async () => {
    const ids = Array.from({ length: 31 }, (_, i) => `many-${String(i).padStart(2, '0')}`);
    for (const id of ids) {
      const r = await w.t.req('POST', '/schedules', { body: { scheduleId: id, dagId: 'many', cron: RARE, paused: id.endsWith('7') } });
      assert.equal(r.status, 201, r.text);
    }
    const [all, limited, paused, nd] = await Promise.all([
      cli(['schedules', 'list', '--dag-id', 'many', '--all', '--page-size', '7'], { env: w.env }),
      cli(['schedules', 'list', '--dag-id', 'many', '--limit', '5', '--page-size', '3'], { env: w.env }),
      cli(['schedules', 'list', '--dag-id', 'many', '--paused', 'true'], { env: w.env }),
      cli(['schedules', 'list', '--dag-id', 'many', '--limit', '2', '--output', 'ndjson'], { env: w.env }),
    ]);
    assert.equal(all.code, 0, all.stderr);
    const listed = parseJson(all);
    assert.deepEqual(listed.map((s: any) => s.scheduleId), ids, 'all 31 over 5 pages, scheduleId order');
    assert.deepEqual(listed[3], (await w.t.req('GET', '/schedules?dagId=many&page_size=4')).body.items[3], 'items as the server gives them');
    assert.doesNotMatch(all.stderr, /more schedules/);
    assert.equal(limited.code, 0, limited.stderr);
    assert.deepEqual(parseJson(limited).map((s: any) => s.scheduleId), ids.slice(0, 5));
    assert.match(limited.stderr, /more schedules exist: use --limit N or --all/);
    assert.deepEqual(parseJson(paused).map((s: any) => s.scheduleId), ['many-07', 'many-17', 'many-27']);
    assert.deepEqual(parseNdjson(nd.stdout).map((s) => s.scheduleId), ids.slice(0, 2));
  });

  test('get shows the upcoming fires (UTC and local); pause and resume show in get; replace keeps what its flags do not change', async () => {
    const body = { scheduleId: 'berlin', dagId: 'pass', cron: '30 2 * * *', timezone: 'Europe/Berlin', inputs: { who: 'berlin' }, description: 'nightly in Berlin' };
    assert.equal((await w.t.req('POST', '/schedules', { body })).status, 201);
    const [json, table] = await Promise.all([
      cli(['schedules', 'get', 'berlin'], { env: w.env }),
      cli(['schedules', 'get', 'berlin', '--output', 'table'], { env: w.env }),
    ]);
    assert.equal(json.code, 0, json.stderr);
    const got = parseJson(json);
    assert.equal(got.upcoming.length, 5);
    for (const f of got.upcoming) assert.match(f.local, /T02:30:00\.000\+0[12]:00$/, 'local time in Berlin');
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^cron +30 2 \* \* \*$/m);
    assert.match(table.stdout, /^UPCOMING \(UTC\) +LOCAL \(Europe\/Berlin\)$/m);
    const rows = table.stdout.split('\n').filter((l) => /^\d{4}-\d\d-\d\dT\S+Z {2}/.test(l));
    assert.deepEqual(
      rows.map((l) => l.split(/ +/)),
      got.upcoming.map((f: any) => [f.utc.replace('.000Z', 'Z'), f.local.replace('.000', '')]),
    );

    const paused = await cli(['schedules', 'pause', 'berlin'], { env: w.env });
    assert.equal(paused.code, 0, paused.stderr);
    const whilePaused = parseJson(await cli(['schedules', 'get', 'berlin'], { env: w.env }));
    assert.deepEqual([whilePaused.paused, whilePaused.nextFireUtc, whilePaused.upcoming], [true, null, []]);
    const resumed = await cli(['schedules', 'resume', 'berlin'], { env: w.env });
    assert.equal(resumed.code, 0, resumed.stderr);
    const afterResume = (await w.t.req('GET', '/schedules/berlin')).body;
    assert.equal(afterResume.paused, false);
    assert.equal(afterResume.nextFireUtc, got.nextFireUtc);

    const replaced = await cli(['schedules', 'replace', 'berlin', '--cron', '0 3 * * 1-5'], { env: w.env });
    assert.equal(replaced.code, 0, replaced.stderr);
    const now = (await w.t.req('GET', '/schedules/berlin')).body;
    assert.deepEqual([now.cron, now.timezone, now.inputs, now.description], ['0 3 * * 1-5', 'Europe/Berlin', { who: 'berlin' }, 'nightly in Berlin']);
    assert.notEqual(now.updatedUtc, got.updatedUtc);
    const whole = await cli(['schedules', 'replace', 'berlin', '--file', '-', '--timezone', 'Asia/Tokyo'], { env: w.env, input: JSON.stringify({ dagId: 'pass', cron: '@hourly' }) });
    assert.equal(whole.code, 0, whole.stderr);
    const last = (await w.t.req('GET', '/schedules/berlin')).body;
    assert.deepEqual([last.cron, last.timezone, last.inputs, last.description], ['@hourly', 'Asia/Tokyo', {}, undefined], '--file is the whole document');
  });

  test('trigger --wait exits 0 on a passing DAG and 4 on a failing one; --follow shows the run, not the schedule event', async () => {
    for (const [id, dagId] of [['t-pass', 'pass'], ['t-boom', 'boom']]) {
      assert.equal((await w.t.req('POST', '/schedules', { body: { scheduleId: id, dagId, cron: RARE, paused: true } })).status, 201);
    }
    const [ok, bad, followed] = await Promise.all([
      cli(['schedules', 'trigger', 't-pass', '--wait'], { env: w.env }),
      cli(['schedules', 'trigger', 't-boom', '--wait'], { env: w.env }),
      cli(['schedules', 'trigger', 't-pass', '--follow'], { env: w.env }),
    ]);
    assert.equal(ok.code, 0, ok.stderr);
    const run = parseJson(ok);
    assert.deepEqual([run.status, run.scheduleId, run.dagId], ['completed', 't-pass', 'pass']);
    assert.deepEqual((await w.t.req('GET', `/runs/${run.runId}`)).body, run, 'what the CLI printed is the run as stored');
    assert.equal(bad.code, 4, bad.stderr);
    assert.deepEqual([parseJson(bad).status, parseJson(bad).scheduleId], ['failed', 't-boom']);
    assert.equal(followed.code, 0, followed.stderr);
    const lines = followed.stdout.trimEnd().split('\n');
    assert.match(lines[0]!, /^run [0-9a-f-]{36}  pass@1\.0\.0  queued$/);
    const changes = lines.slice(1, -1).map((l) => l.replace(/^\S+ {2}/, '').replace(/ +/g, ' '));
    assert.deepEqual(changes, ['run running', 'step first queued', 'step first running', 'step first completed', 'run completed']);
    const runs = (await w.t.req('GET', '/runs?scheduleId=t-pass')).body.items;
    assert.equal(runs.length, 2, 'one run per trigger');
  });

  test('delete, then get is exit 1 NOT_FOUND; export to stdout and --out parses line by line with its manifest', async () => {
    assert.equal((await w.t.req('POST', '/schedules', { body: { scheduleId: 'doomed', dagId: 'pass', cron: RARE } })).status, 201);
    const del = await cli(['schedules', 'delete', 'doomed'], { env: w.env });
    assert.equal(del.code, 0, del.stderr);
    assert.equal(del.stdout, '');
    const [gone, again] = await Promise.all([cli(['schedules', 'get', 'doomed'], { env: w.env }), cli(['schedules', 'delete', 'doomed'], { env: w.env })]);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /NOT_FOUND: .* \(trace_id [0-9a-f]{32}\)/);
    assert.equal(again.code, 1);

    const file = join(dir, 'schedules.ndjson');
    const [out, toFile] = await Promise.all([
      cli(['schedules', 'export', '--dag-id', 'many'], { env: w.env }),
      cli(['schedules', 'export', '--out', file], { env: w.env }),
    ]);
    assert.equal(out.code, 0, out.stderr);
    const lines = parseNdjson(out.stdout);
    assert.equal(lines.length, 32);
    assert.deepEqual(lines.at(-1).manifest.count, 31);
    assert.ok(lines.slice(0, -1).every((s) => s.dagId === 'many' && s.tenant === 'a'));
    assert.equal(toFile.code, 0, toFile.stderr);
    const text = readFileSync(file, 'utf8');
    assert.equal(text, (await w.t.req('GET', '/schedules:export')).text, 'the file holds the export byte for byte');
    assert.ok(!parseNdjson(text).some((s) => s.scheduleId === 'doomed'));
  });

  test('no token: exit 2 before any request; a read-only token cannot create (exit 2, INSUFFICIENT_SCOPE)', async () => {
    const reader = await w.t.token({ tenants: ['a'], scopes: ['orchestrator:read'] });
    const [none, readOnly] = await Promise.all([
      cli(['schedules', 'list'], { env: { ORCH_SERVER: w.env.ORCH_SERVER } }),
      cli(['schedules', 'create', 'ro', '--dag-id', 'pass', '--cron', '@daily'], { env: { ...w.env, ORCH_TOKEN: reader } }),
    ]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /no token/);
    assert.equal(readOnly.code, 2, readOnly.stderr);
    assert.match(readOnly.stderr, /INSUFFICIENT_SCOPE/);
  });
});
