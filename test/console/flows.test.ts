/**
 * The console in a real Chromium, as an operator uses it (CONTRACT §13): dev sign-in, start
 * `hello` from the form and watch it complete without a reload, read a step's log and download
 * its artifacts, cancel a running `sleep` run, see live status in the runs list, schedules
 * (list, next fire, pause, resume, trigger) and health. Takes the screenshots of docs/console/ along the way. `--max-running-runs 1` lets a
 * long `sleep` run hold `hello` in the queue, so its steps are seen changing, not already done.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { until } from '../helpers/wait.js';
import { assertLocalOnly, assertNoRefusals, publish, runToEnd, shoot, startHarness, type Harness } from './harness.js';

const T = 'demo';
const REPORT = 'console report: all green\n';

describe('web console: operator flows', () => {
  let h: Harness;
  let page: Page;
  const stepStatus = (step: string) => page.locator(`tr[data-step="${step}"] .status`);

  before(async () => {
    h = await startHarness(['--max-running-runs', '1']);
    await publish(h, T, { dagId: 'sleepy', version: '1.0.0', steps: [{ id: 'nap', plugin: 'sleep', with: { ms: 600_000 } }], edges: [] });
    await publish(h, T, {
      dagId: 'chatty',
      version: '1.0.0',
      inputsSchema: { type: 'object', properties: { report: { type: 'string' } } },
      steps: [
        { id: 'talk', plugin: 'chatty', with: { report: '${{ inputs.report }}' } },
        { id: 'after', plugin: 'echo', with: { report: '${{ steps.talk.outputs.report }}' } },
      ],
      edges: [{ from: 'talk', to: 'after' }],
    });
    page = await h.page();
  });
  after(async () => h?.close());

  test('GET / leads to the sign-in form; the dev sign-in takes one click', async () => {
    await page.goto(`${h.url}/`);
    assert.match(page.url(), /\/console\/$/);
    await page.getByLabel('Token').waitFor();
    assert.equal(await page.getByLabel('Tenant').count(), 1);
    assert.equal(await page.getByRole('button', { name: 'Sign in', exact: true }).count(), 1);
    await shoot(page, 'signin');
    await page.getByRole('button', { name: /Dev sign-in/ }).click();
    const nav = page.getByRole('navigation', { name: 'Main' });
    for (const name of ['DAGs', 'Runs', 'Schedules', 'Health']) await nav.getByRole('link', { name, exact: true }).waitFor();
    await page.getByRole('link', { name: 'hello', exact: true }).waitFor();
    assert.ok(await page.evaluate(() => sessionStorage.getItem('stella.console.session')?.includes('"tenant":"demo"')), 'session in sessionStorage');
    assert.equal(await page.evaluate(() => document.cookie), '', 'no cookie');
    await shoot(page, 'dags');
  });

  test('a DAG version: the graph is drawn left to right, with its signer', async () => {
    await page.getByRole('link', { name: 'image-scan', exact: true }).click();
    await page.locator('.graph svg .node').first().waitFor();
    assert.equal(await page.locator('.graph svg .node').count(), 7);
    assert.equal(await page.locator('.graph svg .edge').count(), 9);
    const x = async (id: string) => Number((await page.locator('.graph svg g.node', { hasText: id }).getAttribute('transform'))!.match(/translate\(([\d.]+)/)![1]);
    assert.ok((await x('resolve')) < (await x('scan-vulns')) && (await x('scan-vulns')) < (await x('merge-report')), 'columns by depth');
    await page.getByText('c2edf5c6a7588583d10db3ea207e22880c4ee3a9af7c3c112f863dc78a053f0d').first().waitFor();
    await page.getByRole('button', { name: 'Disable this version' }).waitFor();
    await shoot(page, 'dag');
  });

  test('start hello from the form and watch its steps turn completed without a reload', async () => {
    const blocker = await h.server.req('POST', '/runs', { tenant: T, body: { dagId: 'sleepy' } });
    assert.equal(blocker.status, 201, blocker.text);
    await page.evaluate(() => ((window as unknown as { marker: number }).marker = 17));
    await page.getByRole('link', { name: 'Runs', exact: true }).click();
    await page.getByRole('link', { name: 'Start a run' }).click();
    await page.getByLabel('DAG', { exact: true }).selectOption('hello');
    await page.getByLabel('name').fill('console');
    await shoot(page, 'start');
    await page.getByRole('button', { name: 'Start run' }).click();
    await page.waitForURL(/#\/runs\/[0-9a-f-]{36}$/);
    // Held in the queue by the blocker: not completed yet.
    await page.locator('.run-status .status', { hasText: 'queued' }).waitFor();
    assert.equal(await stepStatus('greet').textContent(), 'pending');
    const cancel = await h.server.req('POST', `/runs/${blocker.body.runId}:cancel`, { tenant: T, body: {} });
    assert.equal(cancel.status, 202, cancel.text);
    await page.locator('tr[data-step="greet"] .status', { hasText: 'completed' }).waitFor();
    await page.locator('.run-status .status', { hasText: 'completed' }).waitFor();
    assert.equal(await page.evaluate(() => (window as unknown as { marker?: number }).marker), 17, 'no reload');
    const runId = page.url().split('/').pop()!;
    const run = await runToEnd(h, T, runId);
    assert.deepEqual(run.steps[0].outputs.inputs, { name: 'console' }, 'the form sent the inputs');
    await page.getByText(runId.slice(0, 8)).first().waitFor();
    await shoot(page, 'run');
  });

  test("a step's log, rendered with levels, and its artifacts downloaded", async () => {
    const started = await h.server.req('POST', '/runs', { tenant: T, body: { dagId: 'chatty', inputs: { report: REPORT } } });
    const run = await runToEnd(h, T, started.body.runId);
    assert.equal(run.status, 'completed', JSON.stringify(run));
    await page.goto(`${h.url}/console/#/runs/${run.runId}`);
    await page.locator('a.node-link', { hasText: 'talk' }).click();
    await page.getByRole('heading', { name: /Step talk/ }).waitFor();
    const log = page.getByRole('list', { name: 'Log lines' });
    await log.locator('li').first().waitFor();
    assert.equal(await log.locator('li').count(), 4);
    assert.match((await log.locator('li.lv-debug').textContent())!, /debug\s+starting the report/);
    assert.match((await log.locator('li.lv-warn').textContent())!, /warn\s+disk almost full.*"freePercent":7/);
    assert.match((await log.locator('li.lv-error').textContent())!, /error\s+could not reach the mirror/);
    await shoot(page, 'step');
    const [report] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download outputs.report' }).click()]);
    assert.equal(readFileSync((await report.path())!, 'utf8'), REPORT);
    const [logFile] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download log' }).click()]);
    assert.match(readFileSync((await logFile.path())!, 'utf8'), /"msg":"could not reach the mirror"/);
  });

  test('bad inputs: a missing required field is caught in the form, an invalid one shows the API answer', async () => {
    await page.goto(`${h.url}/console/#/start?dagId=image-scan`);
    const starts = () => h.requests.filter((u) => u.endsWith('/api/v1/orchestrator/runs')).length;
    const before = starts();
    await page.getByRole('button', { name: 'Start run' }).click();
    await page.locator('#in-image-e', { hasText: 'required' }).waitFor();
    assert.equal(starts(), before, 'nothing sent');
    await page.goto(`${h.url}/console/#/start?dagId=hello`);
    await page.getByLabel('name').fill('x'.repeat(101));
    await page.getByRole('button', { name: 'Start run' }).click();
    await page.getByRole('alert').filter({ hasText: 'INPUTS_INVALID' }).waitFor();
    assert.match(page.url(), /#\/start/, 'still on the form');
  });

  test('an admin disables a DAG version (with a confirmation step)', async () => {
    await publish(h, T, { dagId: 'retired', version: '1.0.0', steps: [{ id: 'x', plugin: 'noop' }], edges: [] });
    await page.goto(`${h.url}/console/#/dags/retired/1.0.0`);
    await page.getByRole('button', { name: 'Disable this version' }).click();
    await page.getByRole('button', { name: 'Keep it active' }).click();
    assert.equal((await h.server.req('GET', '/dags/retired/1.0.0', { tenant: T })).body.active, true, 'kept');
    await page.getByRole('button', { name: 'Disable this version' }).click();
    await page.getByRole('button', { name: 'Confirm: disable 1.0.0' }).click();
    await page.locator('.title .status', { hasText: 'disabled' }).waitFor();
    assert.equal((await h.server.req('GET', '/dags/retired/1.0.0', { tenant: T })).body.active, false);
    assert.equal(await page.getByRole('link', { name: 'Start a run' }).count(), 0, 'no run of a disabled version');
  });

  test('cancel a running sleep run and see it cancelled', async () => {
    await page.goto(`${h.url}/console/#/start?dagId=sleepy`);
    await page.getByRole('button', { name: 'Start run' }).click();
    await page.waitForURL(/#\/runs\/[0-9a-f-]{36}$/);
    await page.locator('tr[data-step="nap"] .status', { hasText: 'running' }).waitFor();
    await page.getByRole('button', { name: /^Cancel run/ }).click();
    await page.locator('.run-status .status', { hasText: 'cancelled' }).waitFor();
    await page.locator('tr[data-step="nap"] .status', { hasText: 'cancelled' }).waitFor();
    const r = await h.server.req('GET', `/runs/${page.url().split('/').pop()}`, { tenant: T });
    assert.equal(r.body.status, 'cancelled');
  });

  test('the runs list shows a new run and its status live', async () => {
    await page.getByRole('link', { name: 'Runs', exact: true }).click();
    await page.locator('table.runs').waitFor();
    const started = await h.server.req('POST', '/runs', { tenant: T, body: { dagId: 'hello', inputs: { name: 'live' } } });
    const row = page.locator(`tr[data-run="${started.body.runId}"]`);
    await row.locator('.status', { hasText: 'completed' }).waitFor();
    assert.equal(await row.locator('code.id').textContent(), `${started.body.runId.slice(0, 8)}…${started.body.runId.slice(-6)}`);
    await page.getByLabel('Status').selectOption('cancelled');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/status=cancelled/);
    await page.locator('table.runs tbody tr').first().waitFor();
    for (const s of await page.locator('table.runs tbody .status').allTextContents()) assert.equal(s, 'cancelled');
    // Paging through the API's page tokens, forward and back.
    await page.goto(`${h.url}/console/#/runs?page_size=1`);
    const only = page.locator('table.runs tbody tr');
    await only.first().waitFor();
    const first = await only.getAttribute('data-run');
    await page.getByRole('button', { name: 'Next page' }).click();
    await page.locator(`table.runs tbody tr:not([data-run="${first}"])`).waitFor();
    const second = await only.getAttribute('data-run');
    assert.notEqual(second, first);
    await page.getByRole('button', { name: 'Previous page' }).click();
    await page.locator(`table.runs tbody tr[data-run="${first}"]`).waitFor();
    assert.equal(await page.getByRole('button', { name: 'Previous page' }).count(), 0);
    await page.goto(`${h.url}/console/#/runs`);
    await page.locator('table.runs').waitFor();
    await shoot(page, 'runs');
  });

  test('a run that ends while the runs page its start asked for is on its way shows its end, not the status the page was read with', async () => {
    await page.goto(`${h.url}/console/#/runs`);
    await page.locator('table.runs').waitFor();
    // Every page read from now on is answered by the server at once and handed to the page only
    // once the run has ended: the page says 'running', the end came before it.
    let ended!: () => void;
    const end = new Promise<void>((r) => (ended = r));
    let held = 0;
    const isPage = (u: URL) => u.pathname.endsWith('/runs') && u.searchParams.has('page_size');
    await page.route(isPage, async (route) => {
      const answer = await route.fetch();
      held++;
      await end;
      await route.fulfill({ response: answer });
    });
    try {
      const started = await h.server.req('POST', '/runs', { tenant: T, body: { dagId: 'sleepy' } });
      assert.equal(started.status, 201, started.text);
      const runId = started.body.runId as string;
      await until(() => held > 0, 'the page reload that the run\'s start asked for');
      assert.equal((await h.server.req('POST', `/runs/${runId}:cancel`, { tenant: T, body: {} })).status, 202);
      await until(async () => (await h.server.req('GET', `/runs/${runId}`, { tenant: T })).body.status === 'cancelled', 'the run cancelled');
      await page.waitForTimeout(300); // its events reach the page before the held page does
      ended();
      await page.locator(`tr[data-run="${runId}"] .status`, { hasText: 'cancelled' }).waitFor({ timeout: 10_000 });
    } finally {
      ended();
      await page.unroute(isPage);
    }
  });

  test('schedules: list with next fire, pause, resume, trigger now; health shows the queues', async () => {
    const created = await h.server.req('POST', '/schedules', {
      tenant: T,
      body: { scheduleId: 'hello-nightly', dagId: 'hello', cron: '30 2 * * *', timezone: 'Europe/Berlin', inputs: { name: 'cron' }, description: 'greets every night' },
    });
    assert.equal(created.status, 201, created.text);
    await page.getByRole('link', { name: 'Schedules', exact: true }).click();
    const row = page.locator('table.list tbody tr', { hasText: 'hello-nightly' });
    await row.waitFor();
    await row.getByText('30 2 * * *').waitFor();
    await row.getByText('Europe/Berlin').waitFor();
    await row.locator(`time[datetime="${created.body.nextFireUtc}"]`).waitFor();
    // Shown in the schedule's own zone (02:30 in Berlin), whatever the browser's zone (UTC here).
    const shown = (await row.locator(`time[datetime="${created.body.nextFireUtc}"]`).textContent()) ?? '';
    assert.match(shown, /\b0?2:30:00\b/, `next fire at the cron's wall time in Europe/Berlin: ${shown}`);
    await shoot(page, 'schedules');
    await row.getByRole('button', { name: 'Pause', exact: true }).click();
    await row.getByRole('button', { name: 'Resume', exact: true }).waitFor();
    assert.equal((await h.server.req('GET', '/schedules/hello-nightly', { tenant: T })).body.paused, true);
    await row.getByRole('button', { name: 'Resume', exact: true }).click();
    await row.getByRole('button', { name: 'Pause', exact: true }).waitFor();
    assert.equal((await h.server.req('GET', '/schedules/hello-nightly', { tenant: T })).body.paused, false);
    await row.getByRole('button', { name: 'Trigger hello-nightly now' }).click();
    let runs: any[] = [];
    await until(async () => (runs = (await h.server.req('GET', '/runs?scheduleId=hello-nightly', { tenant: T })).body.items).length > 0, 'a run of the schedule');
    assert.equal(runs.length, 1, 'Trigger now started one run of the schedule');
    assert.deepEqual(runs[0].dagId, 'hello');
    await page.getByRole('link', { name: 'Health', exact: true }).click();
    const queues = page.locator('table.queues');
    await queues.locator('tr', { hasText: 'demo' }).waitFor();
    await shoot(page, 'health');
  });

  test('nothing left 127.0.0.1 and the CSP refused nothing', () => {
    assertLocalOnly(h.requests);
    assert.ok(h.requests.some((u) => u.includes('/runs/stream')), 'the event stream was used');
    assertNoRefusals(h.messages);
  });
});
