/**
 * Starts a real server on port 0 with a temp data folder, in dev mode (local JWKS), and gives
 * tests a small HTTP client and a token minter. With `TEST_STORE=postgres` (scripts/test.mjs
 * sets it for the second pass of the API and engine tests) the server keeps its records in a
 * fresh PostgreSQL database of the run's cluster (`--store`), dropped when the server stops.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mintToken } from '../../src/auth/index.js';
import { SERVE_FLAGS, serveConfig, type ServeConfig } from '../../src/cli/config.js';
import { parseFlags } from '../../src/cli/args.js';
import { createLogger, startServer, type RunningServer } from '../../src/cli/server.js';
import type { Logger } from 'pino';
import { BASE, FIXTURES, send } from './base.js';
import { testDatabase, type TestDatabase } from './pg.js';

export { BASE, FIXTURES };

export interface TestServer {
  server: RunningServer;
  url: string;
  dataDir: string;
  token(opts?: { tenants?: string[]; scopes?: string[]; ttlSec?: number }): Promise<string>;
  /** JSON request; `tenant` sets X-Stella-Tenant, `token` the bearer (default admin for tenant a). */
  req(method: string, path: string, opts?: ReqOpts): Promise<{ status: number; headers: Headers; body: any; text: string }>;
  stop(): Promise<void>;
}

export interface ReqOpts {
  token?: string | null;
  tenant?: string | null;
  body?: unknown;
  rawBody?: string | Uint8Array;
  headers?: Record<string, string>;
}

/** The test store of this process: `TEST_STORE` (sqlite, the default, or postgres). */
export const TEST_STORE: 'sqlite' | 'postgres' = process.env.TEST_STORE === 'postgres' ? 'postgres' : 'sqlite';

const databases = new Map<string, TestDatabase>();

/**
 * On PostgreSQL, the database of a data folder: created for a new folder, the same one when a
 * test restarts a server on its folder (`existingDataDir`), dropped by `stop()`.
 */
async function storeDatabase(dataDir: string): Promise<TestDatabase | undefined> {
  if (TEST_STORE !== 'postgres') return undefined;
  let db = databases.get(dataDir);
  if (!db) {
    const created = await testDatabase();
    db = { url: created.url, drop: async () => { databases.delete(dataDir); await created.drop(); } };
    databases.set(dataDir, db);
  }
  return db;
}

/**
 * The data folders made here and their work folders, removed when the test file's process
 * exits: a test that closes its server to restart it on the same folder (`server.close()`, not
 * `stop()`) keeps the folder until then, instead of leaving it in the temp folder after every run.
 */
const madeDirs = new Set<string>();
process.once('exit', () => {
  for (const dir of madeDirs) rmSync(dir, { recursive: true, force: true });
});

export async function startTestServer(
  extraArgs: string[] = [],
  overrides: Partial<ServeConfig> = {},
  clock?: { now(): number },
  existingDataDir?: string,
  logger?: Logger,
): Promise<TestServer> {
  const dataDir = existingDataDir ?? mkdtempSync(join(tmpdir(), 'orch-test-'));
  const db = await storeDatabase(dataDir);
  const { flags } = parseFlags(
    ['--dev', '--port', '0', '--data-dir', dataDir, '--trust-dir', join(FIXTURES, 'keys', 'trust'), '--workers', '2', ...(db ? ['--store', db.url] : []), ...extraArgs],
    SERVE_FLAGS,
    {},
  );
  // Every answer is checked against its route's declaration (the OpenAPI document's source).
  const config = { ...serveConfig(flags), validateResponses: true, ...overrides };
  if (existingDataDir === undefined) madeDirs.add(dataDir).add(config.workDir);
  const server = await startServer(config, logger ?? createLogger(process.env.TEST_LOG_LEVEL ?? 'silent'), { clock });
  const keys = server.devKeys!;
  const token = (o: { tenants?: string[]; scopes?: string[]; ttlSec?: number } = {}) =>
    mintToken({
      privateKeyPem: keys.privateKeyPem,
      kid: keys.kid,
      tenants: o.tenants ?? ['a'],
      scopes: o.scopes ?? ['orchestrator:admin'],
      ttlSec: o.ttlSec ?? 600,
      issuer: keys.issuer,
      audience: keys.audience,
    });
  const tokens = new Map<string, string>();
  const defaultToken = async (tenant: string) => {
    if (!tokens.has(tenant)) tokens.set(tenant, await token({ tenants: [tenant] }));
    return tokens.get(tenant)!;
  };
  return {
    server,
    url: server.url,
    dataDir,
    token,
    async req(method, path, opts = {}) {
      const tenant = opts.tenant === undefined ? 'a' : opts.tenant;
      const headers: Record<string, string> = { ...opts.headers };
      const tok = opts.token === undefined ? await defaultToken(tenant ?? 'a') : opts.token;
      if (tok !== null) headers.authorization = `Bearer ${tok}`;
      if (tenant !== null) headers['x-stella-tenant'] = tenant;
      let body: string | Uint8Array | undefined = opts.rawBody;
      if (opts.body !== undefined) {
        body = JSON.stringify(opts.body);
        headers['content-type'] ??= 'application/json';
      }
      const res = await send(server.url + (path.startsWith("/api") ? path : BASE + path), { method, headers, body: body as BodyInit | undefined });
      const text = await res.text();
      let parsed: unknown = undefined;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        parsed = undefined;
      }
      return { status: res.status, headers: res.headers, body: parsed, text };
    },
    async stop() {
      await server.close();
      await db?.drop();
      rmSync(dataDir, { recursive: true, force: true });
      rmSync(`${dataDir}-work`, { recursive: true, force: true });
    },
  };
}
