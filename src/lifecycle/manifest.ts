/**
 * Archive manifests: the backup manifest (`backup.json`, the archive's first entry) and its
 * optional DSSE signature (`backup.sig.json`, second), and run archives (`run-archive.ts`)
 * under the same rules, those of the bundle manifest (`src/bundles/manifest.ts`): canonical JSON (RFC 8785) bytes, entries sorted by path, each
 * `{path, sha256, size}`, `rootHash` = SHA-256 of the canonical entries; the signature's
 * payload is exactly the manifest's bytes (`src/dags/signature.ts`).
 *
 * ```json
 * {"createdBy":"stella-orchestrator 0.1.0","createdUtc":"2026-01-01T00:00:00.000Z",
 *  "entries":[{"path":"data/artifacts/ab/cd…","sha256":"abcd…","size":12}, …],
 *  "format":"stella-orchestrator-backup/1","rootHash":"…","schemaVersion":3}
 * ```
 *
 * @example
 * const bytes = backupManifestBytes(buildBackupManifest(entries, 3, now));
 */
import { z } from 'zod';
import { canonicalJson } from '../core/index.js';
import { VERSION } from '../core/runtime.js';
import { comparePaths, rootHashOf, BundleError, type ManifestEntry } from '../bundles/index.js';
import { dsseSign, dsseVerify, type TrustStore } from '../dags/signature.js';
import { parseJsonBounded } from '../core/json.js';

export const BACKUP_FORMAT = 'stella-orchestrator-backup/1';
export const BACKUP_PAYLOAD_TYPE = 'application/vnd.stellaops.orchestrator.backup+json';
export const BACKUP_MANIFEST = 'backup.json';
export const BACKUP_SIGNATURE = 'backup.sig.json';
/** Every data entry's path starts with this (the data folder's layout under it). */
export const DATA_PREFIX = 'data/';

export interface BackupManifest {
  format: typeof BACKUP_FORMAT;
  createdBy: string;
  createdUtc: string;
  schemaVersion: number;
  entries: ManifestEntry[];
  rootHash: string;
}

/**
 * One kind of signed archive: its manifest and signature entry names, format, DSSE payload type,
 * the path prefix of its entries, the entries it must list, and its manifest's other fields.
 * Backups (`BACKUP_KIND`) and run archives (`run-archive.ts`) share every rule below.
 */
export interface ArchiveKind {
  format: string;
  payloadType: string;
  manifest: string;
  signature: string;
  prefix: string;
  required: readonly string[];
  /** The manifest's fields besides `format`, `entries` and `rootHash`. */
  fields: z.ZodRawShape;
}

export const BACKUP_KIND: ArchiveKind = {
  format: BACKUP_FORMAT,
  payloadType: BACKUP_PAYLOAD_TYPE,
  manifest: BACKUP_MANIFEST,
  signature: BACKUP_SIGNATURE,
  prefix: DATA_PREFIX,
  required: [`${DATA_PREFIX}orchestrator.db`],
  fields: { createdBy: z.string().min(1).max(256), createdUtc: z.string().max(40), schemaVersion: z.int().min(1) },
};

const entrySchema = z.strictObject({ path: z.string().min(1).max(255), sha256: z.string().regex(/^[0-9a-f]{64}$/), size: z.int().min(0) });

/** Entries sorted by path and their root hash: what every archive manifest holds. */
export function manifestEntries(entries: ManifestEntry[]): { entries: ManifestEntry[]; rootHash: string } {
  const sorted = [...entries].sort((a, b) => comparePaths(a.path, b.path));
  return { entries: sorted, rootHash: rootHashOf(sorted) };
}

export function buildBackupManifest(entries: ManifestEntry[], schemaVersion: number, createdUtc: string): BackupManifest {
  return { format: BACKUP_FORMAT, createdBy: `stella-orchestrator ${VERSION}`, createdUtc, schemaVersion, ...manifestEntries(entries) };
}

export function backupManifestBytes(m: BackupManifest): Buffer {
  return Buffer.from(canonicalJson(m), 'utf8');
}

function invalid(message: string): BundleError {
  return new BundleError('MANIFEST_INVALID', message);
}

/** Parses and checks an archive's manifest: schema, canonical form, sorted unique prefixed paths, required entries, rootHash. */
export function parseArchiveManifest<M extends { entries: ManifestEntry[]; rootHash: string }>(kind: ArchiveKind, bytes: Buffer): M {
  const name = kind.manifest;
  const text = bytes.toString('utf8');
  let raw: unknown;
  try {
    raw = parseJsonBounded(text, 8);
  } catch {
    throw invalid(`${name} is not valid JSON`);
  }
  const schema = z.strictObject({ format: z.literal(kind.format), ...kind.fields, entries: z.array(entrySchema), rootHash: z.string().regex(/^[0-9a-f]{64}$/) });
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw invalid(`${name}: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  const m = parsed.data as unknown as M;
  if (canonicalJson(raw) !== text) throw invalid(`${name} is not in canonical JSON form`);
  m.entries.forEach((e, i) => {
    if (!e.path.startsWith(kind.prefix)) throw invalid(`${name}: ${e.path} is outside ${kind.prefix}`);
    if (i > 0 && comparePaths(m.entries[i - 1]!.path, e.path) >= 0) throw invalid(`${name}: entries not sorted or ${e.path} twice`);
  });
  for (const r of kind.required) if (!m.entries.some((e) => e.path === r)) throw invalid(`${name} does not list ${r}`);
  if (rootHashOf(m.entries) !== m.rootHash) throw new BundleError('ROOT_HASH_MISMATCH', `${name} rootHash is not the SHA-256 of its entries`);
  return m;
}

/** Parses and checks `backup.json` ({@link parseArchiveManifest}). */
export function parseBackupManifest(bytes: Buffer): BackupManifest {
  return parseArchiveManifest<BackupManifest>(BACKUP_KIND, bytes);
}

/** The DSSE envelope (as file bytes) signing the manifest bytes. */
export function signArchiveManifest(kind: ArchiveKind, manifest: Buffer, privateKeyPem: string): Buffer {
  return Buffer.from(canonicalJson(dsseSign(kind.payloadType, manifest, privateKeyPem)), 'utf8');
}

export function signBackupManifest(manifest: Buffer, privateKeyPem: string): Buffer {
  return signArchiveManifest(BACKUP_KIND, manifest, privateKeyPem);
}

/** The key ids that signed the manifest; throws `ApiError('SIGNATURE_INVALID')`. */
export function verifyArchiveSignature(kind: ArchiveKind, signature: Buffer, manifest: Buffer, trust: TrustStore): string[] {
  let env: unknown;
  try {
    env = parseJsonBounded(signature.toString('utf8'), 8);
  } catch {
    env = null;
  }
  const { payload, signedBy } = dsseVerify(env, trust, kind.payloadType);
  if (!payload.equals(manifest)) throw new BundleError('MANIFEST_MISMATCH', `${kind.signature} signs another manifest`);
  return signedBy;
}

/** The key ids that signed `backup.json` ({@link verifyArchiveSignature}). */
export function verifyBackupSignature(signature: Buffer, manifest: Buffer, trust: TrustStore): string[] {
  return verifyArchiveSignature(BACKUP_KIND, signature, manifest, trust);
}
