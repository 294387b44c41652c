/**
 * Every JSON answer of every route is documented by a strict schema (named fields, nothing
 * else), so a generated client knows each field and response validation (every test server)
 * catches a field added or renamed without the contract. Walked over the OpenAPI document of
 * the route table: a new route is covered the moment it exists.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openApiDocument } from '../../src/http/openapi.js';
import { routeTable } from '../../src/http/routes/index.js';

/** The OpenAPI document itself is open-ended by nature (it describes every other answer). */
const OPEN_BY_NATURE = new Set(['openApi']);

type Schema = { $ref?: string; type?: string; properties?: Record<string, unknown>; additionalProperties?: unknown; anyOf?: Schema[]; oneOf?: Schema[] };

test('every 2xx JSON answer of the route table has a strict object schema (a union: each branch strict)', () => {
  const doc = openApiDocument(routeTable(), { version: 'test', allowUnsigned: false }) as { paths: Record<string, Record<string, any>>; components: { schemas: Record<string, Schema> } };
  const deref = (s: Schema): Schema => (s.$ref ? deref(doc.components.schemas[s.$ref.split('/').pop()!]!) : s);
  const loose = (s: Schema): string[] => {
    const d = deref(s);
    const branches = d.anyOf ?? d.oneOf;
    if (branches) return branches.flatMap(loose);
    return d.type === 'object' && d.additionalProperties === false && Object.keys(d.properties ?? {}).length > 0 ? [] : [JSON.stringify(d).slice(0, 120)];
  };
  let checked = 0;
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      if (OPEN_BY_NATURE.has(op.operationId)) continue;
      for (const [code, res] of Object.entries<any>(op.responses ?? {})) {
        const schema = res.content?.['application/json']?.schema;
        if (!code.startsWith('2') || !schema) continue;
        checked++;
        assert.deepEqual(loose(schema), [], `${method.toUpperCase()} ${path} ${code}: a loose schema`);
      }
    }
  }
  assert.ok(checked >= 25, `the walk saw the JSON answers (${checked})`);
  for (const op of OPEN_BY_NATURE) assert.ok(routeTable().some((r) => r.operationId === op), `${op} is still a route`);
});
