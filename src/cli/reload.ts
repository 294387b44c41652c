/**
 * The server's credentials from its configuration — the JWKS that verifies bearer tokens, the
 * trust folders of DAG and bundle signatures, the static scrape token — loaded before the data
 * folder is touched, and reloaded on SIGHUP (docs/AUTH.md, "Rotating keys").
 *
 * A reload re-reads each of the three on its own: one that fails (a file being written, a bad
 * key) keeps what was in use and logs why; the others still change. Each change is logged with
 * the key ids that came and went. The server keeps serving throughout.
 *
 * @example
 * const auth = loadAuthConfig(config);                 // throws: the server does not start
 * const reloader = new AuthReloader({ config, logger, verifier: auth.verifier!, trust: auth.trust });
 * process.on('SIGHUP', () => reloader.reload());
 */
import type { Logger } from 'pino';
import { createVerifier, loadJwksFile, StaticToken, type KeyChange, type Verifier } from '../auth/index.js';
import { TrustStore } from '../dags/keys.js';
import type { ServeConfig } from './config.js';

export interface AuthConfig {
  /** Undefined in dev mode without --jwks (the dev key is made in the data folder later). */
  verifier?: Verifier;
  trust: TrustStore;
  scrapeToken?: StaticToken;
}

/** Loads and checks every credential the configuration names; throws a plain Error naming the file. */
export function loadAuthConfig(config: ServeConfig): AuthConfig {
  if (!config.dev && !config.jwks) {
    throw new Error('no --jwks given: the server cannot verify tokens (use --dev only for local trials; docs/AUTH.md)');
  }
  let verifier: Verifier | undefined;
  if (config.jwks && !config.dev) verifier = createVerifier({ jwksFile: config.jwks, issuer: config.issuer, audience: config.audience });
  else if (config.jwks) loadJwksFile(config.jwks); // checked now; dev mode builds its verifier later
  const trust = loadTrust(config.trustDirs);
  const scrapeToken = config.metricsTokenFile ? new StaticToken(config.metricsTokenFile) : undefined;
  return { verifier, trust, scrapeToken };
}

function loadTrust(dirs: readonly string[], devSigningPem?: string): TrustStore {
  const trust = new TrustStore();
  for (const dir of dirs) trust.addDir(dir);
  if (devSigningPem) trust.add(devSigningPem);
  return trust;
}

type Outcome<T> = ({ ok: true } & T) | { ok: false; error: string };

/** What one SIGHUP changed, part by part. */
export interface ReloadReport {
  jwks: Outcome<KeyChange>;
  trust: Outcome<KeyChange>;
  /** Absent without --metrics-token-file. */
  metricsToken?: Outcome<{ changed: boolean }>;
}

export interface ReloaderDeps {
  config: ServeConfig;
  logger: Logger;
  verifier: Verifier;
  trust: TrustStore;
  scrapeToken?: StaticToken;
  /** Dev mode's DAG signing key, trusted again after each reload of the trust folders. */
  devSigningPem?: string;
}

export class AuthReloader {
  constructor(private readonly deps: ReloaderDeps) {}

  /** Re-reads the JWKS, the trust folders and the scrape token file; never throws. */
  reload(): ReloadReport {
    const { verifier, trust, scrapeToken, config, devSigningPem } = this.deps;
    const report: ReloadReport = {
      jwks: this.part('jwks', () => verifier.reload()),
      trust: this.part('trust', () => {
        const next = loadTrust(config.trustDirs, devSigningPem);
        const before = trust.entries();
        const after = next.entries();
        trust.replaceWith(next);
        return { added: after.filter((k) => !before.includes(k)), removed: before.filter((k) => !after.includes(k)) };
      }),
    };
    if (scrapeToken) report.metricsToken = this.part('metricsToken', () => ({ changed: scrapeToken.reload() }));
    return report;
  }

  private part<T extends object>(part: string, load: () => T): Outcome<T> {
    const { logger } = this.deps;
    try {
      const change = load();
      logger.info({ part, ...(change as Record<string, unknown>) }, `reload: ${part} re-read`);
      return { ok: true, ...change };
    } catch (e) {
      const error = e instanceof Error ? e.message : String(e);
      logger.error({ part, error }, `reload: ${part} kept as it was: the new one cannot be used`);
      return { ok: false, error };
    }
  }
}
