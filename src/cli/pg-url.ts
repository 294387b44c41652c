/**
 * PostgreSQL URLs on the command line: checked the same way by every command that takes one
 * (`serve --store`, `migrate --store`, `store copy --to`), and never printed with their password.
 *
 * @example
 * const url = postgresUrl(flags.store, 'store'); logger.info({ store: redactedUrl(url) });
 */
import { UsageError } from './args.js';

/** A PostgreSQL URL as the user gave it, or a usage error saying what is accepted. */
export function postgresUrl(v: unknown, flag: string): string {
  const s = typeof v === 'string' ? v : '';
  if (!/^postgres(ql)?:\/\//.test(s)) {
    throw new UsageError(`--${flag} must be a PostgreSQL URL (postgres://user:password@host:5432/database); the embedded SQLite store needs none (it lives in --data-dir, and "orchestrator upgrade --data-dir DIR" upgrades it)`);
  }
  return s;
}

/** The URL with its password hidden, for reports and logs. */
export function redactedUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres://…';
  }
}

