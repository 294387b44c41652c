/** Shared bits of the ops tests. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURES } from '../helpers/base.js';
import { signDag } from '../../src/dags/signature.js';

const devKey = readFileSync(join(FIXTURES, 'keys', 'dev-signing.key'), 'utf8');

/** A small signed DAG (noop → echo). */
export function dag(dagId: string, version = '1.0.0'): unknown {
  return signDag(
    {
      dagId,
      version,
      steps: [
        { id: 'a', plugin: 'noop' },
        { id: 'b', plugin: 'echo', with: { x: 1 } },
      ],
      edges: [{ from: 'a', to: 'b' }],
    } as any,
    devKey,
  );
}

export const UUID_RE = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;
