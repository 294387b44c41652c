import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError } from '../core/errors.js';
import { parseDag } from './model.js';
import { validateDag } from './validate.js';

const opts = { pluginExists: () => true };
const exec = (id: string, env: unknown, plugin = 'exec') => ({ id, plugin, with: { program: '/bin/echo', env } });

test('an exec step whose literal with.env names a loader or interpreter variable is DAG_INVALID (EXEC_ENV_REFUSED, one per variable)', () => {
  const doc = parseDag({
    dagId: 'd',
    version: '1.0.0',
    steps: [exec('a', { LD_PRELOAD: '/x.so', GREETING: 'hi' }), exec('b', { bash_env: '${{ inputs.x }}', NODE_OPTIONS: '--require x' }, 'exec@0.1.0')],
  });
  let caught: unknown;
  try {
    validateDag(doc, opts);
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof ApiError && caught.code === 'DAG_INVALID', String(caught));
  const refused = (caught.details as { errors: Array<Record<string, unknown>> }).errors.filter((e) => e.code === 'EXEC_ENV_REFUSED');
  assert.deepEqual(refused.map((e) => [e.stepId, e.variable]), [['a', 'LD_PRELOAD'], ['b', 'bash_env'], ['b', 'NODE_OPTIONS']]);
  assert.match(String(refused[0]!.message), /never passed to programs/);
});

test('allowed names, an env resolved at run time, and other plugins\' inputs named like loader variables publish', () => {
  const doc = parseDag({
    dagId: 'd',
    version: '1.0.0',
    steps: [exec('a', { GREETING: 'hi' }), exec('b', '${{ inputs.env }}'), { id: 'c', plugin: 'echo', with: { env: { LD_PRELOAD: 'just data' } } }],
  });
  assert.doesNotThrow(() => validateDag(doc, opts));
});
