/**
 * The backup manifest (`backup.json`, the archive's first entry) and its optional DSSE
 * signature (`backup.sig.json`, second). Same rules as the bundle manifest
 * (`src/bundles/manifest.ts`): canonical JSON (RFC 8785) bytes, entries sorted by path, each
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

const schema = z.strictObject({
  format: z.literal(BACKUP_FORMAT),
  createdBy: z.string().min(1).max(256),
  createdUtc: z.string().max(40),
  schemaVersion: z.int().min(1),
  entries: z.array(z.strictObject({ path: z.string().min(1).max(255), sha256: z.string().regex(/^[0-9a-f]{64}$/), size: z.int().min(0) })),
  rootHash: z.string().regex(/^[0-9a-f]{64}$/),
});

export function buildBackupManifest(entries: ManifestEntry[], schemaVersion: number, createdUtc: string): BackupManifest {
  const sorted = [...entries].sort((a, b) => comparePaths(a.path, b.path));
  return { format: BACKUP_FORMAT, createdBy: `stella-orchestrator ${VERSION}`, createdUtc, schemaVersion, entries: sorted, rootHash: rootHashOf(sorted) };
}

export function backupManifestBytes(m: BackupManifest): Buffer {
  return Buffer.from(canonicalJson(m), 'utf8');
}

function invalid(message: string): BundleError {
  return new BundleError('MANIFEST_INVALID', message);
}

/** Parses and checks `backup.json`: schema, canonical form, sorted unique `data/` paths, rootHash. */
export function parseBackupManifest(bytes: Buffer): BackupManifest {
  const text = bytes.toString('utf8');
  let raw: unknown;
  try {
    raw = parseJsonBounded(text, 8);
  } catch {
    throw invalid('backup.json is not valid JSON');
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw invalid(`backup.json: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  const m = parsed.data as BackupManifest;
  if (canonicalJson(raw) !== text) throw invalid('backup.json is not in canonical JSON form');
  m.entries.forEach((e, i) => {
    if (!e.path.startsWith(DATA_PREFIX)) throw invalid(`backup.json: ${e.path} is outside ${DATA_PREFIX}`);
    if (i > 0 && comparePaths(m.entries[i - 1]!.path, e.path) >= 0) throw invalid(`backup.json: entries not sorted or ${e.path} twice`);
  });
  if (!m.entries.some((e) => e.path === `${DATA_PREFIX}orchestrator.db`)) throw invalid('backup.json lists no database');
  if (rootHashOf(m.entries) !== m.rootHash) throw new BundleError('ROOT_HASH_MISMATCH', 'backup.json rootHash is not the SHA-256 of its entries');
  return m;
}

/** The DSSE envelope (as file bytes) signing the manifest bytes. */
export function signBackupManifest(manifest: Buffer, privateKeyPem: string): Buffer {
  return Buffer.from(canonicalJson(dsseSign(BACKUP_PAYLOAD_TYPE, manifest, privateKeyPem)), 'utf8');
}

/** The key ids that signed the manifest; throws `ApiError('SIGNATURE_INVALID')`. */
export function verifyBackupSignature(signature: Buffer, manifest: Buffer, trust: TrustStore): string[] {
  let env: unknown;
  try {
    env = parseJsonBounded(signature.toString('utf8'), 8);
  } catch {
    env = null;
  }
  const { payload, signedBy } = dsseVerify(env, trust, BACKUP_PAYLOAD_TYPE);
  if (!payload.equals(manifest)) throw new BundleError('MANIFEST_MISMATCH', 'backup.sig.json signs another manifest');
  return signedBy;
}
