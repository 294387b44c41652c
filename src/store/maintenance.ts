/**
 * What a store cannot do for its own upkeep ({@link MaintenancePort}): PostgreSQL's copies and
 * checks are PostgreSQL's own tools, run by its operator, never a copy made by the server.
 *
 * @example
 * try { await ports.maintenance.snapshot(file); } catch (e) { if (e instanceof MaintenanceUnsupported) console.error(e.message); }
 */
import type { MaintenancePort } from './ports.js';

/** The store refuses this upkeep; `message` says which tool does it instead. */
export class MaintenanceUnsupported extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MaintenanceUnsupported';
  }
}

/**
 * A store's ping and installation-wide lock (`exclusive`, e.g. a session advisory lock) with the
 * refusals of the upkeep PostgreSQL does with its own tools.
 */
export function pgMaintenance(ping: () => Promise<void>, exclusive: MaintenancePort['exclusive']): MaintenancePort {
  return {
    ping,
    exclusive,
    integrityCheck: () =>
      Promise.reject(new MaintenanceUnsupported('the PostgreSQL store has no integrity check of its own: check the database with pg_amcheck (the amcheck extension)')),
    snapshot: () =>
      Promise.reject(new MaintenanceUnsupported(
        'the PostgreSQL store is not copied by the server (orchestrator backup and POST /admin/backup copy an SQLite data folder): back up the database with pg_dump (logical) or pg_basebackup (physical), and the artifacts folder with it',
      )),
  };
}
