/**
 * Bundle failures. Every refusal is a {@link BundleError}: an `ApiError` (so the CLI and the
 * server report it like any other API error) whose `code` is `SIGNATURE_INVALID` for a
 * signature problem and `VALIDATION_FAILED` otherwise, and whose `reason` (also in
 * `details.reason`) says precisely what was wrong; `details.path` names the offending entry.
 *
 * @example
 * throw new BundleError('HASH_MISMATCH', 'dags/hello/1.0.0.json: sha256 does not match the manifest', { path: 'dags/hello/1.0.0.json' });
 */
import { ApiError } from '../core/errors.js';

export const BUNDLE_REASONS = [
  /** Not a gzip stream, corrupt deflate data, bad CRC, trailing data, bad tar header or checksum. */
  'ARCHIVE_INVALID',
  /** Absolute path, `..`, `.`, empty segment, characters outside the allowed set, too long/deep. */
  'UNSAFE_PATH',
  /** Symlink, hardlink, device, FIFO, pax/GNU extension header: anything but a file or folder. */
  'UNSUPPORTED_ENTRY',
  /** The same path twice (also when only the letter case differs), or a file used as a folder. */
  'DUPLICATE_PATH',
  /** Too many entries, a file or the unpacked archive too large. */
  'LIMIT_EXCEEDED',
  /** `manifest.json` or `manifest.sig.json` absent. */
  'MANIFEST_MISSING',
  /** Manifest not canonical JSON, wrong format, unsorted/duplicate entries, bad field. */
  'MANIFEST_INVALID',
  /** No signature verifies with a trusted key (or the envelope is malformed). */
  'SIGNATURE_INVALID',
  /** The signed payload is not byte-for-byte `manifest.json`. */
  'MANIFEST_MISMATCH',
  /** Imported for a tenant the signed manifest does not name. */
  'TENANT_MISMATCH',
  /** A format `/1` manifest, made before tenant binding: it names no tenant, so none may import it. */
  'TENANT_UNBOUND',
  /** `rootHash` is not the SHA-256 of the canonical entries. */
  'ROOT_HASH_MISMATCH',
  /** A listed file is absent from the archive. */
  'FILE_MISSING',
  /** A file in the archive is not listed in the manifest. */
  'FILE_UNLISTED',
  'SIZE_MISMATCH',
  'HASH_MISMATCH',
  /** A path outside `dags/<dagId>/<version>.json`, `schedules/<scheduleId>.json` and `plugins/<name>/…`. */
  'LAYOUT_INVALID',
  /** A DAG document that does not parse, does not match its path, or is structurally invalid. */
  'DAG_INVALID',
  /** A DAG document whose own DSSE signature does not verify. */
  'DAG_SIGNATURE_INVALID',
  /** A schedule document that does not parse, does not match its path, or has a bad cron, zone or window. */
  'SCHEDULE_INVALID',
  /** A schedule document whose own DSSE signature is absent or does not verify. */
  'SCHEDULE_SIGNATURE_INVALID',
  /** A plugin folder without a valid `plugin.json` / entry. */
  'PLUGIN_INVALID',
  /** A plugin whose name@version the tenant already resolves (operator or its own) with other content. */
  'PLUGIN_CONFLICT',
  /** The bundle carries plugins but no plugins folder was given to install them into. */
  'PLUGINS_DIR_REQUIRED',
] as const;

export type BundleReason = (typeof BUNDLE_REASONS)[number];

const SIGNATURE_REASONS: ReadonlySet<BundleReason> = new Set([
  'SIGNATURE_INVALID',
  'MANIFEST_MISMATCH',
  'DAG_SIGNATURE_INVALID',
  'SCHEDULE_SIGNATURE_INVALID',
  // The signer did not authorise this tenant: as for a key that is not trusted.
  'TENANT_MISMATCH',
  'TENANT_UNBOUND',
]);

export class BundleError extends ApiError {
  readonly reason: BundleReason;

  constructor(reason: BundleReason, message: string, details: Record<string, unknown> = {}) {
    super(SIGNATURE_REASONS.has(reason) ? 'SIGNATURE_INVALID' : 'VALIDATION_FAILED', message, { reason, ...details });
    this.name = 'BundleError';
    this.reason = reason;
  }
}
