/**
 * The bundle manifest (`manifest.json`) and its layout rules. See docs/BUNDLES.md.
 *
 * ```json
 * {"createdBy":"stella-orchestrator 0.1.0",
 *  "entries":[{"path":"dags/hello/1.0.0.json","sha256":"<hex>","size":1234}, …],
 *  "format":"stella-orchestrator-bundle/2",
 *  "rootHash":"<hex>",
 *  "tenants":["acme"]}
 * ```
 * - `tenants` (format `/2`): the tenants the bundle may be imported for, sorted, each once, at
 *   least one. A format `/1` manifest (made before tenant binding) has none; it still verifies
 *   but no tenant may import it.
 * - The file is the RFC 8785 canonical JSON of that object (no trailing newline); a
 *   manifest that is not byte-for-byte canonical is refused.
 * - `entries` lists every file of the bundle except `manifest.json` and `manifest.sig.json`,
 *   sorted by `path` (byte order), each path once; each entry has exactly `path`, `sha256`
 *   (64 lowercase hex of the file's bytes) and `size` (bytes).
 * - `rootHash` = SHA-256 (lowercase hex) of the canonical JSON of the `entries` array.
 * - `manifest.sig.json` is a DSSE envelope, payloadType {@link BUNDLE_PAYLOAD_TYPE}, whose
 *   payload is exactly the bytes of `manifest.json`.
 */
import { z } from 'zod';
import { canonicalJson, sha256Hex } from '../core/hash.js';
import { ID_RE, TENANT_RE } from '../core/ids.js';
import { parseJsonBounded } from '../core/json.js';
import { isSemver } from '../dags/semver.js';
import { BundleError } from './errors.js';
import { comparePaths } from './paths.js';

export const BUNDLE_FORMAT = 'stella-orchestrator-bundle/2';
/** The format before tenant binding: verifiable, never importable. */
export const BUNDLE_FORMAT_V1 = 'stella-orchestrator-bundle/1';
export const BUNDLE_PAYLOAD_TYPE = 'application/vnd.stellaops.orchestrator.bundle+json';
export const MANIFEST_PATH = 'manifest.json';
export const SIGNATURE_PATH = 'manifest.sig.json';

export interface ManifestEntry {
  path: string;
  sha256: string;
  size: number;
}

export interface BundleManifest {
  format: typeof BUNDLE_FORMAT | typeof BUNDLE_FORMAT_V1;
  createdBy: string;
  entries: ManifestEntry[];
  rootHash: string;
  /** The tenants it may be imported for (absent in format `/1`). */
  tenants?: string[];
}

const HEX64 = /^[0-9a-f]{64}$/;

const common = {
  createdBy: z.string().min(1).max(256),
  entries: z.array(
    z.strictObject({
      path: z.string().min(1).max(255),
      sha256: z.string().regex(HEX64),
      size: z.int().min(0),
    }),
  ),
  rootHash: z.string().regex(HEX64),
};

/** At most this many tenants in one manifest. */
export const MAX_BUNDLE_TENANTS = 1000;

const tenantsSchema = z.array(z.string().regex(TENANT_RE, 'must be a tenant id')).min(1).max(MAX_BUNDLE_TENANTS);

const manifestSchema = z.discriminatedUnion('format', [
  z.strictObject({ format: z.literal(BUNDLE_FORMAT), ...common, tenants: tenantsSchema }),
  z.strictObject({ format: z.literal(BUNDLE_FORMAT_V1), ...common }),
]);

/**
 * The tenants of a new manifest: valid ids, sorted, each once; at least one. Throws
 * `BundleError('MANIFEST_INVALID')`.
 */
export function bundleTenants(tenants: readonly string[]): string[] {
  const parsed = tenantsSchema.safeParse([...new Set(tenants)].sort());
  if (!parsed.success) {
    const bad = tenants.find((t) => !TENANT_RE.test(t));
    throw invalid(
      bad !== undefined ? `invalid tenant id ${JSON.stringify(bad)}` : tenants.length === 0 ? 'a bundle names at least one tenant it is for' : `at most ${MAX_BUNDLE_TENANTS} tenants`,
      { field: 'tenants' },
    );
  }
  return parsed.data;
}

/**
 * SHA-256 of the canonical JSON of the entries array.
 *
 * @example
 * rootHashOf([{ path: 'a', sha256: 'e3b0…', size: 0 }]) // '5f…'
 */
export function rootHashOf(entries: readonly ManifestEntry[]): string {
  return sha256Hex(canonicalJson(entries.map((e) => ({ path: e.path, sha256: e.sha256, size: e.size }))));
}

/** The manifest of a set of files (sorted by path) for `tenants` (see {@link bundleTenants}). */
export function buildManifest(files: ReadonlyArray<{ path: string; data: Buffer }>, createdBy: string, tenants: readonly string[]): BundleManifest {
  const entries = files
    .map((f) => ({ path: f.path, sha256: sha256Hex(f.data), size: f.data.length }))
    .sort((a, b) => comparePaths(a.path, b.path));
  return { format: BUNDLE_FORMAT, createdBy, entries, rootHash: rootHashOf(entries), tenants: bundleTenants(tenants) };
}

/** The bytes of `manifest.json`: canonical JSON, UTF-8. */
export function manifestBytes(m: BundleManifest): Buffer {
  return Buffer.from(canonicalJson(m), 'utf8');
}

function invalid(message: string, details: Record<string, unknown> = {}): BundleError {
  return new BundleError('MANIFEST_INVALID', message, details);
}

/**
 * Parses and checks `manifest.json` bytes: canonical form, schema, sorted unique entries,
 * `rootHash`. Throws `BundleError('MANIFEST_INVALID' | 'ROOT_HASH_MISMATCH')`.
 */
export function parseManifest(bytes: Buffer): BundleManifest {
  const text = bytes.toString('utf8');
  let raw: unknown;
  try {
    raw = parseJsonBounded(text, 8);
  } catch {
    throw invalid('manifest.json is not valid JSON');
  }
  const parsed = manifestSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw invalid(`manifest.json: ${issue.path.join('.') || '(root)'}: ${issue.message}`, { field: issue.path.join('.') });
  }
  const m = parsed.data as BundleManifest;
  if (canonicalJson(raw) !== text) throw invalid('manifest.json is not in canonical JSON form (RFC 8785)');
  for (let i = 1; i < m.entries.length; i++) {
    if (comparePaths(m.entries[i - 1]!.path, m.entries[i]!.path) >= 0) {
      throw invalid(`manifest.json: entries are not sorted by path or list ${m.entries[i]!.path} twice`, { path: m.entries[i]!.path });
    }
  }
  const tenants = m.tenants ?? [];
  for (let i = 1; i < tenants.length; i++) {
    if (tenants[i - 1]! >= tenants[i]!) throw invalid(`manifest.json: tenants are not sorted or list ${tenants[i]} twice`, { field: 'tenants' });
  }
  for (const e of m.entries) {
    if (e.path === MANIFEST_PATH || e.path === SIGNATURE_PATH) throw invalid(`manifest.json must not list ${e.path}`, { path: e.path });
  }
  const root = rootHashOf(m.entries);
  if (root !== m.rootHash) {
    throw new BundleError('ROOT_HASH_MISMATCH', 'manifest rootHash is not the SHA-256 of its canonical entries', { expected: root, found: m.rootHash });
  }
  return m;
}

export type BundlePathKind =
  | { kind: 'manifest' }
  | { kind: 'signature' }
  | { kind: 'dag'; dagId: string; version: string }
  | { kind: 'schedule'; scheduleId: string }
  | { kind: 'plugin'; name: string; file: string };

const PLUGIN_NAME_RE = /^[a-z0-9][a-z0-9._-]{0,63}$/;

/**
 * What a (safe) bundle file path is, or `undefined` when the layout does not allow it:
 * `dags/<dagId>/<version>.json`, `schedules/<scheduleId>.json` or `plugins/<name>/<file…>`,
 * plus the two manifest files.
 *
 * @example
 * classifyPath('dags/hello/1.0.0.json') // { kind: 'dag', dagId: 'hello', version: '1.0.0' }
 */
export function classifyPath(path: string): BundlePathKind | undefined {
  if (path === MANIFEST_PATH) return { kind: 'manifest' };
  if (path === SIGNATURE_PATH) return { kind: 'signature' };
  const segs = path.split('/');
  if (segs[0] === 'dags' && segs.length === 3 && segs[2]!.endsWith('.json')) {
    const dagId = segs[1]!;
    const version = segs[2]!.slice(0, -'.json'.length);
    if (ID_RE.test(dagId) && isSemver(version)) return { kind: 'dag', dagId, version };
    return undefined;
  }
  if (segs[0] === 'schedules' && segs.length === 2 && segs[1]!.endsWith('.json')) {
    const scheduleId = segs[1]!.slice(0, -'.json'.length);
    return ID_RE.test(scheduleId) ? { kind: 'schedule', scheduleId } : undefined;
  }
  if (segs[0] === 'plugins' && segs.length >= 3 && PLUGIN_NAME_RE.test(segs[1]!)) {
    return { kind: 'plugin', name: segs[1]!, file: segs.slice(2).join('/') };
  }
  return undefined;
}

/** The bundle path of a DAG version. */
export function dagPath(dagId: string, version: string): string {
  return `dags/${dagId}/${version}.json`;
}

/** The bundle path of a schedule document. */
export function schedulePath(scheduleId: string): string {
  return `schedules/${scheduleId}.json`;
}
