/**
 * `verifyBundle`: every check a bundle must pass before anything of it is installed, in this
 * order (the first failure throws a {@link BundleError} naming the problem):
 *
 * 1. size of the file; gzip (one member, our header, CRC, output cap); tar (strict ustar, safe
 *    unique paths, files and folders only, entry and size limits);
 * 2. `manifest.json` and `manifest.sig.json` present;
 * 3. the DSSE signature verifies with a trusted key (payloadType
 *    `application/vnd.stellaops.orchestrator.bundle+json`) and its payload is byte-for-byte
 *    `manifest.json` — with `tenant`, a key trusted for that tenant (installation-wide or its
 *    own);
 * 4. the manifest: canonical JSON, schema, sorted unique entries and tenants, `rootHash`; with
 *    `tenant`, the manifest names that tenant (`TENANT_MISMATCH`; `TENANT_UNBOUND` for a
 *    format `/1` manifest, which names none);
 * 5. every listed file is present with its size and SHA-256; no file is unlisted; no empty
 *    folder; every path fits the layout (`dags/<dagId>/<version>.json`,
 *    `schedules/<scheduleId>.json`, `plugins/<name>/…`);
 * 6. every DAG document parses, names the dagId/version of its path, is structurally valid
 *    (graph, references; plugin existence is checked at import) and its own DAG signature
 *    verifies with a trusted key;
 * 7. every schedule document parses, names the scheduleId of its path, has a valid cron, zone
 *    and window, and its own schedule signature verifies with a trusted key (whether the DAG
 *    it names exists is checked at import);
 * 8. every plugin folder has a valid `plugin.json` (name = folder, entry present, not a built-in).
 */
import { ApiError } from '../core/errors.js';
import { sha256Hex } from '../core/hash.js';
import { parseJsonBounded } from '../core/json.js';
import { dagHash } from '../dags/canonical.js';
import type { TrustStore } from '../dags/keys.js';
import { parseDag, type DagDocument } from '../dags/model.js';
import { dsseVerify, verifyDagSignature } from '../dags/signature.js';
import { validateDag } from '../dags/validate.js';
import { BundleError } from './errors.js';
import { gunzipStrict } from './gzip.js';
import { bundleLimits, type BundleLimits } from './limits.js';
import { BUNDLE_PAYLOAD_TYPE, classifyPath, MANIFEST_PATH, parseManifest, SIGNATURE_PATH, type BundleManifest } from './manifest.js';
import { parentsOf } from './paths.js';
import { checkPlugin, type BundlePlugin, type PluginFile } from './plugins.js';
import { verifyBundledSchedule, type VerifiedBundleSchedule } from './schedules.js';
import { readTar } from './tar.js';

export interface VerifiedDag {
  /** Path in the bundle. */
  path: string;
  doc: DagDocument;
  /** The DAG version hash (SHA-256 of its canonical content). */
  hash: string;
  /** Trusted key ids that signed the DAG document. */
  signedBy: string[];
}

export interface VerifiedBundle {
  /** SHA-256 of the `.tgz` bytes. */
  bundleSha256: string;
  rootHash: string;
  manifest: BundleManifest;
  /** Trusted key ids that signed the manifest. */
  signedBy: string[];
  /** The tenants the signed manifest names (empty for a format `/1` bundle). */
  tenants: string[];
  /** Sorted by path (dagId, then version as a string). */
  dags: VerifiedDag[];
  /** Sorted by path (scheduleId). */
  schedules: VerifiedBundleSchedule[];
  /** Sorted by name. */
  plugins: BundlePlugin[];
  /** Listed files and their total size. */
  fileCount: number;
  totalBytes: number;
}

export interface VerifyOptions {
  /**
   * Verify as an import into this tenant would: signatures with the keys trusted for it, and
   * the manifest must name it. Without it, the trust store's keys are used as given and the
   * tenants are only reported.
   */
  tenant?: string;
  limits?: Partial<BundleLimits>;
  /** Progress messages for long operations (the CLI prints them on a TTY). */
  onProgress?(message: string): void;
}

/**
 * Unpacks a bundle's files (strictly, within the limits) without checking the manifest.
 * Folders must be parents of files. @internal (verifyBundle, tests)
 */
export function unpackBundle(bytes: Uint8Array, limits: BundleLimits): Map<string, Buffer> {
  if (bytes.byteLength > limits.maxBundleBytes) {
    throw new BundleError('LIMIT_EXCEEDED', `bundle file is larger than ${limits.maxBundleBytes} bytes`, { limit: 'maxBundleBytes' });
  }
  const tar = gunzipStrict(bytes, limits.maxUnpackedBytes);
  const files = new Map<string, Buffer>();
  const dirs: string[] = [];
  for (const e of readTar(tar, limits)) {
    if (e.type === 'file') files.set(e.path, e.data);
    else dirs.push(e.path);
  }
  const parents = new Set([...files.keys()].flatMap(parentsOf));
  for (const d of dirs) {
    if (!parents.has(d)) throw new BundleError('FILE_UNLISTED', `${d}/: empty folder not listed in the manifest`, { path: `${d}/` });
  }
  return files;
}

function rethrowAs(e: unknown, reason: 'SIGNATURE_INVALID' | 'DAG_SIGNATURE_INVALID' | 'DAG_INVALID', prefix: string, path?: string): never {
  if (e instanceof BundleError) throw e;
  if (e instanceof ApiError) {
    throw new BundleError(reason, `${prefix}: ${e.message}`, { ...(path ? { path } : {}), ...(e.details ?? {}), cause: e.code });
  }
  throw e;
}

/**
 * The manifest's DSSE check with the keys trusted for the tenant; when that fails but a key
 * trusted only for other tenants verifies it, the error says so (the operator's mistake is
 * then plain).
 */
function verifyFor(envelope: unknown, keys: TrustStore, trust: TrustStore, tenant: string | undefined): { payload: Buffer; signedBy: string[] } {
  try {
    return dsseVerify(envelope, keys, BUNDLE_PAYLOAD_TYPE);
  } catch (e) {
    if (tenant === undefined || !(e instanceof ApiError)) throw e;
    let others: string[];
    try {
      others = dsseVerify(envelope, trust.anyTenant(), BUNDLE_PAYLOAD_TYPE).signedBy;
    } catch {
      throw e;
    }
    throw new BundleError('SIGNATURE_INVALID', `manifest.sig.json: signed by ${others.join(', ')}, a key not trusted for tenant ${tenant}`, { tenant, signedBy: others });
  }
}

/** The import's tenant must be one the signed manifest names. */
function checkTenant(tenants: readonly string[], tenant: string): void {
  if (tenants.length === 0) {
    throw new BundleError(
      'TENANT_UNBOUND',
      'the bundle names no tenant (format stella-orchestrator-bundle/1, made before bundles were bound to tenants): re-create it with "orchestrator bundle create --tenant T …"',
      { tenant },
    );
  }
  if (!tenants.includes(tenant)) {
    throw new BundleError('TENANT_MISMATCH', `the bundle is signed for tenant(s) ${tenants.join(', ')}, not for ${tenant}`, { tenant, tenants: [...tenants] });
  }
}

/**
 * Verifies a bundle completely (see the module comment); installs nothing. Throws
 * `BundleError` (an `ApiError`: `SIGNATURE_INVALID` or `VALIDATION_FAILED`, `details.reason`).
 *
 * @example
 * const v = verifyBundle(readFileSync('b.tgz'), TrustStore.fromDir('trust'));
 * v.dags.map((d) => `${d.doc.dagId}@${d.doc.version}`)
 */
export function verifyBundle(bytes: Uint8Array, trust: TrustStore, opts: VerifyOptions = {}): VerifiedBundle {
  const limits = bundleLimits(opts.limits);
  opts.onProgress?.(`unpacking ${bytes.byteLength} bytes`);
  const files = unpackBundle(bytes, limits);

  const manifestBytes = files.get(MANIFEST_PATH);
  const sigBytes = files.get(SIGNATURE_PATH);
  if (!manifestBytes) throw new BundleError('MANIFEST_MISSING', 'bundle has no manifest.json', { path: MANIFEST_PATH });
  if (!sigBytes) throw new BundleError('MANIFEST_MISSING', 'bundle has no manifest.sig.json (it is not signed)', { path: SIGNATURE_PATH });

  opts.onProgress?.('checking the manifest signature');
  const keys = opts.tenant === undefined ? trust : trust.forTenant(opts.tenant);
  let payload: Buffer;
  let signedBy: string[];
  try {
    const envelope = parseJsonBounded(sigBytes.toString('utf8'), 8);
    ({ payload, signedBy } = verifyFor(envelope, keys, trust, opts.tenant));
  } catch (e) {
    rethrowAs(e, 'SIGNATURE_INVALID', 'manifest.sig.json');
  }
  if (!payload!.equals(manifestBytes)) {
    throw new BundleError('MANIFEST_MISMATCH', 'manifest.json is not the payload its signature covers', { path: MANIFEST_PATH });
  }
  const manifest = parseManifest(manifestBytes);
  const tenants = manifest.tenants ?? [];
  if (opts.tenant !== undefined) checkTenant(tenants, opts.tenant);

  opts.onProgress?.(`checking ${manifest.entries.length} files`);
  const listed = new Set<string>();
  let totalBytes = 0;
  const dagFiles: Array<{ path: string; dagId: string; version: string; data: Buffer }> = [];
  const pluginFiles = new Map<string, PluginFile[]>();
  const scheduleFiles: Array<{ path: string; scheduleId: string; data: Buffer }> = [];
  for (const entry of manifest.entries) {
    const data = files.get(entry.path);
    if (!data) throw new BundleError('FILE_MISSING', `${entry.path}: listed in the manifest but not in the bundle`, { path: entry.path });
    if (data.length !== entry.size) {
      throw new BundleError('SIZE_MISMATCH', `${entry.path}: ${data.length} bytes, the manifest says ${entry.size}`, { path: entry.path });
    }
    if (sha256Hex(data) !== entry.sha256) {
      throw new BundleError('HASH_MISMATCH', `${entry.path}: SHA-256 does not match the manifest`, { path: entry.path });
    }
    listed.add(entry.path);
    totalBytes += data.length;
    const kind = classifyPath(entry.path);
    if (kind?.kind === 'dag') dagFiles.push({ path: entry.path, dagId: kind.dagId, version: kind.version, data });
    else if (kind?.kind === 'schedule') scheduleFiles.push({ path: entry.path, scheduleId: kind.scheduleId, data });
    else if (kind?.kind === 'plugin') {
      const list = pluginFiles.get(kind.name) ?? [];
      list.push({ path: kind.file, data });
      pluginFiles.set(kind.name, list);
    } else {
      throw new BundleError('LAYOUT_INVALID', `${entry.path}: not a place a bundle may hold a file (dags/<dagId>/<version>.json, schedules/<scheduleId>.json or plugins/<name>/…)`, { path: entry.path });
    }
  }
  for (const path of files.keys()) {
    if (path === MANIFEST_PATH || path === SIGNATURE_PATH || listed.has(path)) continue;
    throw new BundleError('FILE_UNLISTED', `${path}: in the bundle but not listed in the manifest`, { path });
  }

  opts.onProgress?.(`checking ${dagFiles.length} DAG documents`);
  const dags: VerifiedDag[] = dagFiles.map(({ path, dagId, version, data }) => {
    let doc: DagDocument;
    try {
      doc = parseDag(parseJsonBounded(data.toString('utf8'), 64));
      if (doc.dagId !== dagId || doc.version !== version) {
        throw new BundleError('DAG_INVALID', `${path}: the document is ${doc.dagId}@${doc.version}, its path says ${dagId}@${version}`, { path });
      }
      validateDag(doc, { pluginExists: () => true });
    } catch (e) {
      rethrowAs(e, 'DAG_INVALID', path, path);
    }
    let dagSignedBy: string[];
    try {
      dagSignedBy = verifyDagSignature(doc!, keys, { allowUnsigned: false });
    } catch (e) {
      rethrowAs(e, 'DAG_SIGNATURE_INVALID', path, path);
    }
    return { path, doc: doc!, hash: dagHash(doc!), signedBy: dagSignedBy! };
  });

  opts.onProgress?.(`checking ${scheduleFiles.length} schedule documents`);
  const schedules = scheduleFiles.map(({ path, scheduleId, data }) => verifyBundledSchedule(path, scheduleId, data, keys));

  const plugins = [...pluginFiles.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([name, list]) => checkPlugin(name, list));

  return {
    bundleSha256: sha256Hex(bytes),
    rootHash: manifest.rootHash,
    manifest,
    signedBy: signedBy!,
    tenants,
    dags,
    schedules,
    plugins,
    fileCount: manifest.entries.length,
    totalBytes,
  };
}
