/**
 * Browser tests of the web console: a real server (port 0, temp data folder, sample DAGs of
 * fixtures/ preloaded into tenant demo) behind a TCP proxy the tests can cut (a network drop),
 * and Debian's Chromium driven by playwright-core with a fresh profile. Every request the
 * pages make is logged, so a test can prove that nothing left 127.0.0.1; console messages are
 * kept, so it can prove the CSP refused nothing.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { FIXTURES, startTestServer, type TestServer } from '../helpers/server.js';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const ROOT = join(import.meta.dirname, '..', '..');
/**
 * Where screenshots go: `docs/console/` when `UPDATE_SCREENSHOTS=1` (`npm run screenshots`), else a
 * temp folder, so a plain `npm test` still takes every screenshot but leaves the tree clean.
 */
export const SHOTS = process.env.UPDATE_SCREENSHOTS === '1' ? join(ROOT, 'docs', 'console') : mkdtempSync(join(tmpdir(), 'orch-console-shots-'));
const ARGS = ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];

/** A TCP proxy to the server that can drop every connection and refuse new ones for a while. */
export class DropProxy {
  private readonly sockets = new Set<Socket>();
  private up = true;
  private constructor(private readonly server: Server, readonly url: string) {}

  static async start(targetPort: number): Promise<DropProxy> {
    let self: DropProxy | undefined;
    const server = createServer((client) => {
      if (!self!.up) return void client.destroy();
      const upstream = createConnection({ host: '127.0.0.1', port: targetPort });
      for (const s of [client, upstream]) {
        self!.sockets.add(s);
        s.on('close', () => self!.sockets.delete(s));
        s.on('error', () => {});
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
    const port = (server.address() as { port: number }).port;
    self = new DropProxy(server, `http://127.0.0.1:${port}`);
    return self;
  }

  /** Cuts every open connection; new ones are refused until {@link restore}. */
  drop(): void {
    this.up = false;
    for (const s of this.sockets) s.destroy();
  }

  restore(): void {
    this.up = true;
  }

  async close(): Promise<void> {
    this.drop();
    await new Promise<void>((res) => this.server.close(() => res()));
  }
}

export interface Harness {
  server: TestServer;
  proxy: DropProxy;
  /** The console as the browser sees it (through the proxy). */
  url: string;
  context: BrowserContext;
  /** Every URL any page requested, in order. */
  requests: string[];
  /** Console messages of every page (`type: text`). */
  messages: string[];
  page(): Promise<Page>;
  close(): Promise<void>;
}

export async function startHarness(extraArgs: string[] = []): Promise<Harness> {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install chromium (.ci/run installs it)`);
  const server = await startTestServer([
    '--dags-dir', join(FIXTURES, 'dags'),
    '--plugins-dir', join(ROOT, 'test', 'fixtures', 'plugins', 'console'),
    '--allow-unsigned',
    ...extraArgs,
  ]);
  const proxy = await DropProxy.start(server.server.port);
  const profile = mkdtempSync(join(tmpdir(), 'orch-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport: { width: 1280, height: 800 },
    acceptDownloads: true,
  });
  const requests: string[] = [];
  const messages: string[] = [];
  context.on('request', (r) => requests.push(r.url()));
  const watch = (p: Page) => {
    p.on('console', (m) => messages.push(`${m.type()}: ${m.text()}`));
    p.on('pageerror', (e) => messages.push(`pageerror: ${e.message}`));
  };
  context.on('page', watch);
  for (const p of context.pages()) watch(p);
  return {
    server,
    proxy,
    url: proxy.url,
    context,
    requests,
    messages,
    page: () => context.newPage(),
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
      await proxy.close();
      await server.stop();
    },
  };
}

/** Every request stayed on 127.0.0.1 (blob: downloads are of this origin). */
export function assertLocalOnly(requests: readonly string[]): void {
  assert.ok(requests.length > 0, 'the browser made requests');
  for (const u of requests) {
    const url = new URL(u.startsWith('blob:') ? u.slice(5) : u);
    assert.equal(url.hostname, '127.0.0.1', `request left 127.0.0.1: ${u}`);
  }
}

/** No Content-Security-Policy refusal and no uncaught error on any page. */
export function assertNoRefusals(messages: readonly string[]): void {
  const bad = messages.filter((m) => /Content Security Policy|Refused to|pageerror/i.test(m));
  assert.deepEqual(bad, [], 'CSP refusals or page errors');
}

const SIZES = [
  { name: '1280', width: 1280, height: 800 },
  { name: '390', width: 390, height: 844 },
] as const;

/** Screenshots of the current view at 1280×800 and 390×844 into docs/console/<name>-<width>.png. */
export async function shoot(page: Page, name: string): Promise<void> {
  mkdirSync(SHOTS, { recursive: true });
  for (const s of SIZES) {
    await page.setViewportSize({ width: s.width, height: s.height });
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    await page.screenshot({ path: join(SHOTS, `${name}-${s.name}.png`), animations: 'disabled' });
  }
  await page.setViewportSize({ width: 1280, height: 800 });
}

/** Presses Tab until the focused element matches `selector` (keyboard-only use). */
export async function tabTo(page: Page, selector: string, max = 60): Promise<void> {
  for (let i = 0; i < max; i++) {
    await page.keyboard.press('Tab');
    if (await page.evaluate((s) => document.activeElement?.matches(s) ?? false, selector)) return;
  }
  assert.fail(`Tab never reached ${selector}`);
}

/** Publishes an unsigned DAG (the harness server runs with --allow-unsigned) into `tenant`. */
export async function publish(h: Harness, tenant: string, doc: Record<string, unknown>): Promise<void> {
  const r = await h.server.req('POST', '/dags', { tenant, body: doc });
  assert.ok(r.status === 201 || r.status === 200, `publish ${String(doc.dagId)}: ${r.status} ${r.text}`);
}

/** Polls the API until the run ends (for set-up outside the browser). */
export async function runToEnd(h: Harness, tenant: string, runId: string): Promise<any> {
  for (;;) {
    const r = await h.server.req('GET', `/runs/${runId}`, { tenant });
    assert.equal(r.status, 200, r.text);
    if (['completed', 'failed', 'cancelled'].includes(r.body.status)) return r.body;
    await new Promise((res) => setTimeout(res, 50));
  }
}
