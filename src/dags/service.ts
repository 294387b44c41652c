/**
 * DAG management: publish, read, list, disable, export. Takes its I/O (the storage ports,
 * clock, trust) as arguments; knows nothing of HTTP.
 *
 * @example
 * const dags = new DagService({ ports, clock, trust, allowUnsigned: false, resolvePlugin: registry.resolveFor });
 * const { created, version } = await dags.publish('demo', doc); // its own transaction; or { tx } of a request
 * version.pluginPins; // { noop: { name: 'noop', version: '0.1.0', contentHash: '…', builtin: true } }
 */
import { namedHashes } from '../artifacts/index.js';
import { ApiError, iso, isoOrNull, type Clock, type Transact } from '../core/index.js';
import { txPorts, type CatalogPort, type DagListFilter, type DagVersionRow, type EventRow, type Ports, type StorePorts } from '../store/index.js';
import { appendAuditEvent, systemAudit, type Audit } from '../events/actor.js';
import type { DagDocument } from './model.js';
import { validateDag } from './validate.js';
import { dagCanonicalJson, dagHash } from './canonical.js';
import { verifyDagSignature, type TrustStore } from './signature.js';
import { semverKey } from './semver.js';
import { pinPlugins, pinsJson, type PinnablePlugin, type PluginPins } from './pins.js';
import { withWarnings, type DagWarning } from './with-check.js';

export interface DagServiceDeps {
  /** The store behind the ports: reads, and the transactions of publish and disable. */
  ports: StorePorts;
  clock: Clock;
  trust: TrustStore;
  allowUnsigned: boolean;
  /** A step's plugin reference (`name` or `name@version`) as `tenant` sees the plugins. */
  resolvePlugin(tenant: string, ref: string): PinnablePlugin | undefined;
  /** The server's `--exec-allow` list: an `exec` step whose fixed program is not on it is warned about. */
  execAllow?: readonly string[];
  /** Hands committed events (`dag.published`, `dag.disabled`) to the live stream. */
  announce?(events: readonly EventRow[]): void;
}

/** What {@link DagService.check} found: what would be stored. */
export interface CheckedDag {
  hash: string;
  definition: string;
  signedBy: string[];
  /** Canonical JSON of the plugin pins (`pins.ts`). */
  pluginPins: string;
  /** What publish lets through but the publisher should know (`with-check.ts`); logged at publish. */
  warnings?: DagWarning[];
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
  /** The plugin each step reference is pinned to; null for a version stored before pinning that could not be pinned yet. */
  pluginPins: PluginPins | null;
  /** Who published and who disabled it (docs/API.md "Actors"); null when not recorded. */
  createdBy: string | null;
  disabledBy: string | null;
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
    pluginPins: row.pluginPins === null ? null : (JSON.parse(row.pluginPins) as PluginPins),
    createdBy: row.createdBy ?? null,
    disabledBy: row.disabledBy ?? null,
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
    createdBy: row.createdBy ?? null,
  };
}

/** A tenant's DAG versions as exported: oldest first (createdMs, dagId, versionKey), each the full version plus `tenant`; read a page at a time. */
export async function* dagExportRecords(catalog: CatalogPort, tenant: string, dagId?: string, active?: boolean, batch = 200): AsyncGenerator<Record<string, unknown>> {
  let after: DagVersionRow | undefined;
  for (;;) {
    const rows = await catalog.exportPage(tenant, { dagId, active }, after, batch);
    for (const r of rows) yield { tenant: r.tenant, ...dagView(r) };
    if (rows.length < batch) return;
    after = rows[rows.length - 1];
  }
}

/** What {@link DagService.publish} did: `created` false for a byte-identical republish; `events` committed (`dag.published`). */
export interface DagPublished {
  created: boolean;
  version: DagVersionView;
  events: EventRow[];
}

/** How a change runs: `tx` the request's transaction (default: one of its own); `who` its actor (default `system`). */
export interface DagChangeOptions<T> {
  tx?: Transact<T>;
  who?: Audit;
}

export class DagService {
  /** Its I/O, public so work that must share its transaction (bundle import) uses the same store. */
  constructor(readonly deps: DagServiceDeps) {}

  /**
   * Verifies and validates a document for `tenant` without storing it: its signature with the
   * keys trusted for the tenant, its plugins as the tenant sees them (another tenant's plugin
   * is an unknown plugin), and pins each plugin reference. Returns what would be stored.
   * Throws SIGNATURE_INVALID or DAG_INVALID.
   */
  check(doc: DagDocument, tenant: string): CheckedDag {
    const signedBy = verifyDagSignature(doc, this.deps.trust.forTenant(tenant), { allowUnsigned: this.deps.allowUnsigned });
    const resolve = (ref: string) => this.deps.resolvePlugin(tenant, ref);
    const pluginPins = checkPlugins(doc, resolve);
    const warnings = withWarnings(doc, (ref) => resolve(ref)?.inputsSchema, { execAllow: this.deps.execAllow });
    return { hash: dagHash(doc), definition: dagCanonicalJson(doc), signedBy, pluginPins, warnings };
  }

  /**
   * Pins the stored versions that have no pins yet (stored by a version of the program from
   * before pinning), each as its tenant sees the plugins now. A version whose plugins do not
   * all resolve stays unpinned (its runs are refused with PLUGIN_UNAVAILABLE) and is tried
   * again at the next call. Called at start-up and after plugins are reloaded.
   */
  async pinStoredVersions(): Promise<{ pinned: number; unresolved: Array<{ tenant: string; dagId: string; version: string }> }> {
    const { ports } = this.deps;
    const unresolved: Array<{ tenant: string; dagId: string; version: string }> = [];
    const found: Array<{ row: DagVersionRow; pins: string }> = [];
    for (const row of await ports.catalog.unpinned()) {
      const def = JSON.parse(row.definition) as Pick<DagDocument, 'steps'>;
      const pins = pinPlugins(def, (ref) => this.deps.resolvePlugin(row.tenant, ref));
      if (pins) found.push({ row, pins: pinsJson(pins) });
      else unresolved.push({ tenant: row.tenant, dagId: row.dagId, version: row.version });
    }
    let pinned = 0;
    await ports.transaction(async (tx) => {
      for (const { row, pins } of found) if (await tx.catalog.setPins(row.tenant, row.dagId, row.version, pins)) pinned++;
    });
    return { pinned, unresolved };
  }

  /**
   * Publishes a version in `opts.tx` (the request's transaction, so the Idempotency-Key record
   * shares it; default: a transaction of its own), then hands its event to the live stream.
   * Byte-identical republish is not a new version (`created: false`); other content under an
   * existing dagId+version is DAG_VERSION_EXISTS. `checked`: what {@link check} found (default:
   * checked now).
   */
  async publish(tenant: string, doc: DagDocument, opts: DagChangeOptions<DagPublished> & { checked?: CheckedDag } = {}): Promise<DagPublished> {
    const checked = opts.checked ?? this.check(doc, tenant);
    const out = await this.transact(opts.tx)((h) => this.publishIn(txPorts(h), tenant, doc, checked, opts.who));
    this.announce(out.events);
    return out;
  }

  /**
   * {@link publish} inside the caller's transaction (a bundle import publishes several with its
   * schedules); the caller announces `events` once it committed. Two publishes of one version at
   * once: one creates it, the other finds it (inserting waits for the first on PostgreSQL) and
   * answers as a republish would.
   */
  async publishIn(tx: Ports, tenant: string, doc: DagDocument, checked: CheckedDag, who: Audit = systemAudit()): Promise<DagPublished> {
    const existing = await tx.catalog.getVersion(tenant, doc.dagId, doc.version);
    if (existing) return republished(existing, checked);
    const now = this.deps.clock.now();
    const inserted = await tx.catalog.insertVersion({
      tenant,
      dagId: doc.dagId,
      version: doc.version,
      versionKey: semverKey(doc.version),
      hash: checked.hash,
      definition: checked.definition,
      signature: doc.signature ? JSON.stringify(doc.signature) : null,
      signedBy: JSON.stringify(checked.signedBy),
      pluginPins: checked.pluginPins,
      createdMs: now,
      createdBy: who.actor,
    });
    const stored = found(await tx.catalog.getVersion(tenant, doc.dagId, doc.version));
    if (!inserted) return republished(stored, checked);
    // A definition that names artifacts (a fixed input file) keeps them: versions are kept for ever.
    const holder = `dag:${doc.dagId}@${doc.version}`;
    await tx.artifacts.addRefs(namedHashes(checked.definition).map((hash) => ({ tenant, hash, holder })));
    const event = await appendAuditEvent(tx, { tenant, type: 'dag.published', dagId: doc.dagId, status: 'active', tsMs: now }, who, { version: doc.version });
    return { created: true, version: dagView(stored), events: [event] };
  }

  /** A page of a tenant's versions (`GET /dags`): dagId ASC, then version DESC by SemVer precedence. */
  list(filter: DagListFilter): Promise<DagVersionRow[]> {
    return this.deps.ports.catalog.listVersions(filter);
  }

  /** A tenant's versions as exported (`GET /dags:export`), oldest first; see {@link dagExportRecords}. */
  exportRecords(tenant: string, dagId?: string, active?: boolean): AsyncGenerator<Record<string, unknown>> {
    return dagExportRecords(this.deps.ports.catalog, tenant, dagId, active);
  }

  /** A version of this tenant; NOT_FOUND when there is none. */
  async get(tenant: string, dagId: string, version: string): Promise<DagVersionRow> {
    return found(await this.deps.ports.catalog.getVersion(tenant, dagId, version));
  }

  /** The version a run uses: the given one (must be active) or the highest active. */
  async resolve(tenant: string, dagId: string, version?: string): Promise<DagVersionRow> {
    const { catalog } = this.deps.ports;
    if (version !== undefined) return activeOnly(await this.get(tenant, dagId, version));
    return (await catalog.latestActive(tenant, dagId)) ?? noActiveVersion(dagId, (await catalog.listVersions({ tenant, dagId, limit: 1 })).length > 0);
  }

  /**
   * Disables a version in `opts.tx` (default: a transaction of its own), then hands its event
   * to the live stream; repeating it is harmless (only the first records `disabledBy` and a
   * `dag.disabled` event). NOT_FOUND when the tenant has no such version.
   */
  async disable(tenant: string, dagId: string, version: string, opts: DagChangeOptions<DagVersionView> = {}): Promise<DagVersionView> {
    const who = opts.who ?? systemAudit();
    const events: EventRow[] = [];
    const view = await this.transact(opts.tx)(async (h) => {
      const tx = txPorts(h);
      found(await tx.catalog.getVersion(tenant, dagId, version));
      const now = this.deps.clock.now();
      if (await tx.catalog.disableVersion(tenant, dagId, version, now, who.actor)) {
        events.push(await appendAuditEvent(tx, { tenant, type: 'dag.disabled', dagId, status: 'disabled', tsMs: now }, who, { version }));
      }
      return dagView(found(await tx.catalog.getVersion(tenant, dagId, version)));
    });
    this.announce(events);
    return view;
  }

  /** Hands committed DAG events to the live stream. */
  announce(events: readonly EventRow[]): void {
    if (events.length > 0) this.deps.announce?.(events);
  }

  /** The caller's transaction, or one of the store's own. */
  private transact<T>(tx: Transact<T> | undefined): Transact<T> {
    return tx ?? ((fn) => this.deps.ports.transaction(fn));
  }
}

/** A version already stored under the published dagId+version: the same content is a republish, other content DAG_VERSION_EXISTS. */
function republished(existing: DagVersionRow, checked: CheckedDag): DagPublished {
  if (existing.hash !== checked.hash) {
    throw new ApiError('DAG_VERSION_EXISTS', `${existing.dagId}@${existing.version} exists with different content`, {
      dagId: existing.dagId,
      version: existing.version,
      hash: existing.hash,
    });
  }
  return { created: false, version: dagView(existing), events: [] };
}

function found(row: DagVersionRow | undefined): DagVersionRow {
  if (!row) throw new ApiError('NOT_FOUND', 'DAG version not found');
  return row;
}

function activeOnly(row: DagVersionRow): DagVersionRow {
  if (row.active !== 1) throw new ApiError('DAG_DISABLED', `${row.dagId}@${row.version} is disabled`);
  return row;
}

/** A run names a DAG without an active version: DAG_DISABLED when it has versions, else NOT_FOUND. */
function noActiveVersion(dagId: string, hasVersions: boolean): never {
  if (hasVersions) throw new ApiError('DAG_DISABLED', `${dagId} has no active version`);
  throw new ApiError('NOT_FOUND', 'DAG not found');
}

/**
 * Validates a DAG's plugins (and everything else, each step's fixed `with` against its
 * plugin's `inputsSchema` included) with `resolve`, then pins them; returns the pins' stored
 * form. Throws DAG_INVALID.
 */
export function checkPlugins(doc: DagDocument, resolve: (ref: string) => PinnablePlugin | undefined): string {
  validateDag(doc, { pluginExists: (ref) => resolve(ref) !== undefined, inputsSchemaOf: (ref) => resolve(ref)?.inputsSchema });
  const pins = pinPlugins(doc, resolve);
  if (!pins) throw new ApiError('DAG_INVALID', 'a plugin went away while the DAG was checked; try again');
  return pinsJson(pins);
}
