/**
 * Shared helpers of the hostile-world suite: the error-envelope check, concrete paths for the
 * route table, raw HTTP over `net` sockets (to control framing byte by byte), a read-only view
 * of the database (row counts, integrity) and the tenant's exports (to prove that a refused
 * request changed nothing).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statfsSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { RouteDef } from '../../src/http/index.js';
import { BASE } from '../helpers/base.js';
import type { TestServer } from '../helpers/server.js';

export { BASE };

/** The error codes of CONTRACT §2 (and 405, 408, 431), the only ones a client may ever see. */
export const CODES = new Set([
  'UNAUTHENTICATED', 'TENANT_REQUIRED', 'TENANT_FORBIDDEN', 'INSUFFICIENT_SCOPE', 'VALIDATION_FAILED',
  'INVALID_PAGE_TOKEN', 'IDEMPOTENCY_KEY_REQUIRED', 'NOT_FOUND', 'METHOD_NOT_ALLOWED', 'DAG_VERSION_EXISTS',
  'RUN_TOKEN_CONFLICT', 'IDEMPOTENCY_IN_FLIGHT', 'IDEMPOTENCY_KEY_REUSED', 'PAYLOAD_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE', 'DAG_INVALID', 'SIGNATURE_INVALID', 'INPUTS_INVALID', 'DAG_DISABLED',
  'PLUGIN_UNAVAILABLE',
  'RATE_LIMITED', 'QUOTA_EXCEEDED', 'INSUFFICIENT_STORAGE', 'UNAVAILABLE', 'INTERNAL', 'REQUEST_TIMEOUT', 'HEADERS_TOO_LARGE',
]);

export const SAMPLE: Record<string, string> = {
  dagId: 'no-such-dag',
  version: '9.9.9',
  runId: '01900000-0000-7000-8000-000000000000',
  stepId: 'no-such-step',
  hash: '0'.repeat(64),
};

/** The route's path under the base path, its parameters filled from `values` (then SAMPLE). */
export function concrete(r: RouteDef, values: Record<string, string> = {}): string {
  return r.path.replace(/\{([A-Za-z0-9_]+)\}/g, (_m, n: string) => encodeURIComponent(values[n] ?? SAMPLE[n] ?? 'x'));
}

/** Whether a request of this method carries a body (the pipeline reads one for POST and PUT). */
export function takesBody(method: string): boolean {
  return method === 'POST' || method === 'PUT';
}

/** Path parameter names of a route, in order. */
export function paramNames(r: RouteDef): string[] {
  return [...r.path.matchAll(/\{([A-Za-z0-9_]+)\}/g)].map((m) => m[1]!);
}

/** Top-level keys of a route's query schema (zod object shape). */
export function queryKeys(r: RouteDef): string[] {
  const shape = (r.query as unknown as { shape?: Record<string, unknown> } | undefined)?.shape;
  return shape ? Object.keys(shape) : [];
}

export interface Res {
  status: number;
  headers: Headers;
  body: any;
  text: string;
}

/** Asserts the error envelope of CONTRACT §1, its trace id agreeing with `traceparent`. */
export function assertEnvelope(res: Res, status: number | null, code: string | null, what: string): void {
  if (status !== null) assert.equal(res.status, status, `${what}: status (${res.text.slice(0, 300)})`);
  assert.ok(res.body && typeof res.body === 'object' && res.body.error, `${what}: an error envelope (${res.text.slice(0, 300)})`);
  const e = res.body.error;
  if (code !== null) assert.equal(e.code, code, `${what}: code`);
  assert.ok(CODES.has(e.code), `${what}: known code ${e.code}`);
  assert.match(e.code, /^[A-Z][A-Z_]*$/);
  assert.equal(typeof e.message, 'string', `${what}: message`);
  assert.match(e.trace_id, /^[0-9a-f]{32}$/, `${what}: trace_id`);
  const tp = res.headers.get('traceparent') ?? '';
  assert.match(tp, /^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/, `${what}: traceparent`);
  assert.equal(e.trace_id, tp.split('-')[1], `${what}: trace ids agree`);
  assert.deepEqual(Object.keys(res.body).sort(), ['error'], `${what}: nothing beside the envelope`);
  for (const k of Object.keys(e)) assert.ok(['code', 'message', 'trace_id', 'details'].includes(k), `${what}: envelope key ${k}`);
  assertNoInternals(res.text, what);
}

/** No stack trace, SQL text or server path in what a client sees. */
export function assertNoInternals(text: string, what: string): void {
  assert.doesNotMatch(text, /\bat [\w.<>]+ \(|node:internal|\.ts:\d+|\.mjs:\d+|\/work\/|\/tmp\/|SQLITE_|sqlite3?\b|\bselect .* from\b|\binsert into\b/i, `${what}: internals leaked: ${text.slice(0, 300)}`);
}

/** A token for tenant `tenant` with the given scopes (admin by default). */
export function tokenFor(t: TestServer, tenant: string, scopes: string[] = ['orchestrator:admin']): Promise<string> {
  return t.token({ tenants: [tenant], scopes });
}

/** Row counts of every table (a second, read-only connection; WAL allows it). */
export function rowCounts(dataDir: string): Record<string, number> {
  const db = new Database(join(dataDir, 'orchestrator.db'), { readonly: true, fileMustExist: true });
  try {
    const tables = db
      .prepare(`select name from sqlite_master where type='table' and name not like 'sqlite_%' order by name`)
      .all() as Array<{ name: string }>;
    return Object.fromEntries(tables.map(({ name }) => [name, (db.prepare(`select count(*) as n from "${name}"`).get() as { n: number }).n]));
  } finally {
    db.close();
  }
}

/** `PRAGMA integrity_check` of a data folder's database, opened read-only. */
export function integrityCheck(dataDir: string): string {
  const db = new Database(join(dataDir, 'orchestrator.db'), { readonly: true, fileMustExist: true });
  try {
    return (db.pragma('integrity_check') as Array<{ integrity_check: string }>).map((r) => r.integrity_check).join('; ');
  } finally {
    db.close();
  }
}

/** The tenant's exports, concatenated (the observable state of its data, schedules included). */
export async function exportsOf(t: TestServer, tenant: string, token?: string): Promise<string> {
  let out = '';
  for (const p of ['/dags:export', '/runs:export', '/events:export', '/schedules:export']) {
    const r = await t.req('GET', p, { tenant, token });
    assert.equal(r.status, 200, `${p}: ${r.text.slice(0, 200)}`);
    out += r.text;
  }
  return out;
}

export interface RawResponse {
  /** 0 when the server closed the connection without answering. */
  status: number;
  headers: Record<string, string>;
  body: string;
  /** Milliseconds from connect until the server closed (or until we gave up). */
  closedAfterMs: number;
  closedByServer: boolean;
  error?: string;
}

/**
 * Speaks HTTP/1.1 by hand: writes `parts` (with `gapMs` between them), then reads until the
 * server closes or `timeoutMs` passes. Handles a chunked or sized response body.
 */
export function rawHttp(
  url: string,
  parts: Array<string | Buffer>,
  opts: { gapMs?: number; timeoutMs?: number; endAfterWrite?: boolean } = {},
): Promise<RawResponse> {
  const { hostname, port } = new URL(url);
  const timeoutMs = opts.timeoutMs ?? 10_000;
  return new Promise((resolve) => {
    const t0 = Date.now();
    const sock = connect({ host: hostname, port: Number(port) });
    const chunks: Buffer[] = [];
    let done = false;
    let error: string | undefined;
    const finish = (closedByServer: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve({ ...parseRaw(Buffer.concat(chunks)), closedAfterMs: Date.now() - t0, closedByServer, error });
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    sock.on('data', (d) => {
      chunks.push(d);
      // Stop reading once a complete sized response is in (keep-alive servers do not close).
      const r = parseRaw(Buffer.concat(chunks));
      if (r.complete && r.status !== 0 && r.headers.connection !== 'close') finish(true);
    });
    sock.on('error', (e: NodeJS.ErrnoException) => {
      error = e.code ?? e.message;
    });
    sock.on('close', () => finish(true));
    sock.on('connect', async () => {
      for (const [i, p] of parts.entries()) {
        if (done || sock.destroyed) return;
        if (i > 0 && opts.gapMs) await new Promise((r) => setTimeout(r, opts.gapMs));
        if (done || sock.destroyed) return;
        const ok = sock.write(p);
        if (!ok) await new Promise<void>((r) => {
          sock.once('drain', () => r());
          sock.once('close', () => r());
        });
      }
      if (opts.endAfterWrite && !sock.destroyed) sock.end();
    });
  });
}

function parseRaw(buf: Buffer): { status: number; headers: Record<string, string>; body: string; complete: boolean } {
  const head = buf.indexOf('\r\n\r\n');
  if (head < 0) return { status: 0, headers: {}, body: '', complete: false };
  const lines = buf.subarray(0, head).toString('latin1').split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '')?.[1] ?? 0);
  const headers: Record<string, string> = {};
  for (const l of lines.slice(1)) {
    const i = l.indexOf(':');
    if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
  }
  const rest = buf.subarray(head + 4);
  if (headers['transfer-encoding']?.toLowerCase() === 'chunked') {
    const out: Buffer[] = [];
    let off = 0;
    for (;;) {
      const eol = rest.indexOf('\r\n', off);
      if (eol < 0) return { status, headers, body: Buffer.concat(out).toString('utf8'), complete: false };
      const size = parseInt(rest.subarray(off, eol).toString('latin1'), 16);
      if (size === 0) return { status, headers, body: Buffer.concat(out).toString('utf8'), complete: true };
      if (rest.length < eol + 2 + size) return { status, headers, body: Buffer.concat(out).toString('utf8'), complete: false };
      out.push(rest.subarray(eol + 2, eol + 2 + size));
      off = eol + 2 + size + 2;
    }
  }
  const len = headers['content-length'] === undefined ? undefined : Number(headers['content-length']);
  const body = len === undefined ? rest : rest.subarray(0, len);
  return { status, headers, body: body.toString('utf8'), complete: len === undefined ? false : rest.length >= len };
}

/** Parses a raw response body as JSON, or undefined. */
export function jsonOf(text: string): any {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * The server answers its probe, ready, and is (or within 10 s becomes again) fully healthy:
 * `degraded` is fine for the moment a replaced worker takes to start (or, with `degradedOk`,
 * for good: a small disk is "low on space").
 */
export async function assertAlive(t: TestServer, what: string, opts: { degradedOk?: boolean } = {}): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const r = await t.req('GET', '/admin/health', { token: null, tenant: null });
    assert.ok(r.status === 200 || r.status === 503, `${what}: the probe answers (${r.status} ${r.text})`);
    assert.equal(r.body?.ready, true, `${what}: ready (${r.text})`);
    if (r.body.status === 'ok' || (opts.degradedOk && r.body.status === 'degraded')) return;
    assert.ok(Date.now() < deadline, `${what}: healthy again within 10 s (${r.text})`);
    await sleep(100);
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Percentile (nearest rank) of a list of numbers. */
export function pct(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

/** Every object of the CAS hashes to its name; no temp file is left (unless `allowTemp`). Returns the object count. */
export function assertCasClean(root: string, opts: { allowTemp?: boolean } = {}): number {
  let objects = 0;
  let shards: string[];
  try {
    shards = readdirSync(root);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 0; // nothing written yet
    throw e;
  }
  for (const shard of shards) {
    assert.ok(opts.allowTemp || !shard.startsWith('.tmp-'), `a temp file at the root: ${shard}`);
    if (!/^[0-9a-f]{2}$/.test(shard)) continue;
    for (const name of readdirSync(join(root, shard))) {
      if (name.startsWith('.tmp-')) {
        assert.ok(opts.allowTemp, `a half-written object is left: ${shard}/${name}`);
        continue; // never named by its hash, so never visible; swept at the next start
      }
      const bytes = readFileSync(join(root, shard, name));
      assert.equal(createHash('sha256').update(bytes).digest('hex'), shard + name, `object ${shard}/${name} is whole`);
      objects++;
    }
  }
  return objects;
}

/** Mounts a tmpfs of `size` on `dir`; returns null, or why it cannot (no privilege). */
export function tryMount(dir: string, size: string): string | null {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0755`, 'tmpfs', dir], { stdio: 'pipe' });
    return null;
  } catch (e) {
    return (e as { stderr?: Buffer }).stderr?.toString().trim() || (e as Error).message;
  }
}

export function umount(dir: string): void {
  try {
    execFileSync('umount', [dir], { stdio: 'pipe' });
  } catch {
    try {
      execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
    } catch {
      /* not mounted */
    }
  }
}

/** Fills a file system, leaving about `leave` bytes free; returns the filler's path. */
export function fill(dir: string, leave: number, name = 'zz-filler.bin'): string {
  const path = join(dir, name);
  const st = statfsSync(dir);
  const free = st.bavail * st.bsize;
  const size = Math.max(0, free - leave);
  try {
    writeFileSync(path, Buffer.alloc(size));
  } catch {
    /* ENOSPC: as full as it gets */
  }
  return path;
}

export function freeBytes(dir: string): number {
  const st = statfsSync(dir);
  return st.bavail * st.bsize;
}
