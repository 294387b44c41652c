/**
 * Hostile world, tenancy: a fast-check property drives random sequences of operations by two
 * tenants (publish, start, cancel, read runs and steps and DAGs and artifacts, list with
 * filters and page tokens, stream events, export, health and metrics with tenant-scoped
 * tokens) and checks that nothing either tenant receives — status line, header, body, stream
 * event or export line — carries the other's ids, DAG names, run ids, artifact and event
 * hashes or trace ids, and that every read of the other tenant's resource is answered exactly
 * like a read of one that does not exist. Then the collisions: the same DAG version, runToken,
 * Idempotency-Key and artifact bytes in both tenants stay two independent things.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { uuidv7 } from '../../src/core/index.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { waitForRun } from '../runs/helpers.js';
import { BASE, jsonOf, sleep, type Res } from './support.js';

const SCALE = Number(process.env.HOSTILE_RUNS ?? 1);
const TENANTS = ['tenant-alpha', 'tenant-bravo'] as const;
type Tenant = (typeof TENANTS)[number];
const short = (x: Tenant) => (x === 'tenant-alpha' ? 'alpha' : 'bravo');
const other = (x: Tenant): Tenant => (x === 'tenant-alpha' ? 'tenant-bravo' : 'tenant-alpha');

interface Book {
  /** What only this tenant may ever see. */
  secrets: Set<string>;
  dags: Array<{ dagId: string; version: string }>;
  runs: string[];
  artifacts: string[];
  pageTokens: string[];
}

let t: TestServer;
const books = new Map<Tenant, Book>();
const tokens = new Map<string, string>();
const stats = { ops: 0, requests: 0, crossReads: 0, streamEvents: 0, exportLines: 0 };

before(async () => {
  t = await startTestServer(['--allow-unsigned', '--rate-limit', '100000', '--workers', '1']);
  for (const x of TENANTS) {
    books.set(x, { secrets: new Set([x, `${short(x)}-dag-`, `${short(x)} secret`, `${short(x)}-tok-`, `${short(x)}-owner`]), dags: [], runs: [], artifacts: [], pageTokens: [] });
    tokens.set(`${x}:admin`, await t.token({ tenants: [x], scopes: ['orchestrator:admin'] }));
    tokens.set(`${x}:read`, await t.token({ tenants: [x], scopes: ['orchestrator:read'] }));
    tokens.set(`${x}:write`, await t.token({ tenants: [x], scopes: ['orchestrator:write'] }));
  }
});
after(async () => {
  console.log(`tenancy: ${stats.ops} random operations, ${stats.requests} requests, ${stats.crossReads} cross-tenant reads answered exactly like missing ids, ${stats.streamEvents} stream events and ${stats.exportLines} export lines checked`);
  await t.stop();
});

/**
 * Values in a response body that identify the caller's own data (all DAGs, inputs and outputs
 * here hold tenant-specific text, so their hashes are unique to one tenant). Not the export
 * manifest's `sha256`: two empty exports share the hash of nothing.
 */
const OWN_KEYS = new Set(['runId', 'traceId', 'dagHash', 'hash', 'inputsHash', 'outputsHash', 'prevHash']);
/** Hashes of no content, which any tenant may legitimately hold (a run cancelled before any step completed has outputsHash = H('{}')). */
const CONTENT_FREE = new Set(['', '{}', '[]', 'null'].map((x) => createHash('sha256').update(x).digest('hex')));

function harvest(x: Tenant, v: unknown): void {
  const secrets = books.get(x)!.secrets;
  const stack = [v];
  while (stack.length) {
    const cur = stack.pop();
    if (cur === null || typeof cur !== 'object') continue;
    for (const [k, child] of Object.entries(cur)) {
      if (OWN_KEYS.has(k) && typeof child === 'string' && child.length >= 32 && !CONTENT_FREE.has(child)) secrets.add(child);
      else if (child && typeof child === 'object') stack.push(child);
    }
  }
}

/** Fails if `seen` (anything tenant `x` received) holds a secret of the other tenant it did not send itself. */
function assertNoLeak(x: Tenant, seen: string, sent: string, what: string): void {
  for (const s of books.get(other(x))!.secrets) {
    if (sent.includes(s)) continue;
    assert.ok(!seen.includes(s), `${what}: ${x} received ${JSON.stringify(s)} of ${other(x)}:\n${seen.slice(0, 600)}`);
  }
}

interface Call {
  method: string;
  path: string;
  body?: unknown;
  role?: 'admin' | 'read' | 'write';
  headers?: Record<string, string>;
  tenantHeader?: boolean;
  /** Skip the leak check (the collision cases share content hashes by construction). */
  unchecked?: boolean;
}

async function call(x: Tenant, c: Call): Promise<Res> {
  const headers: Record<string, string> = { authorization: `Bearer ${tokens.get(`${x}:${c.role ?? 'admin'}`)}`, ...c.headers };
  if (c.tenantHeader !== false) headers['x-stella-tenant'] = x;
  if (c.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${t.url}${BASE}${c.path}`, { method: c.method, headers, body: c.body === undefined ? undefined : JSON.stringify(c.body) });
  const text = await res.text();
  stats.requests++;
  const out = { status: res.status, headers: res.headers, body: jsonOf(text), text };
  const seen = `${res.status} ${[...res.headers].map(([k, v]) => `${k}: ${v}`).join('\n')}\n${text}`;
  const sent = `${c.path}\n${JSON.stringify(c.body ?? null)}`;
  assert.ok(res.status < 500, `${c.method} ${c.path}: ${res.status} ${text.slice(0, 200)}`);
  if (c.unchecked) return out;
  assertNoLeak(x, seen, sent, `${x} ${c.method} ${c.path}`);
  if (res.status < 300 && out.body) harvest(x, out.body);
  if (res.status < 300 && /x-ndjson/.test(res.headers.get('content-type') ?? '')) {
    for (const line of text.split('\n').filter(Boolean)) {
      harvest(x, JSON.parse(line));
      stats.exportLines++;
    }
  }
  const tp = res.headers.get('traceparent');
  if (tp) books.get(x)!.secrets.add(tp.split('-')[1]!);
  return out;
}

/** The comparable part of a response: status, error code/message/details and header names. */
function shape(r: Res): unknown {
  const names = [...r.headers.keys()].filter((k) => !['date', 'traceparent', 'content-length'].includes(k)).sort();
  const e = r.body?.error;
  return { status: r.status, names, body: e ? { code: e.code, message: e.message, details: e.details } : r.body };
}

/** `x` reads the other tenant's resource and a missing one: the two answers must be identical. */
async function sameAsMissing(x: Tenant, theirs: Call, missing: Call, want: number): Promise<void> {
  const a = await call(x, theirs);
  const b = await call(x, missing);
  assert.equal(a.status, want, `${x} ${theirs.method} ${theirs.path}: ${a.text.slice(0, 200)}`);
  assert.deepEqual(shape(a), shape(b), `${x}: ${theirs.method} ${theirs.path} differs from a missing id (${missing.path})`);
  stats.crossReads++;
}

const pick = <T>(xs: T[], i: number): T | undefined => (xs.length ? xs[i % xs.length] : undefined);
const missingRun = () => uuidv7();
const missingHash = () => randomBytes(32).toString('hex');

type Op =
  | { kind: 'publish'; k: number; v: number }
  | { kind: 'start'; i: number; token: boolean }
  | { kind: 'startTheirs'; i: number }
  | { kind: 'cancel'; i: number; theirs: boolean }
  | { kind: 'getRun'; i: number; theirs: boolean }
  | { kind: 'steps'; i: number; theirs: boolean }
  | { kind: 'getDag'; i: number; theirs: boolean }
  | { kind: 'disableTheirs'; i: number }
  | { kind: 'artifact'; i: number; theirs: boolean }
  | { kind: 'lists'; i: number; theirs: boolean }
  | { kind: 'pageToken'; i: number }
  | { kind: 'stream' }
  | { kind: 'exports'; which: number }
  | { kind: 'admin' };

const opArb: fc.Arbitrary<{ who: Tenant; op: Op }> = fc.record({
  who: fc.constantFrom(...TENANTS),
  op: fc.oneof(
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('publish' as const), k: fc.nat(2), v: fc.nat(1) }) },
    { weight: 4, arbitrary: fc.record({ kind: fc.constant('start' as const), i: fc.nat(), token: fc.boolean() }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('startTheirs' as const), i: fc.nat() }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('cancel' as const), i: fc.nat(), theirs: fc.boolean() }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('getRun' as const), i: fc.nat(), theirs: fc.boolean() }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('steps' as const), i: fc.nat(), theirs: fc.boolean() }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('getDag' as const), i: fc.nat(), theirs: fc.boolean() }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('disableTheirs' as const), i: fc.nat() }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('artifact' as const), i: fc.nat(), theirs: fc.boolean() }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('lists' as const), i: fc.nat(), theirs: fc.boolean() }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('pageToken' as const), i: fc.nat() }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('stream' as const) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('exports' as const), which: fc.nat(2) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('admin' as const) }) },
  ),
});

function dagBody(x: Tenant, k: number, v: number): Record<string, unknown> {
  const p = short(x);
  return {
    dagId: `${p}-dag-${k}`,
    version: `1.0.${v}`,
    metadata: { owner: `${p}-owner` },
    steps: [
      { id: 'mk', plugin: 'artifact', with: { content: `${p} secret ${k}.${v} \${{ inputs.n }}` } },
      { id: 'say', plugin: 'echo', with: { who: `${p}-owner`, n: '${{ inputs.n }}' } },
    ],
    edges: [{ from: 'mk', to: 'say' }],
  };
}

/** Records the artifacts a run of `x` produced (once it has). */
async function learnArtifacts(x: Tenant, runId: string): Promise<void> {
  const r = await call(x, { method: 'GET', path: `/runs/${runId}`, role: 'read' });
  const h = r.body?.steps?.find((s: any) => s.stepId === 'mk')?.outputs?.hash;
  if (typeof h === 'string' && !books.get(x)!.artifacts.includes(h)) books.get(x)!.artifacts.push(h);
}

async function exec(x: Tenant, op: Op): Promise<void> {
  stats.ops++;
  const mine = books.get(x)!;
  const theirs = books.get(other(x))!;
  const p = short(x);
  switch (op.kind) {
    case 'publish': {
      const r = await call(x, { method: 'POST', path: '/dags', body: dagBody(x, op.k, op.v) });
      assert.ok(r.status === 201 || r.status === 200, `publish: ${r.text}`);
      if (r.status === 201) mine.dags.push({ dagId: r.body.dagId, version: r.body.version });
      return;
    }
    case 'start': {
      const d = pick(mine.dags, op.i);
      if (!d) return;
      const body: Record<string, unknown> = { dagId: d.dagId, inputs: { n: `${p}-n-${op.i % 1000}` } };
      if (op.token) body.runToken = `${p}-tok-${op.i % 4}`;
      const r = await call(x, { method: 'POST', path: '/runs', body, role: 'write' });
      assert.ok([201, 200, 409, 422].includes(r.status), `start: ${r.status} ${r.text}`);
      if (r.status === 201) mine.runs.push(r.body.runId);
      return;
    }
    case 'startTheirs': {
      const d = pick(theirs.dags, op.i);
      if (!d) return;
      return sameAsMissing(x, { method: 'POST', path: '/runs', body: { dagId: d.dagId }, role: 'write' }, { method: 'POST', path: '/runs', body: { dagId: `${p}-nope-${op.i % 9}` }, role: 'write' }, 404);
    }
    case 'cancel': {
      if (!op.theirs) {
        const id = pick(mine.runs, op.i);
        if (!id) return;
        const r = await call(x, { method: 'POST', path: `/runs/${id}:cancel`, body: { reason: `${p} changed its mind` }, role: 'write' });
        assert.ok(r.status === 200 || r.status === 202, r.text);
        return;
      }
      const id = pick(theirs.runs, op.i);
      if (!id) return;
      return sameAsMissing(x, { method: 'POST', path: `/runs/${id}:cancel`, body: {}, role: 'write' }, { method: 'POST', path: `/runs/${missingRun()}:cancel`, body: {}, role: 'write' }, 404);
    }
    case 'getRun': {
      const id = pick(op.theirs ? theirs.runs : mine.runs, op.i);
      if (!id) return;
      if (!op.theirs) return void (await learnArtifacts(x, id));
      return sameAsMissing(x, { method: 'GET', path: `/runs/${id}`, role: 'read' }, { method: 'GET', path: `/runs/${missingRun()}`, role: 'read' }, 404);
    }
    case 'steps': {
      const id = pick(op.theirs ? theirs.runs : mine.runs, op.i);
      if (!id) return;
      if (!op.theirs) {
        assert.equal((await call(x, { method: 'GET', path: `/runs/${id}/steps?page_size=1`, role: 'read' })).status, 200);
        assert.equal((await call(x, { method: 'GET', path: `/runs/${id}/steps/mk`, role: 'read' })).status, 200);
        return;
      }
      const gone = missingRun();
      await sameAsMissing(x, { method: 'GET', path: `/runs/${id}/steps`, role: 'read' }, { method: 'GET', path: `/runs/${gone}/steps`, role: 'read' }, 404);
      return sameAsMissing(x, { method: 'GET', path: `/runs/${id}/steps/mk`, role: 'read' }, { method: 'GET', path: `/runs/${gone}/steps/mk`, role: 'read' }, 404);
    }
    case 'getDag': {
      const d = pick(op.theirs ? theirs.dags : mine.dags, op.i);
      if (!d) return;
      if (!op.theirs) return void assert.equal((await call(x, { method: 'GET', path: `/dags/${d.dagId}/${d.version}`, role: 'read' })).status, 200);
      return sameAsMissing(x, { method: 'GET', path: `/dags/${d.dagId}/${d.version}`, role: 'read' }, { method: 'GET', path: `/dags/${p}-nope-${op.i % 9}/${d.version}`, role: 'read' }, 404);
    }
    case 'disableTheirs': {
      const d = pick(theirs.dags, op.i);
      if (!d) return;
      return sameAsMissing(x, { method: 'POST', path: `/dags/${d.dagId}/${d.version}:disable`, body: {} }, { method: 'POST', path: `/dags/${p}-nope-${op.i % 9}/${d.version}:disable`, body: {} }, 404);
    }
    case 'artifact': {
      const h = pick(op.theirs ? theirs.artifacts : mine.artifacts, op.i);
      if (!h) return;
      if (!op.theirs) return void assert.equal((await call(x, { method: 'GET', path: `/artifacts/sha256:${h}`, role: 'read' })).status, 200);
      const miss = missingHash();
      await sameAsMissing(x, { method: 'GET', path: `/artifacts/${h}`, role: 'read' }, { method: 'GET', path: `/artifacts/${miss}`, role: 'read' }, 404);
      return sameAsMissing(x, { method: 'GET', path: `/artifacts/sha256:${h}`, role: 'read', headers: { 'if-none-match': `"${h}"` } }, { method: 'GET', path: `/artifacts/sha256:${miss}`, role: 'read', headers: { 'if-none-match': `"${miss}"` } }, 404);
    }
    case 'lists': {
      const d = pick(op.theirs ? theirs.dags : mine.dags, op.i);
      const filter = d ? `?dagId=${d.dagId}` : '';
      for (const path of ['/runs', '/dags']) {
        const r = await call(x, { method: 'GET', path: `${path}${filter}${filter ? '&' : '?'}page_size=1`, role: 'read' });
        assert.equal(r.status, 200, r.text);
        if (op.theirs && d) {
          assert.deepEqual(r.body.items, [], `${path} filtered by the other tenant's dagId is empty`);
          const m = await call(x, { method: 'GET', path: `${path}?dagId=${p}-nope-${op.i % 9}&page_size=1`, role: 'read' });
          assert.deepEqual(shape(r), shape(m));
          stats.crossReads++;
        }
        if (r.body.next_page_token) mine.pageTokens.push(`${path}${filter}${filter ? '&' : '?'}page_size=1&page_token=${encodeURIComponent(r.body.next_page_token)}`);
      }
      return;
    }
    case 'pageToken': {
      const own = pick(mine.pageTokens, op.i);
      if (own) assert.equal((await call(x, { method: 'GET', path: own, role: 'read' })).status, 200);
      const their = pick(theirs.pageTokens, op.i);
      if (!their) return;
      const forged = their.replace(/page_token=[^&]*/, `page_token=${randomBytes(24).toString('base64url')}.${randomBytes(32).toString('base64url')}`);
      return sameAsMissing(x, { method: 'GET', path: their, role: 'read' }, { method: 'GET', path: forged, role: 'read' }, 400);
    }
    case 'stream': {
      const ac = new AbortController();
      const res = await fetch(`${t.url}${BASE}/runs/stream?since=0`, {
        headers: { authorization: `Bearer ${tokens.get(`${x}:read`)}`, 'x-stella-tenant': x, accept: 'application/x-ndjson' },
        signal: ac.signal,
      });
      assert.equal(res.status, 200);
      let text = '';
      const reader = res.body!.getReader();
      const stop = setTimeout(() => ac.abort(), 300);
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          text += Buffer.from(value).toString('utf8');
        }
      } catch {
        /* aborted */
      }
      clearTimeout(stop);
      for (const line of text.split('\n').filter((l) => l.trim())) {
        const e = JSON.parse(line);
        if (e.type === 'heartbeat') continue;
        assert.equal(e.tenant, x, 'a stream carries its own tenant\'s events only');
        harvest(x, e);
        stats.streamEvents++;
      }
      assertNoLeak(x, text, '', `${x} event stream`);
      return;
    }
    case 'exports': {
      const path = ['/dags:export', '/runs:export', '/events:export'][op.which]!;
      const r = await call(x, { method: 'GET', path, role: 'read' });
      assert.equal(r.status, 200);
      for (const line of r.text.split('\n').filter(Boolean)) {
        const o = JSON.parse(line);
        if (!o.manifest) assert.equal(o.tenant, x, `${path}: only ${x}'s records`);
      }
      return;
    }
    case 'admin': {
      const h = await call(x, { method: 'GET', path: '/admin/health', tenantHeader: false });
      assert.equal(h.status, 200, h.text);
      assert.deepEqual(h.body.queues.map((q: any) => q.tenant), [x], 'health lists the token\'s tenants only');
      const m = await call(x, { method: 'GET', path: '/admin/metrics', tenantHeader: false });
      assert.equal(m.status, 200);
      for (const l of m.text.split('\n')) {
        const found = /tenant="([^"]*)"/.exec(l)?.[1];
        if (found !== undefined) assert.equal(found, x, `metrics line for another tenant: ${l}`);
      }
      return;
    }
  }
}

describe('tenant isolation', () => {
  test('random operations by two tenants never reveal one tenant\'s ids, names, hashes or trace ids to the other; its resources answer 404 exactly like missing ones', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 6, maxLength: 16 }), async (ops) => {
        for (const { who, op } of ops) await exec(who, op);
      }),
      { numRuns: Math.round(30 * SCALE), endOnFailure: true, includeErrorInReport: true },
    );
    // Let every run end, then look at everything once more: full exports, full streams, every
    // run and artifact of each tenant read by the other.
    for (const x of TENANTS) for (const id of books.get(x)!.runs) await waitForRun(t, id, { tenant: x, timeoutMs: 30_000 });
    for (const x of TENANTS) {
      for (const id of books.get(x)!.runs) await learnArtifacts(x, id);
      for (const which of [0, 1, 2]) await exec(x, { kind: 'exports', which });
      await exec(x, { kind: 'stream' });
      await exec(x, { kind: 'admin' });
    }
    for (const x of TENANTS) {
      const theirs = books.get(other(x))!;
      for (let i = 0; i < theirs.runs.length; i++) await exec(x, { kind: 'getRun', i, theirs: true });
      for (let i = 0; i < theirs.artifacts.length; i++) await exec(x, { kind: 'artifact', i, theirs: true });
    }
    const counts = TENANTS.map((x) => `${x}: ${books.get(x)!.dags.length} DAG versions, ${books.get(x)!.runs.length} runs, ${books.get(x)!.artifacts.length} artifacts, ${books.get(x)!.secrets.size} secrets`);
    console.log(`tenancy: ${counts.join('; ')}`);
    assert.ok(books.get('tenant-alpha')!.runs.length > 0 && books.get('tenant-bravo')!.runs.length > 0, 'both tenants ran something');
  });

  test('collisions stay separate: the same DAG version, runToken, Idempotency-Key and artifact bytes in two tenants are two independent things', async () => {
    const [a, b] = TENANTS;
    const dag = (who: string) => ({ dagId: 'shared-name', version: '1.0.0', metadata: { who }, steps: [{ id: 'mk', plugin: 'artifact', with: { content: 'the very same bytes' } }] });
    const pa = await call(a, { method: 'POST', path: '/dags', body: dag('a'), unchecked: true });
    assert.equal(pa.status, 201);
    // b's different content under the same dagId+version is a new version of b's, not a 409 that would reveal a's.
    const pb = await call(b, { method: 'POST', path: '/dags', body: dag('b'), unchecked: true });
    assert.equal(pb.status, 201, pb.text);
    assert.notEqual(pa.body.hash, pb.body.hash);
    const ra = await call(a, { method: 'POST', path: '/runs', body: { dagId: 'shared-name', runToken: 'same-token' }, headers: { 'idempotency-key': 'same-key' }, unchecked: true });
    const rb = await call(b, { method: 'POST', path: '/runs', body: { dagId: 'shared-name', runToken: 'same-token' }, headers: { 'idempotency-key': 'same-key' }, unchecked: true });
    assert.equal(ra.status, 201);
    assert.equal(rb.status, 201, `b's runToken and Idempotency-Key are b's own: ${rb.text}`);
    assert.equal(rb.headers.get('idempotency-replayed'), null, 'no replay of a\'s answer');
    assert.notEqual(ra.body.runId, rb.body.runId);
    const da = await waitForRun(t, ra.body.runId, { tenant: a });
    const db = await waitForRun(t, rb.body.runId, { tenant: b });
    const ha = da.steps[0].outputs.hash;
    assert.equal(ha, db.steps[0].outputs.hash, 'same bytes, same content hash');
    // Each tenant owns its copy: both read it; a third tenant that never wrote it cannot.
    assert.equal((await call(a, { method: 'GET', path: `/artifacts/${ha}`, role: 'read', unchecked: true })).status, 200);
    assert.equal((await call(b, { method: 'GET', path: `/artifacts/${ha}`, role: 'read', unchecked: true })).status, 200);
    const c = await t.req('GET', `/artifacts/${ha}`, { tenant: 'tenant-charlie' });
    const miss = await t.req('GET', `/artifacts/${missingHash()}`, { tenant: 'tenant-charlie' });
    assert.deepEqual(shape(c), shape(miss), 'a tenant that never wrote the bytes cannot read them');
    // A disable by b leaves a's version active.
    assert.equal((await call(b, { method: 'POST', path: '/dags/shared-name/1.0.0:disable', body: {}, unchecked: true })).status, 200);
    assert.equal((await call(a, { method: 'GET', path: '/dags/shared-name/1.0.0', role: 'read', unchecked: true })).body.active, true);
    await sleep(10);
  });
});
