/** Helpers shared by the store's tests (a real SQLite file in a temporary folder). */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { Store } from './index.js';

/** A temporary data folder, removed after `t`. */
export function tempDataDir(t: TestContext, name: string): string {
  const dir = mkdtempSync(join(tmpdir(), `orch-${name}-`));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * A store opened in a temporary data folder, closed and the folder removed after `t`.
 *
 * @example
 * test('…', (t) => { const store = tempStore(t, 'runs-order'); … });
 */
export function tempStore(t: TestContext, name: string): Store {
  const dir = mkdtempSync(join(tmpdir(), `orch-${name}-`));
  const store = Store.open({ dataDir: dir });
  t.after(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return store;
}
