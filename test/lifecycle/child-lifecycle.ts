/**
 * A retention pass or an artifact collection in a child process, slowed down (a pause between
 * transactions and objects), printing one line per step, so a test can SIGKILL it mid-way:
 * `node --import tsx test/lifecycle/child-lifecycle.ts DATA_DIR prune|gc`.
 */
import { join } from 'node:path';
import pino from 'pino';
import { ArtifactStore } from '../../src/artifacts/index.js';
import { systemClock } from '../../src/core/index.js';
import { collectArtifacts, pruneTenant } from '../../src/lifecycle/index.js';
import { SqlitePorts, Store } from '../../src/store/index.js';

const [dataDir, mode] = process.argv.slice(2) as [string, 'prune' | 'gc'];
const store = Store.open({ dataDir });
const cas = new ArtifactStore(join(dataDir, 'artifacts'));
const pause = () => new Promise<void>((r) => setTimeout(r, 10));
const onPruned = (kind: string, n: number) => {
  if (n > 0) process.stdout.write(`${kind} ${n}\n`);
};
if (mode === 'prune') {
  await pruneTenant({ ports: new SqlitePorts(store), clock: systemClock, logger: pino({ level: 'silent' }), pause, onPruned }, 'a', { maxAgeDays: 0, keepLast: 5 });
} else {
  await collectArtifacts({ ports: new SqlitePorts(store), cas, clock: systemClock, graceMs: 0, dataDir, pause, onPruned }, '*');
}
store.close();
process.stdout.write('done\n');
