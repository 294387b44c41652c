import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError } from '../core/errors.js';
import { parseDag, splitPluginRef } from './model.js';

const base = () => ({
  dagId: 'policy-refresh',
  version: '1.4.0',
  steps: [{ id: 'fetch', plugin: 'noop' }],
});

function failsOn(raw: unknown, field: string): ApiError {
  let caught: unknown;
  try {
    parseDag(raw);
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof ApiError, 'expected an ApiError');
  assert.equal(caught.code, 'VALIDATION_FAILED');
  assert.equal(caught.details?.field, field, JSON.stringify(caught.details));
  return caught;
}

test('a minimal document parses as sent, with no defaults filled in', () => {
  const doc = parseDag(base());
  assert.deepEqual(doc, base());
  assert.equal('edges' in doc, false);
});

test('a full document parses (contract §5 example fields)', () => {
  const raw = {
    ...base(),
    metadata: { description: 'x' },
    inputsSchema: { type: 'object', required: ['image'] },
    steps: [
      {
        id: 'fetch',
        plugin: 'noop@1.0.0-rc.1',
        with: { image: '${{ inputs.image }}', n: [1, { a: null }] },
        retries: { max: 2, backoffMs: 500, factor: 2, maxBackoffMs: 30000 },
        timeoutMs: 60000,
        trigger: 'all_success',
      },
      { id: 'scan', plugin: 'echo' },
    ],
    edges: [{ from: 'fetch', to: 'scan' }],
    signature: { payloadType: 't', payload: 'e30=', signatures: [{ keyid: 'ab', sig: 'AA==' }] },
  };
  assert.deepEqual(parseDag(raw), raw);
});

test('unknown fields are rejected and named (mass assignment)', () => {
  failsOn({ ...base(), hash: 'x' }, 'hash');
  failsOn({ ...base(), steps: [{ id: 'a', plugin: 'noop', extra: 1 }] }, 'steps.0.extra');
  failsOn({ ...base(), steps: [{ id: 'a', plugin: 'noop', retries: { max: 1, jitter: true } }] }, 'steps.0.retries.jitter');
  failsOn({ ...base(), edges: [{ from: 'a', to: 'b', label: 'x' }] }, 'edges.0.label');
  failsOn({ ...base(), signature: { payloadType: 't', payload: '', signatures: [], cert: 'x' } }, 'signature.cert');
});

test('ids, versions, plugins, retries, timeouts and triggers are checked', () => {
  const e = failsOn({ ...base(), steps: [{ id: 'Fetch', plugin: 'noop' }] }, 'steps.0.id');
  assert.ok(Array.isArray(e.details?.issues));
  failsOn({ ...base(), dagId: '-x' }, 'dagId');
  failsOn({ ...base(), dagId: 'a'.repeat(129) }, 'dagId');
  failsOn({ ...base(), version: 'v1.4.0' }, 'version');
  failsOn({ ...base(), version: '1.4' }, 'version');
  failsOn({ ...base(), version: '1.4.0-01' }, 'version');
  failsOn({ ...base(), version: ' 1.4.0' }, 'version');
  assert.equal(parseDag({ ...base(), version: '1.4.0-rc.1+build.007' }).version, '1.4.0-rc.1+build.007');
  failsOn({ ...base(), steps: [{ id: 'a', plugin: 'noop@latest' }] }, 'steps.0.plugin');
  failsOn({ ...base(), steps: [{ id: 'a', plugin: 'No Op' }] }, 'steps.0.plugin');
  failsOn({ ...base(), steps: [{ id: 'a', plugin: 'noop', retries: { max: 101 } }] }, 'steps.0.retries.max');
  failsOn({ ...base(), steps: [{ id: 'a', plugin: 'noop', retries: { max: 1.5 } }] }, 'steps.0.retries.max');
  failsOn({ ...base(), steps: [{ id: 'a', plugin: 'noop', retries: { backoffMs: 1 } }] }, 'steps.0.retries.max');
  failsOn({ ...base(), steps: [{ id: 'a', plugin: 'noop', retries: { max: 1, factor: 0.5 } }] }, 'steps.0.retries.factor');
  failsOn({ ...base(), steps: [{ id: 'a', plugin: 'noop', timeoutMs: 0 }] }, 'steps.0.timeoutMs');
  failsOn({ ...base(), steps: [{ id: 'a', plugin: 'noop', timeoutMs: 2 ** 31 }] }, 'steps.0.timeoutMs');
  failsOn({ ...base(), steps: [{ id: 'a', plugin: 'noop', trigger: 'always' }] }, 'steps.0.trigger');
  failsOn({ ...base(), steps: [{ id: 'a', plugin: 'noop', with: [] }] }, 'steps.0.with');
  failsOn({ ...base(), steps: [] }, 'steps');
  failsOn({ ...base(), metadata: 'x' }, 'metadata');
  failsOn([], 'body');
  failsOn(null, 'body');
});

test('__proto__ keys and excessive nesting are refused before zod runs', () => {
  const raw = JSON.parse('{"dagId":"a","version":"1.0.0","steps":[{"id":"a","plugin":"noop","with":{"__proto__":{"x":1}}}]}');
  failsOn(raw, 'steps.0.with.__proto__');
  let deep: unknown = 'x';
  for (let i = 0; i < 100; i++) deep = { d: deep };
  failsOn({ ...base(), metadata: deep }, 'body');
});

test('splitPluginRef', () => {
  assert.deepEqual(splitPluginRef('echo'), { name: 'echo' });
  assert.deepEqual(splitPluginRef('echo@1.2.3'), { name: 'echo', version: '1.2.3' });
});
