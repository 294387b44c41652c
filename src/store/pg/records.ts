/**
 * The catalog (DAG versions), Idempotency-Key records and the artifact index on PostgreSQL
 * (ports.ts): the same rows and orders as the SQLite store (store/dags.ts, idempotency.ts,
 * artifacts.ts).
 *
 * @example
 * const catalog = new PgCatalog(conn(pool));
 * await catalog.latestActive('demo', 'etl');
 */
import type { ArtifactRow } from '../artifacts.js';
import type { DagListFilter, DagVersionRow } from '../dags.js';
import type { IdemKey, IdempotencyRow } from '../idempotency.js';
import type { ArtifactIndexPort, CatalogPort, DagExportPosition, IdempotencyPort } from '../ports.js';
import { dagVersions } from '../schema.js';
import type { Conn } from './conn.js';
import { NOW_MS } from './leases.js';
import { pgSelectList } from './ddl.js';

const DAG_COLS = pgSelectList(dagVersions);

export class PgCatalog implements CatalogPort {
  constructor(private readonly c: Conn) {}

  async getVersion(tenant: string, dagId: string, version: string): Promise<DagVersionRow | undefined> {
    return (await this.c.rows<DagVersionRow>(`select ${DAG_COLS} from dag_versions where tenant = $1 and dag_id = $2 and version = $3`, [tenant, dagId, version]))[0];
  }

  async insertVersion(r: Omit<DagVersionRow, 'active' | 'disabledMs' | 'disabledBy'>): Promise<boolean> {
    // A concurrent insert of the same version makes this one wait for its outcome (READ COMMITTED).
    const n = await this.c.count(
      `insert into dag_versions (tenant, dag_id, version, version_key, hash, definition, signature, signed_by, plugin_pins, active, created_ms, created_by)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9, 1, $10, $11) on conflict (tenant, dag_id, version) do nothing`,
      [r.tenant, r.dagId, r.version, r.versionKey, r.hash, r.definition, r.signature, r.signedBy, r.pluginPins, r.createdMs, r.createdBy ?? null],
    );
    return n === 1;
  }

  async disableVersion(tenant: string, dagId: string, version: string, nowMs: number, by: string | null): Promise<boolean> {
    const n = await this.c.count(
      `update dag_versions set active = 0, disabled_ms = $1, disabled_by = $2 where tenant = $3 and dag_id = $4 and version = $5 and active = 1`,
      [nowMs, by, tenant, dagId, version],
    );
    return n > 0;
  }

  async latestActive(tenant: string, dagId: string): Promise<DagVersionRow | undefined> {
    return (await this.c.rows<DagVersionRow>(
      `select ${DAG_COLS} from dag_versions where tenant = $1 and dag_id = $2 and active = 1 order by version_key desc limit 1`,
      [tenant, dagId],
    ))[0];
  }

  listVersions(f: DagListFilter): Promise<DagVersionRow[]> {
    const p: unknown[] = [];
    const arg = (v: unknown): string => `$${p.push(v)}`;
    const where = [`tenant = ${arg(f.tenant)}`];
    if (f.dagId !== undefined) where.push(`dag_id = ${arg(f.dagId)}`);
    if (f.active !== undefined) where.push(`active = ${arg(f.active ? 1 : 0)}`);
    if (f.after) {
      const d = arg(f.after.dagId);
      where.push(`(dag_id > ${d} or (dag_id = ${d} and version_key < ${arg(f.after.versionKey)}))`);
    }
    return this.c.rows<DagVersionRow>(
      `select ${DAG_COLS} from dag_versions where ${where.join(' and ')} order by dag_id asc, version_key desc limit ${arg(f.limit)}`,
      p,
    );
  }

  exportPage(tenant: string, filter: { dagId?: string; active?: boolean }, after: DagExportPosition | undefined, limit: number): Promise<DagVersionRow[]> {
    const p: unknown[] = [];
    const arg = (v: unknown): string => `$${p.push(v)}`;
    const where = [`tenant = ${arg(tenant)}`];
    if (filter.dagId !== undefined) where.push(`dag_id = ${arg(filter.dagId)}`);
    if (filter.active !== undefined) where.push(`active = ${arg(filter.active ? 1 : 0)}`);
    if (after) where.push(`(created_ms, dag_id, version_key) > (${arg(after.createdMs)}, ${arg(after.dagId)}, ${arg(after.versionKey)})`);
    return this.c.rows<DagVersionRow>(
      `select ${DAG_COLS} from dag_versions where ${where.join(' and ')} order by created_ms asc, dag_id asc, version_key asc limit ${arg(limit)}`,
      p,
    );
  }

  unpinned(): Promise<DagVersionRow[]> {
    return this.c.rows<DagVersionRow>(`select ${DAG_COLS} from dag_versions where plugin_pins is null order by created_ms, tenant, dag_id, version_key`, []);
  }

  async setPins(tenant: string, dagId: string, version: string, pins: string): Promise<boolean> {
    const n = await this.c.count(
      'update dag_versions set plugin_pins = $1 where tenant = $2 and dag_id = $3 and version = $4 and plugin_pins is null',
      [pins, tenant, dagId, version],
    );
    return n > 0;
  }
}

const KEY = 'tenant = $1 and method = $2 and path = $3 and key = $4';
const keyOf = (k: IdemKey): unknown[] => [k.tenant, k.method, k.path, k.key];

export class PgIdempotency implements IdempotencyPort {
  constructor(private readonly c: Conn) {}

  async get(k: IdemKey): Promise<IdempotencyRow | undefined> {
    return (await this.c.rows<IdempotencyRow>(
      `select request_hash as "requestHash", state, response_status as "responseStatus", response_body as "responseBody",
              response_headers as "responseHeaders", created_ms as "createdMs" from idempotency_keys where ${KEY}`,
      keyOf(k),
    ))[0];
  }

  async claim(k: IdemKey, requestHash: string, nowMs: number, nodeId?: string): Promise<boolean> {
    // An in-flight record of another node whose lease ran out (the nodes' clock is the
    // database's) is the claim of a request that died with its node: taken over.
    const n = await this.c.count(
      `insert into idempotency_keys (tenant, method, path, key, request_hash, state, created_ms, node_id) values ($1, $2, $3, $4, $5, 'in_flight', $6, $7)
       on conflict (tenant, method, path, key) do update set request_hash = excluded.request_hash, created_ms = excluded.created_ms, node_id = excluded.node_id
       where idempotency_keys.state = 'in_flight' and excluded.node_id is not null
         and idempotency_keys.node_id is distinct from excluded.node_id
         and not exists (select 1 from nodes n where n.node_id = idempotency_keys.node_id and n.lease_until_ms > ${NOW_MS})`,
      [...keyOf(k), requestHash, nowMs, nodeId ?? null],
    );
    return n === 1;
  }

  async complete(k: IdemKey, status: number, body: string, headers: string, runId: string | null): Promise<void> {
    await this.c.count(
      `update idempotency_keys set state = 'done', response_status = $5, response_body = $6, response_headers = $7, run_id = $8 where ${KEY}`,
      [...keyOf(k), status, body, headers, runId],
    );
  }

  async release(k: IdemKey): Promise<void> {
    await this.c.count(`delete from idempotency_keys where ${KEY} and state = 'in_flight'`, keyOf(k));
  }

  expire(beforeMs: number): Promise<number> {
    return this.c.count('delete from idempotency_keys where created_ms < $1', [beforeMs]);
  }
}

export class PgArtifacts implements ArtifactIndexPort {
  constructor(private readonly c: Conn) {}

  async own(r: ArtifactRow): Promise<void> {
    await this.c.count(
      'insert into artifacts (tenant, hash, size, media_type, created_ms) values ($1, $2, $3, $4, $5) on conflict (tenant, hash) do nothing',
      [r.tenant, r.hash, r.size, r.mediaType, r.createdMs],
    );
  }

  async owns(tenant: string, hash: string): Promise<{ size: number; mediaType: string } | undefined> {
    return (await this.c.rows<{ size: number; mediaType: string }>('select size, media_type as "mediaType" from artifacts where tenant = $1 and hash = $2', [tenant, hash]))[0];
  }

  /**
   * Records references to artifacts the tenant owns (others are ignored), under a share lock of
   * each ownership row: a collection releasing it waits, then sees the reference (pg/retention.ts).
   */
  async addRefs(refs: ReadonlyArray<{ tenant: string; hash: string; holder: string }>): Promise<void> {
    if (refs.length === 0) return;
    await this.c.count(
      `insert into artifact_refs (tenant, hash, holder)
       select a.tenant, a.hash, u.holder from unnest($1::text[], $2::text[], $3::text[]) as u(tenant, hash, holder)
       join artifacts a on a.tenant = u.tenant and a.hash = u.hash
       for share of a
       on conflict do nothing`,
      [refs.map((r) => r.tenant), refs.map((r) => r.hash), refs.map((r) => r.holder)],
    );
  }
}
