/**
 * DAG management: publish, read, list, disable, export. Takes its I/O (store, clock, trust)
 * as arguments; knows nothing of HTTP.
 *
 * @example
 * const dags = new DagService({ store, clock, trust, allowUnsigned: false, pluginExists });
 * const { created, version } = dags.publish('demo', doc);
 */
import { namedHashes } from '../artifacts/index.js';
import { ApiError, iso, isoOrNull, type Clock } from '../core/index.js';
import type { DagVersionRow, Store } from '../store/index.js';
import type { DagDocument } from './model.js';
import { validateDag } from './validate.js';
import { dagCanonicalJson, dagHash } from './canonical.js';
import { verifyDagSignature, type TrustStore } from './signature.js';
import { semverKey } from './semver.js';

export interface DagServiceDeps {
  store: Store;
  clock: Clock;
  trust: TrustStore;
  allowUnsigned: boolean;
  pluginExists(nameOrNameAtVersion: string): boolean;
}

/** The stored version as the API shows it. */
export interface DagVersionView extends Record<string, unknown> {
  dagId: string;
  version: string;
  hash: string;
  active: boolean;
  createdUtc: string;
  disabledUtc: string | null;
  signedBy: string[];
}

export function dagView(row: DagVersionRow): DagVersionView {
  const def = JSON.parse(row.definition) as Record<string, unknown>;
  return {
    ...def,
    ...(row.signature ? { signature: JSON.parse(row.signature) } : {}),
    dagId: row.dagId,
    version: row.version,
    hash: row.hash,
    active: row.active === 1,
    createdUtc: iso(row.createdMs),
    disabledUtc: isoOrNull(row.disabledMs),
    signedBy: JSON.parse(row.signedBy) as string[],
  };
}

export function dagSummary(row: DagVersionRow): Record<string, unknown> {
  const def = JSON.parse(row.definition) as { metadata?: { description?: unknown }; steps: unknown[] };
  return {
    dagId: row.dagId,
    version: row.version,
    hash: row.hash,
    active: row.active === 1,
    description: typeof def.metadata?.description === 'string' ? def.metadata.description : null,
    stepCount: def.steps.length,
    createdUtc: iso(row.createdMs),
    disabledUtc: isoOrNull(row.disabledMs),
    signedBy: JSON.parse(row.signedBy) as string[],
  };
}

/** A tenant's DAG versions as exported: oldest first, each the full version plus `tenant`. */
export function* dagExportRecords(store: Store, tenant: string, dagId?: string, active?: boolean, batch = 200): Generator<Record<string, unknown>> {
  let after: DagVersionRow | undefined;
  for (;;) {
    const rows = store.dags.exportPage(tenant, { dagId, active }, after, batch);
    for (const r of rows) yield { tenant: r.tenant, ...dagView(r) };
    if (rows.length < batch) return;
    after = rows[rows.length - 1];
  }
}

export class DagService {
  /** Its I/O, public so work that must share its transaction (bundle import) uses the same store. */
  constructor(readonly deps: DagServiceDeps) {}

  /**
   * Verifies and validates a document without storing it. Returns what would be stored.
   * Throws SIGNATURE_INVALID or DAG_INVALID.
   */
  check(doc: DagDocument): { hash: string; definition: string; signedBy: string[] } {
    const signedBy = verifyDagSignature(doc, this.deps.trust, { allowUnsigned: this.deps.allowUnsigned });
    validateDag(doc, { pluginExists: this.deps.pluginExists });
    return { hash: dagHash(doc), definition: dagCanonicalJson(doc), signedBy };
  }

  /**
   * Publishes a version. Byte-identical republish is not a new version (`created: false`);
   * other content under an existing dagId+version is DAG_VERSION_EXISTS. Call inside the
   * request's commit so the idempotency record shares the transaction.
   */
  publish(tenant: string, doc: DagDocument, checked = this.check(doc)): { created: boolean; version: DagVersionView } {
    const { store, clock } = this.deps;
    return store.tx(() => {
      const existing = store.dags.get(tenant, doc.dagId, doc.version);
      if (existing) {
        if (existing.hash !== checked.hash) {
          throw new ApiError('DAG_VERSION_EXISTS', `${doc.dagId}@${doc.version} exists with different content`, {
            dagId: doc.dagId,
            version: doc.version,
            hash: existing.hash,
          });
        }
        return { created: false, version: dagView(existing) };
      }
      store.dags.insert({
        tenant,
        dagId: doc.dagId,
        version: doc.version,
        versionKey: semverKey(doc.version),
        hash: checked.hash,
        definition: checked.definition,
        signature: doc.signature ? JSON.stringify(doc.signature) : null,
        signedBy: JSON.stringify(checked.signedBy),
        createdMs: clock.now(),
      });
      // A definition that names artifacts (a fixed input file) keeps them: versions are kept for ever.
      store.refs.addOwned(tenant, `dag:${doc.dagId}@${doc.version}`, namedHashes(checked.definition));
      return { created: true, version: dagView(store.dags.get(tenant, doc.dagId, doc.version)!) };
    });
  }

  get(tenant: string, dagId: string, version: string): DagVersionRow {
    const row = this.deps.store.dags.get(tenant, dagId, version);
    if (!row) throw new ApiError('NOT_FOUND', 'DAG version not found');
    return row;
  }

  /** Disables a version; repeating it is harmless. */
  disable(tenant: string, dagId: string, version: string): DagVersionView {
    const { store, clock } = this.deps;
    this.get(tenant, dagId, version);
    store.dags.disable(tenant, dagId, version, clock.now());
    return dagView(this.get(tenant, dagId, version));
  }

  /** The version a run uses: the given one (must be active) or the highest active. */
  resolveForRun(tenant: string, dagId: string, version?: string): DagVersionRow {
    if (version !== undefined) {
      const row = this.get(tenant, dagId, version);
      if (row.active !== 1) throw new ApiError('DAG_DISABLED', `${dagId}@${version} is disabled`);
      return row;
    }
    const row = this.deps.store.dags.latestActive(tenant, dagId);
    if (row) return row;
    if (this.deps.store.dags.list({ tenant, dagId, limit: 1 }).length > 0) {
      throw new ApiError('DAG_DISABLED', `${dagId} has no active version`);
    }
    throw new ApiError('NOT_FOUND', 'DAG not found');
  }
}
