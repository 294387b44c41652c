/**
 * Opens the installation's store for `serve`: the embedded SQLite store in `--data-dir` (the
 * default), or PostgreSQL with `--store postgres://…` (several nodes share it; docs/SCALE-OUT.md).
 * Everything after this sees only the storage ports; the SQLite-only upkeep (start-up clean-up,
 * background WAL checkpoints) is decided here, once.
 *
 * @example
 * const opened = await openStore(config, logger, clock);
 * const scheduler = new Scheduler({ ports: opened.ports, checkpointer: opened.checkpointer, … });
 * await opened.close();
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import type { Logger } from 'pino';
import type { Clock } from '../core/index.js';
import { PageTokens } from '../http/pagination.js';
import { prepareDataDir } from '../lifecycle/upgrade.js';
import { SqlitePorts, Store, takeLock, type Checkpointer, type StorePorts } from '../store/index.js';
import type { ServeConfig } from './config.js';
import { redactedUrl } from './pg-url.js';

export interface OpenedStore {
  ports: StorePorts;
  /** The SQLite store itself (tests and tools read it); undefined on PostgreSQL. */
  sqlite?: Store;
  /** Page tokens are signed with the installation's key: one node's token is valid on every node. */
  pages: PageTokens;
  /** SQLite's background WAL checkpoints (stopped by the scheduler's drain); null on PostgreSQL. */
  checkpointer: Checkpointer | null;
  close(): Promise<void>;
}

export async function openStore(config: ServeConfig, logger: Logger, clock: Clock): Promise<OpenedStore> {
  if (config.store === undefined) {
    // A newer folder is refused (nothing touched); an older one is backed up beside itself, then migrated.
    await prepareDataDir(config.dataDir, logger, { clock });
    const store = Store.open({ dataDir: config.dataDir, synchronous: config.synchronous });
    // Requests the last process never answered: their Idempotency-Keys are free again.
    store.idem.clearInFlight();
    return {
      ports: new SqlitePorts(store),
      sqlite: store,
      pages: PageTokens.fromDataDir(config.dataDir),
      checkpointer: store.startBackgroundCheckpoints(logger),
      close: async () => store.close(),
    };
  }
  // On PostgreSQL the data folder keeps only this node's own files (dev keys); its lock still
  // keeps two processes off one folder. The schema is created or checked under an advisory lock,
  // so nodes may start at once.
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const release = takeLock(config.dataDir);
  try {
    const { PgStore } = await import('../store/pg/index.js');
    const store = await PgStore.open({ url: config.store });
    logger.info({ store: redactedUrl(config.store) }, 'store: PostgreSQL');
    const key = await store.setting('page-token-key', randomBytes(32).toString('hex'));
    return {
      ports: store,
      pages: new PageTokens(Buffer.from(key, 'hex')),
      checkpointer: null,
      close: async () => {
        try {
          await store.close();
        } finally {
          release();
        }
      },
    };
  } catch (e) {
    release();
    throw e;
  }
}
