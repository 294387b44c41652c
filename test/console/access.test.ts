/**
 * The console's access rules and resilience in a real Chromium: keyboard-only use with a
 * visible focus, a second tenant that sees nothing of the first, an expired token (pasted,
 * and expiring mid-session) leading back to sign-in with the API's message, and a network
 * drop after which the event stream resumes with `since` and the page catches up unreloaded.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { mintToken } from '../../src/auth/index.js';
import { assertLocalOnly, assertNoRefusals, publish, runToEnd, startHarness, tabTo, type Harness } from './harness.js';

describe('web console: access and resilience', () => {
  let h: Harness;
  let demoRun: any;
  const token = (tenants: string[], scopes: string[], opts: { now?: number; ttlSec?: number } = {}) => {
    const k = h.server.server.devKeys!;
    return mintToken({ ...k, tenants, scopes, ttlSec: opts.ttlSec ?? 600, now: opts.now });
  };
  const signIn = async (page: Page, tok: string) => {
    await page.goto(`${h.url}/console/`);
    await page.getByLabel('Token').fill(tok);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  };

  before(async () => {
    h = await startHarness();
    await publish(h, 'demo', { dagId: 'chatty', version: '1.0.0', steps: [{ id: 'talk', plugin: 'chatty', with: { report: 'demo secret' } }], edges: [] });
    await publish(h, 'other', { dagId: 'other-dag', version: '1.0.0', steps: [{ id: 'only', plugin: 'echo', with: { n: 1 } }], edges: [] });
    const r = await h.server.req('POST', '/runs', { tenant: 'demo', body: { dagId: 'chatty' } });
    demoRun = await runToEnd(h, 'demo', r.body.runId);
    assert.equal(demoRun.status, 'completed');
  });
  after(async () => h?.close());

  test('keyboard only: sign in, go to Runs, start a run; focus is always visible', async () => {
    const page = await h.page();
    await page.goto(`${h.url}/console/`);
    const focusVisible = () =>
      page.evaluate(() => {
        const s = getComputedStyle(document.activeElement!);
        return s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2;
      });
    await tabTo(page, '#token');
    assert.ok(await focusVisible(), 'focus ring on the token field');
    await page.keyboard.insertText(await token(['other'], ['orchestrator:write']));
    await tabTo(page, '#tenant');
    assert.equal(await page.locator('#tenant').inputValue(), 'other', 'the tenant comes from the token');
    await tabTo(page, 'button[type=submit]');
    assert.ok(await focusVisible(), 'focus ring on Sign in');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'DAGs' }).waitFor();
    await tabTo(page, 'nav a[href="#/runs"]');
    assert.ok(await focusVisible(), 'focus ring on the navigation');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Runs' }).waitFor();
    await tabTo(page, 'a.button.primary');
    await page.keyboard.press('Enter');
    await tabTo(page, '#run-dag');
    await page.keyboard.press('ArrowDown');
    await page.waitForURL(/dagId=other-dag/);
    await tabTo(page, 'button[type=submit]');
    assert.ok(await focusVisible(), 'focus ring on Start run');
    await page.keyboard.press('Enter');
    await page.waitForURL(/#\/runs\/[0-9a-f-]{36}$/);
    await page.locator('.run-status .status', { hasText: 'completed' }).waitFor();
    await tabTo(page, 'a.node-link');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: /Step only/ }).waitFor();
    await page.close();
  });

  test("a second tenant's token shows none of the first tenant's DAGs, runs or artifacts", async () => {
    const page = await h.page();
    const tok = await token(['other'], ['orchestrator:write']);
    await signIn(page, tok);
    await page.getByRole('link', { name: 'other-dag', exact: true }).waitFor();
    for (const id of ['hello', 'image-scan', 'chatty']) assert.equal(await page.getByText(id, { exact: true }).count(), 0, id);
    await page.getByRole('link', { name: 'other-dag', exact: true }).click();
    await page.getByRole('link', { name: 'Start a run' }).waitFor();
    assert.equal(await page.getByRole('button', { name: 'Disable this version' }).count(), 0, 'disable is for admins only');
    await page.getByRole('link', { name: 'Runs', exact: true }).click();
    await page.locator('table.runs tbody tr').first().waitFor();
    for (const d of await page.locator('table.runs tbody tr td[data-label="DAG"]').allTextContents()) assert.match(d, /^other-dag/);
    assert.equal(await page.locator(`tr[data-run="${demoRun.runId}"]`).count(), 0);
    await page.goto(`${h.url}/console/#/runs/${demoRun.runId}`);
    await page.getByRole('alert').filter({ hasText: 'NOT_FOUND' }).waitFor();
    await page.goto(`${h.url}/console/#/runs/${demoRun.runId}/steps/talk`);
    await page.getByRole('alert').filter({ hasText: 'NOT_FOUND' }).waitFor();
    const report = demoRun.steps[0].outputs.report as string;
    const status = await page.evaluate(async (hash) => {
      const s = JSON.parse(sessionStorage.getItem('stella.console.session')!) as { token: string; tenant: string };
      const res = await fetch(`/api/v1/orchestrator/artifacts/${hash}`, { headers: { authorization: `Bearer ${s.token}`, 'x-stella-tenant': s.tenant } });
      return res.status;
    }, report);
    assert.equal(status, 404, "the other tenant's artifact is not found");
    await page.close();
  });

  test('an expired token is refused at sign-in with the API message', async () => {
    const page = await h.page();
    await signIn(page, await token(['demo'], ['orchestrator:read'], { now: Date.now() - 3 * 3600_000, ttlSec: 60 }));
    await page.getByRole('alert').filter({ hasText: 'UNAUTHENTICATED: token expired' }).waitFor();
    assert.equal(await page.getByLabel('Token').count(), 1, 'still on the sign-in form');
    assert.equal(await page.evaluate(() => sessionStorage.length), 0, 'nothing kept');
    await page.close();
  });

  test('a token that expires during the session leads back to sign-in with the server message', async () => {
    const page = await h.page();
    const expiresAt = Date.now() + 15_000;
    await signIn(page, await token(['demo'], ['orchestrator:read'], { now: expiresAt - 60_000, ttlSec: 60 }));
    await page.getByRole('heading', { name: 'DAGs' }).waitFor();
    assert.ok(Date.now() < expiresAt, 'signed in before the token expired (the machine was too slow to test this)');
    await page.getByRole('alert').filter({ hasText: 'Signed out: the token expired' }).waitFor({ timeout: 60_000 });
    await page.getByLabel('Token').waitFor();
    assert.equal(await page.evaluate(() => sessionStorage.length), 0, 'the session is gone');
    await page.close();
  });

  test('after a network drop the stream resumes with since and the page catches up without a reload', async () => {
    const page = await h.page();
    await signIn(page, await token(['demo'], ['orchestrator:write']));
    await page.getByRole('heading', { name: 'DAGs' }).waitFor();
    await page.getByRole('link', { name: 'Runs', exact: true }).click();
    await page.locator('table.runs').waitFor();
    await page.evaluate(() => ((window as unknown as { marker: number }).marker = 17));
    const first = await h.server.req('POST', '/runs', { tenant: 'demo', body: { dagId: 'hello' } });
    await page.locator(`tr[data-run="${first.body.runId}"] .status`, { hasText: 'completed' }).waitFor();
    const before = h.requests.length;
    h.proxy.drop();
    await page.getByRole('status').filter({ hasText: 'Reconnecting…' }).waitFor();
    const second = await h.server.req('POST', '/runs', { tenant: 'demo', body: { dagId: 'hello' } });
    assert.equal((await runToEnd(h, 'demo', second.body.runId)).status, 'completed');
    h.proxy.restore();
    await page.locator(`tr[data-run="${second.body.runId}"] .status`, { hasText: 'completed' }).waitFor({ timeout: 60_000 });
    assert.equal(await page.evaluate(() => (window as unknown as { marker?: number }).marker), 17, 'no reload');
    const resumed = h.requests.slice(before).map((u) => /\/runs\/stream\?since=(\d+)$/.exec(u)).filter((m) => m !== null);
    assert.ok(resumed.length > 0, 'reconnected with since');
    assert.ok(Number(resumed[0]![1]) >= 1);
    await page.close();
  });

  test('nothing left 127.0.0.1 and the CSP refused nothing', () => {
    assertLocalOnly(h.requests);
    assertNoRefusals(h.messages);
  });
});
