/**
 * Hostile world, input: property-based fuzzing of every query string, path parameter and request
 * header of the route table (then mutated with hostile values), lone surrogates and catastrophic
 * patterns in bodies, and HTTP framing attacks over raw sockets. The JSON bodies are fuzzed in
 * input-bodies.test.ts and input-bodies-runs-dags.test.ts.
 * Every refusal is a 4xx envelope (never a 5xx), the server stays alive, and a refused request
 * leaves the database exactly as it was (row counts of every table and the tenant's exports, byte
 * for byte). The world and the checks: ./input-world.ts (the input fuzzing is split over
 * input-*.test.ts so that the files run in parallel).
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isMutating } from '../../src/http/index.js';
import { publish } from '../runs/helpers.js';
import { nastyString, pathValue, queryString } from './fuzz.js';
import { describeReq, ids, judge, pathFor, resettle, routes, runs, send, snapshot, state, t, TENANT, token, useInputWorld, type Sent } from './input-world.js';
import { BASE, assertAlive, assertEnvelope, jsonOf, paramNames, queryKeys, rawHttp, rowCounts, sleep, takesBody } from './support.js';

useInputWorld('queries, path parameters, headers, surrogates, patterns, framing');

describe('input fuzzing: every query, path parameter and header of the route table; hostile strings in bodies', () => {
  before(resettle);

  test('a lone surrogate escape in any JSON string (value or key, any route) is 400 VALIDATION_FAILED naming the field', async () => {
    const cases: Array<[string, string, string]> = [
      ['/runs', '{"dagId":"seed","inputs":{"s":"\\ud800"}}', 'body.inputs.s'],
      ['/runs', '{"dagId":"seed","inputs":{"\\udfff":1}}', 'body.inputs.\ufffd'],
      ['/runs', '{"dagId":"seed","runToken":"x\\udbff"}', 'body.runToken'],
      ['/dags', '{"dagId":"sur","version":"1.0.0","metadata":{"d":["ok","\\udc00"]},"steps":[{"id":"a","plugin":"noop"}]}', 'body.metadata.d.1'],
      [`/runs/${'{runId}'}:cancel`, '{"reason":"\\ud83d"}', 'body.reason'],
    ];
    for (const [i, [path, body, field]] of cases.entries()) {
      const s: Sent = { method: 'POST', path: path.replace('{runId}', ids.runId!), body: Buffer.from(body), contentType: 'application/json', headers: { 'idempotency-key': `surrogate-${i}` } };
      const res = await send(s);
      assertEnvelope(res, 400, 'VALIDATION_FAILED', describeReq(s));
      assert.equal(res.body.error.details.field, field);
      assert.equal(await snapshot(), state, 'nothing stored');
    }
    // A well-formed pair written as escapes is fine.
    const ok = await send({ method: 'POST', path: '/runs', body: Buffer.from('{"dagId":"seed","inputs":{"s":"\\ud83d\\ude00"}}'), contentType: 'application/json' });
    assert.equal(ok.status, 201, ok.text);
    await resettle();
  });

  test('an inputsSchema pattern that backtracks catastrophically cannot freeze the server: hostile inputs get 422 INPUTS_INVALID within the budget, others are served meanwhile', async () => {
    await publish(t, {
      dagId: 'redos',
      inputsSchema: { type: 'object', properties: { image: { type: 'string', pattern: '^([a-z0-9]+[-._]?)+$' }, tags: { type: 'array', items: { type: 'string', pattern: '^(\\d+)+\\d$' } } } },
      steps: [{ id: 'a', plugin: 'noop' }],
    }, TENANT);
    await resettle();
    const probes: number[] = [];
    let done = false;
    const prober = (async () => {
      while (!done) {
        const t0 = performance.now();
        await t.req('GET', '/admin/health', { token: null, tenant: null });
        probes.push(performance.now() - t0);
        await sleep(20);
      }
    })();
    const hostile = [{ image: `${'a'.repeat(40)}!` }, { image: `${'a'.repeat(36)}-!` }, { tags: ['ok9', `${'1'.repeat(40)}x`] }];
    const took: number[] = [];
    for (const inputs of hostile) {
      const t0 = performance.now();
      const res = await send({ method: 'POST', path: '/runs', body: Buffer.from(JSON.stringify({ dagId: 'redos', inputs })), contentType: 'application/json' });
      took.push(performance.now() - t0);
      assertEnvelope(res, 422, 'INPUTS_INVALID', `hostile inputs ${JSON.stringify(inputs).slice(0, 40)}`);
      assert.match(res.body.error.message, /time budget/);
    }
    done = true;
    await prober;
    const ok = await send({ method: 'POST', path: '/runs', body: Buffer.from('{"dagId":"redos","inputs":{"image":"alpine-3.19","tags":["12"]}}'), contentType: 'application/json' });
    assert.equal(ok.status, 201, ok.text);
    await resettle();
    assert.ok(Math.max(...took) < 5000, `refused within the budget (${took.map(Math.round)} ms)`);
    console.log(`input: catastrophic patterns refused in ${took.map(Math.round).join(', ')} ms; a concurrent probe waited at most ${Math.round(Math.max(...probes))} ms`);
  });

  test('every query string (known keys, extra keys, malformed percent-encodings): 2xx or a 4xx envelope, never a 5xx', async () => {
    const gets = routes.filter((r) => r.method === 'GET' && r.query);
    const before = JSON.stringify(rowCounts(t.dataDir));
    for (const r of gets) {
      const keys = queryKeys(r);
      await fc.assert(
        fc.asyncProperty(queryString(keys), async (q) => {
          const s: Sent = { method: 'GET', path: pathFor(r, {}), query: q };
          await judge(await send(s), describeReq(s), false);
        }),
        { numRuns: runs(70), endOnFailure: true, includeErrorInReport: true },
      );
    }
    assert.equal(JSON.stringify(rowCounts(t.dataDir)), before, 'reads changed the database');
    await assertAlive(t, 'after query fuzzing');
  });

  test('every path parameter (traversal, NUL, surrogates, custom-verb tricks): a 4xx envelope, never a 5xx or a file read', async () => {
    for (const r of routes.filter((x) => paramNames(x).length > 0)) {
      const params = paramNames(r);
      await fc.assert(
        fc.asyncProperty(fc.array(pathValue, { minLength: params.length, maxLength: params.length }), async (vals) => {
          const s: Sent = {
            method: r.method,
            path: pathFor(r, Object.fromEntries(params.map((p, i) => [p, vals[i]!]))),
            body: takesBody(r.method) ? Buffer.from('{}') : undefined,
            contentType: 'application/json',
          };
          const res = await send(s);
          await judge(res, describeReq(s), isMutating(r));
          assert.ok(res.status >= 400, `${describeReq(s)}: hostile path parameters are refused (${res.status})`);
          assert.doesNotMatch(res.text, /root:x:0:0/, 'no file content');
        }),
        { numRuns: runs(40), endOnFailure: true, includeErrorInReport: true },
      );
    }
  });

  test('hostile header values (traceparent, tenant, Idempotency-Key, Last-Event-ID, If-None-Match, Accept): never a 5xx', async () => {
    const headerValue = fc.oneof(
      nastyString.map((s) => s.replace(/[^\t\x20-\x7e\x80-\xff]/g, '')),
      fc.constantFrom('00-' + '0'.repeat(32) + '-' + '0'.repeat(16) + '-01', 'ff-' + 'a'.repeat(32) + '-' + 'b'.repeat(16) + '-01', '00-' + 'A'.repeat(32) + '-' + 'b'.repeat(16) + '-01', '9'.repeat(40), '-1', '*', 'W/"x", "y"'),
    );
    const names = ['traceparent', 'x-stella-tenant', 'idempotency-key', 'last-event-id', 'if-none-match', 'accept', 'content-type'];
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...routes.filter((r) => r.path !== '/runs/stream')), fc.constantFrom(...names), headerValue, async (r, name, value) => {
        const s: Sent = {
          method: r.method,
          path: pathFor(r, {}),
          body: takesBody(r.method) ? Buffer.from('{"nope":1}') : undefined,
          contentType: 'application/json',
          headers: { [name]: value },
        };
        const res = await send(s);
        await judge(res, `${describeReq(s)} ${name}: ${JSON.stringify(value).slice(0, 80)}`, isMutating(r));
        assert.match(res.headers.get('traceparent') ?? '', /^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/, 'a trace on every answer');
      }),
      { numRuns: runs(150), endOnFailure: true, includeErrorInReport: true },
    );
  });
});

describe('HTTP framing over raw sockets', () => {
  const auth = () => `Authorization: Bearer ${token}\r\nX-Stella-Tenant: ${TENANT}\r\n`;
  const head = (path: string, extra: string) => `POST ${BASE}${path} HTTP/1.1\r\nHost: x\r\n${auth()}Content-Type: application/json\r\n${extra}\r\n`;

  test('a declared Content-Length over the limit is refused at once with 413 (no body needed)', async () => {
    const before = await snapshot();
    const r = await rawHttp(t.url, [head('/runs', 'Content-Length: 52428800\r\nConnection: close\r\n')], { timeoutMs: 5000 });
    assert.equal(r.status, 413, JSON.stringify(r));
    assertEnvelope({ status: r.status, headers: new Headers(r.headers), body: jsonOf(r.body), text: r.body }, 413, 'PAYLOAD_TOO_LARGE', 'declared 50 MiB');
    assert.ok(r.closedAfterMs < 4000, `answered in ${r.closedAfterMs} ms without waiting for the body`);
    assert.equal(await snapshot(), before);
  });

  test('a chunked body that grows past the limit is cut off with 413 while it streams', async () => {
    const before = await snapshot();
    const chunk = Buffer.from(`${(64 * 1024).toString(16)}\r\n${'x'.repeat(64 * 1024)}\r\n`);
    const parts: Array<string | Buffer> = [head('/runs', 'Transfer-Encoding: chunked\r\n'), Buffer.from('10000\r\n{"dagId":"seed",' + 'x'.repeat(65536 - 16) + '\r\n')];
    for (let i = 0; i < 40; i++) parts.push(chunk); // 2.5 MiB in all, never terminated
    const r = await rawHttp(t.url, parts, { timeoutMs: 8000 });
    assert.equal(r.status, 413, JSON.stringify({ ...r, body: r.body.slice(0, 200) }));
    assert.equal(jsonOf(r.body)?.error?.code, 'PAYLOAD_TOO_LARGE');
    assert.equal(await snapshot(), before);
    await assertAlive(t, 'after an endless chunked body');
  });

  test('a DAG publish over the 4 MiB limit, chunked and sized, is 413 and stores nothing', async () => {
    const before = await snapshot();
    const big = Buffer.from(JSON.stringify({ dagId: 'big', version: '1.0.0', metadata: { pad: 'y'.repeat(4 * 1024 * 1024) }, steps: [{ id: 'a', plugin: 'noop' }] }));
    const sized = await rawHttp(t.url, [head('/dags', `Content-Length: ${big.length}\r\nConnection: close\r\n`), big], { timeoutMs: 8000 });
    assert.equal(sized.status, 413);
    const chunked = await rawHttp(t.url, [head('/dags', 'Transfer-Encoding: chunked\r\nConnection: close\r\n'), `${big.length.toString(16)}\r\n`, big, '\r\n0\r\n\r\n'], { timeoutMs: 8000 });
    assert.equal(chunked.status, 413);
    assert.equal(await snapshot(), before);
  });

  test('Content-Length and Transfer-Encoding together (request smuggling) are refused and nothing smuggled runs', async () => {
    const before = await snapshot();
    const smuggled = `POST ${BASE}/runs HTTP/1.1\r\nHost: x\r\n${auth()}Content-Type: application/json\r\nContent-Length: 16\r\n\r\n{"dagId":"seed"}`;
    const attacks: Array<[string, string[]]> = [
      ['CL.TE', [head('/runs', `Content-Length: 6\r\nTransfer-Encoding: chunked\r\n`) + `0\r\n\r\n${smuggled}`]],
      ['TE.CL', [head('/runs', `Transfer-Encoding: chunked\r\nContent-Length: 4\r\n`) + `5c\r\n${smuggled.slice(0, 0)}{"dagId":"seed"}\r\n0\r\n\r\n${smuggled}`]],
      ['TE obfuscated', [head('/runs', `Transfer-Encoding: xchunked\r\nContent-Length: 2\r\n`) + `{}${smuggled}`]],
      ['TE with a space', [head('/runs', `Transfer-Encoding : chunked\r\n`) + `0\r\n\r\n${smuggled}`]],
      ['two Content-Lengths', [head('/runs', `Content-Length: 2\r\nContent-Length: 16\r\n`) + `{"dagId":"seed"}${smuggled}`]],
      ['Content-Length with a sign', [head('/runs', `Content-Length: +16\r\n`) + `{"dagId":"seed"}`]],
      ['bad chunk size', [head('/runs', `Transfer-Encoding: chunked\r\n`) + `zz\r\n{"dagId":"seed"}\r\n0\r\n\r\n`]],
      ['LF-only line endings', [`POST ${BASE}/runs HTTP/1.1\nHost: x\n${auth().replace(/\r\n/g, '\n')}Content-Length: 16\nTransfer-Encoding: chunked\n\n0\n\n${smuggled}`]],
      ['NUL in a header', [head('/runs', `X-Evil: a\u0000b\r\nContent-Length: 2\r\n`) + '{}']],
      ['obsolete line folding', [head('/runs', `X-Fold: a\r\n b\r\nContent-Length: 2\r\n`) + '{}']],
    ];
    for (const [name, parts] of attacks) {
      const r = await rawHttp(t.url, parts, { timeoutMs: 4000, endAfterWrite: false });
      assert.ok(r.status === 0 || (r.status >= 400 && r.status < 500), `${name}: ${r.status} ${r.body.slice(0, 200)}`);
      await sleep(50);
    }
    assert.equal(await snapshot(), before, 'a smuggled request ran');
    await assertAlive(t, 'after smuggling attempts');
  });

  test('slow clients: headers that never finish are cut off (--headers-timeout 1), so is a body that trickles (--request-timeout 2)', async () => {
    // 20 slowloris connections at once, each sending one header line every 300 ms forever.
    const slowHeaders = Array.from({ length: 20 }, () =>
      rawHttp(t.url, [`GET ${BASE}/admin/health HTTP/1.1\r\nHost: x\r\n`, ...Array.from({ length: 100 }, (_, i) => `X-Slow-${i}: 1\r\n`)], { gapMs: 300, timeoutMs: 15_000 }),
    );
    // Meanwhile a normal client is served.
    await sleep(200);
    const t0 = Date.now();
    await assertAlive(t, 'during a slowloris');
    const served = Date.now() - t0;
    const slowBody = rawHttp(t.url, [head('/runs', 'Content-Length: 100\r\n'), ...Array.from({ length: 100 }, () => '{')], { gapMs: 200, timeoutMs: 15_000 });
    const results = await Promise.all(slowHeaders);
    for (const r of results) {
      assert.ok(r.closedByServer, 'the server closed the slow connection');
      assert.ok(r.closedAfterMs < 6000, `cut off after ${r.closedAfterMs} ms (limit 1 s)`);
      assert.ok(r.status === 0 || r.status === 408, `status ${r.status}`);
    }
    const b = await slowBody;
    assert.ok(b.closedByServer && b.closedAfterMs < 8000, `trickling body cut off after ${b.closedAfterMs} ms (limit 2 s)`);
    assert.ok(b.status === 0 || b.status === 408 || b.status === 400, `status ${b.status}`);
    console.log(`slow clients: 20 slowloris cut off after ${Math.min(...results.map((r) => r.closedAfterMs))}-${Math.max(...results.map((r) => r.closedAfterMs))} ms; trickling body after ${b.closedAfterMs} ms; a normal request meanwhile took ${served} ms`);
    await assertAlive(t, 'after slow clients');
  });
});
