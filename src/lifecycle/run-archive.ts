/**
 * The run archive (docs/OPERATIONS.md, "Moving runs between sites"): one `.tar.gz` that moves a
 * tenant's runs to another installation with everything they need there — the runs (steps and
 * attempts inline), the DAG versions they ran, their events, and every log and artifact they
 * name. Same container, manifest and signature rules as backups (`manifest.ts`,
 * `tarball.ts`): `archive.json` first (canonical JSON, entries sorted by path with SHA-256 and
 * size, `rootHash`), `archive.sig.json` second when signed (DSSE over the manifest bytes), then
 * the entries in manifest order:
 *
 * - `artifacts/<ab>/<cdef…>` — the bytes of each artifact, named by its SHA-256;
 * - `artifacts.ndjson` — `{hash, mediaType, size}` of each, by hash;
 * - `dags.ndjson` — the DAG versions (as `export dags` writes them), by dagId and version;
 * - `events.ndjson` — the tenant's event chain from the first to the last event of the archived
 *   runs (so it verifies on its own: its manifest carries the chain checkpoint before it);
 * - `runs.ndjson` — the runs, as `export runs` writes them (oldest first).
 *
 * Every `.ndjson` is a complete export with its own manifest line. Nothing time-dependent is
 * written: the same data gives the same bytes (with an Ed25519 key, signed ones too).
 *
 * @example
 * const r = await createRunArchive({ dataDir: './data', tenant: 'demo', filter: { dagId: 'hello' }, out: 'demo.tar.gz' });
 */
import { createHash } from 'node:crypto';
import { createWriteStream, existsSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { z } from 'zod';
import { namedHashes } from '../artifacts/index.js';
import { ApiError, canonicalJson, ndjsonExport, TENANT_RE } from '../core/index.js';
import { VERSION } from '../core/runtime.js';
import { dagView } from '../dags/service.js';
import { eventExportRecords } from '../events/export.js';
import { exportRunRecords, type ExportFilter } from '../runs/transfer.js';
import { SCHEMA, SqlitePorts, Store, type Ports } from '../store/index.js';
import type { ManifestEntry } from '../bundles/index.js';
import { beginBackup } from './markers.js';
import { manifestEntries, type ArchiveKind } from './manifest.js';
import { BACKUP_GZIP_LEVEL, writeArchiveBody, type Source } from './backup.js';
import { TarGzWriter } from './tarball.js';

export const RUN_ARCHIVE_FORMAT = 'stella-orchestrator-runs/1';
/** The ndjson entries of a run archive, each a complete export. */
export const RUN_ARCHIVE_FILES = ['artifacts.ndjson', 'dags.ndjson', 'events.ndjson', 'runs.ndjson'] as const;

export const RUN_ARCHIVE_KIND: ArchiveKind = {
  format: RUN_ARCHIVE_FORMAT,
  payloadType: 'application/vnd.stellaops.orchestrator.run-archive+json',
  manifest: 'archive.json',
  signature: 'archive.sig.json',
  prefix: '',
  required: RUN_ARCHIVE_FILES,
  fields: { createdBy: z.string().min(1).max(256), schemaVersion: z.int().min(1), tenant: z.string().regex(TENANT_RE), runs: z.int().min(0) },
};

export interface RunArchiveManifest {
  format: string;
  createdBy: string;
  schemaVersion: number;
  tenant: string;
  runs: number;
  entries: ManifestEntry[];
  rootHash: string;
}

/** Archive path of an artifact. */
export const artifactEntry = (hash: string): string => `artifacts/${hash.slice(0, 2)}/${hash.slice(2)}`;

export interface RunArchiveRequest {
  dataDir: string;
  tenant: string;
  filter?: Omit<ExportFilter, 'tenant'>;
  /** The archive to write; must not exist. */
  out: string;
  /** PKCS#8 PEM private key: sign the manifest (DSSE). */
  keyPem?: string;
}

export interface RunArchiveReport {
  file: string;
  sha256: string;
  bytes: number;
  runs: number;
  dags: number;
  events: number;
  artifacts: number;
  signedBy?: string[];
}

const ENDED = new Set(['completed', 'failed', 'cancelled']);

/** A file to archive; `verify`: hash checked while copying (artifacts, named by their hash). */
type Staged = Source;

/** Writes an ndjson export into the staging folder, hashing it on the way. */
async function stage(dir: string, name: string, records: Iterable<unknown> | AsyncIterable<unknown>, extend?: Parameters<typeof ndjsonExport>[1]): Promise<Staged> {
  const file = join(dir, name);
  const out = createWriteStream(file, { flags: 'wx' });
  const h = createHash('sha256');
  let size = 0;
  for await (const line of ndjsonExport(records, extend)) {
    h.update(line);
    size += Buffer.byteLength(line);
    if (!out.write(line)) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((res, rej) => out.end((e?: Error | null) => (e ? rej(e) : res())));
  return { entry: { path: name, sha256: h.digest('hex'), size }, file, verify: false };
}

/** Writes the run archive of a tenant's runs (all, or those `filter` selects) to `out`. */
export async function createRunArchive(r: RunArchiveRequest): Promise<RunArchiveReport> {
  const dataDir = resolve(r.dataDir);
  const out = resolve(r.out);
  const { tenant } = r;
  if (existsSync(out)) throw new ApiError('VALIDATION_FAILED', `${out} exists already: an archive never overwrites a file`);
  if (!existsSync(join(dataDir, 'orchestrator.db'))) throw new ApiError('VALIDATION_FAILED', `${dataDir} holds no orchestrator database`);
  const endMarker = beginBackup(dataDir); // garbage collection keeps every object until it is copied
  const store = Store.open({ dataDir, lock: false });
  const ports = new SqlitePorts(store);
  const staging = await mkdtemp(join(dirname(out), `.${basename(out)}.staging-`));
  let writer: TarGzWriter | undefined;
  try {
    const { staged, counts } = await stageContent(ports, staging, dataDir, r);
    const manifest: RunArchiveManifest = {
      format: RUN_ARCHIVE_FORMAT,
      createdBy: `stella-orchestrator ${VERSION}`,
      schemaVersion: SCHEMA.version,
      tenant,
      runs: counts.runs,
      ...manifestEntries(staged.map((s) => s.entry)),
    };
    const manifestBytes = Buffer.from(canonicalJson(manifest), 'utf8');
    const byPath = new Map(staged.map((s) => [s.entry.path, s]));
    writer = await TarGzWriter.create(out, BACKUP_GZIP_LEVEL);
    const signedBy = await writeArchiveBody(writer, RUN_ARCHIVE_KIND, manifestBytes, manifest.entries, byPath, r.keyPem);
    const sha256 = await writer.finish();
    writer = undefined;
    return { file: out, sha256, bytes: statSync(out).size, ...counts, ...(signedBy ? { signedBy } : {}) };
  } catch (e) {
    await writer?.abort();
    throw e;
  } finally {
    store.close();
    endMarker();
    await rm(staging, { recursive: true, force: true });
  }
}

/**
 * Stages the ndjson entries and lists every file of the archive. Only ended runs travel (an
 * import accepts nothing else); they no longer change, nor do their events, DAG versions and
 * artifacts, so reading them beside a running server is safe.
 */
async function stageContent(ports: Ports, staging: string, dataDir: string, r: RunArchiveRequest) {
  const { tenant } = r;
  const dagKeys = new Map<string, { dagId: string; version: string }>();
  const named = new Set<string>();
  let minSeq = Infinity;
  let maxSeq = 0;
  let runs = 0;
  const runRecords = async function* () {
    for await (const rec of exportRunRecords(ports.runs, { ...r.filter, tenant })) {
      if (!ENDED.has(rec.status)) continue;
      runs++;
      dagKeys.set(`${rec.dagId}\u0000${rec.dagVersion}`, { dagId: rec.dagId, version: rec.dagVersion });
      for (const h of namedHashes(canonicalJson(rec))) named.add(h);
      for (const e of await ports.events.ofRun(tenant, rec.runId)) {
        minSeq = Math.min(minSeq, e.seq);
        maxSeq = Math.max(maxSeq, e.seq);
      }
      yield rec;
    }
  };
  const runsFile = await stage(staging, 'runs.ndjson', runRecords());
  const dagRows = (await Promise.all([...dagKeys.values()].map(async (k) => (await ports.catalog.getVersion(tenant, k.dagId, k.version))!)))
    .sort((a, b) => (a.dagId === b.dagId ? (a.versionKey < b.versionKey ? -1 : 1) : a.dagId < b.dagId ? -1 : 1));
  for (const d of dagRows) for (const h of namedHashes(d.definition)) named.add(h);
  const dagsFile = await stage(staging, 'dags.ndjson', dagRows.map((d) => ({ tenant, ...dagView(d) })));
  const segment = minSeq === Infinity ? [] : await eventSegment(ports, tenant, minSeq, maxSeq);
  const first = segment[0];
  const eventsFile = await stage(staging, 'events.ndjson', segment, first && first.seq > 1 ? () => ({ checkpoint: { hash: first.prevHash, seq: first.seq - 1, tenant } }) : undefined);
  const artifacts: Array<{ hash: string; mediaType: string; size: number }> = [];
  for (const hash of [...named].sort()) {
    const own = await ports.artifacts.owns(tenant, hash);
    if (own) artifacts.push({ hash, mediaType: own.mediaType, size: own.size });
  }
  const artifactsFile = await stage(staging, 'artifacts.ndjson', artifacts);
  const files: Staged[] = [runsFile, dagsFile, eventsFile, artifactsFile];
  for (const a of artifacts) files.push({ entry: { path: artifactEntry(a.hash), sha256: a.hash, size: a.size }, file: join(dataDir, 'artifacts', a.hash.slice(0, 2), a.hash.slice(2)), verify: true });
  return { staged: files, counts: { runs, dags: dagRows.length, events: segment.length, artifacts: artifacts.length } };
}

/** The tenant's exported events with `from <= seq <= to` (one contiguous piece of its chain). */
async function eventSegment(ports: Ports, tenant: string, from: number, to: number) {
  const out = [];
  for await (const e of eventExportRecords(ports, tenant, from - 1)) {
    if (e.seq > to) break;
    out.push(e);
  }
  return out;
}
