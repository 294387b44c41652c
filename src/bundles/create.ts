/**
 * `createBundle`: signed DAG documents and plugin folders → a deterministic, signed `.tgz`.
 *
 * - DAG documents are stored as the canonical JSON (RFC 8785) of the document, signature
 *   included, at `dags/<dagId>/<version>.json`; each must already be signed and its signed
 *   payload must be its content (the verifier checks the signature against trusted keys).
 * - Schedule documents likewise, signed, at `schedules/<scheduleId>.json` (schedules.ts).
 * - Plugin folders are stored file for file at `plugins/<name>/…`.
 * - The tenants the bundle is for go into the signed manifest (`tenants`); an import into any
 *   other tenant is refused.
 * - `manifest.json` lists every file (see manifest.ts); `manifest.sig.json` is the DSSE
 *   envelope over its bytes, pretty-printed JSON with a trailing newline.
 * - The tar and gzip layers are deterministic (tar.ts, gzip.ts). Ed25519 signatures are
 *   deterministic too, so the same inputs and key give byte-identical bundles; ECDSA P-256
 *   signatures are randomised, so with a P-256 key only `manifest.sig.json` differs.
 */
import { canonicalJson } from '../core/hash.js';
import { VERSION } from '../core/runtime.js';
import { dagCanonicalJson } from '../dags/canonical.js';
import { parseDag, type DagDocument } from '../dags/model.js';
import { decodeBase64Strict, DAG_PAYLOAD_TYPE, dsseSign } from '../dags/signature.js';
import { validateDag } from '../dags/validate.js';
import { BundleError } from './errors.js';
import { gzipDeterministic } from './gzip.js';
import { bundleLimits, type BundleLimits } from './limits.js';
import { BUNDLE_PAYLOAD_TYPE, buildManifest, bundleTenants, dagPath, MANIFEST_PATH, manifestBytes, SIGNATURE_PATH, type BundleManifest } from './manifest.js';
import { checkPlugin, type PluginFile } from './plugins.js';
import { bundledScheduleFile } from './schedules.js';
import { writeTar, type TarFile } from './tar.js';

export interface CreateBundleInput {
  /** Signed DAG documents (as parsed JSON values or documents). */
  dags: readonly unknown[];
  /** Signed schedule documents (as parsed JSON values). */
  schedules?: readonly unknown[];
  /** Plugin folders: the folder name and its files. */
  plugins?: ReadonlyArray<{ name: string; files: readonly PluginFile[] }>;
  /** The tenants the bundle may be imported for (at least one; tenant ids). */
  tenants: readonly string[];
  /** PKCS#8 PEM private key(s), Ed25519 or ECDSA P-256, that sign the manifest. */
  privateKeyPem: string | readonly string[];
  /** Default `stella-orchestrator <VERSION>`. */
  createdBy?: string;
  limits?: Partial<BundleLimits>;
}

export interface CreatedBundle {
  bytes: Buffer;
  manifest: BundleManifest;
  rootHash: string;
}

export const DEFAULT_CREATED_BY = `stella-orchestrator ${VERSION}`;

function checkSignedDag(raw: unknown, index: number): DagDocument {
  let doc: DagDocument;
  try {
    doc = parseDag(raw);
  } catch (e) {
    throw new BundleError('DAG_INVALID', `DAG #${index + 1}: ${(e as Error).message}`, { index });
  }
  const name = `${doc.dagId}@${doc.version}`;
  if (!doc.signature) throw new BundleError('DAG_SIGNATURE_INVALID', `${name}: not signed (sign it with "orchestrator dag sign" first)`, { index });
  const payload = decodeBase64Strict(doc.signature.payload);
  if (doc.signature.payloadType !== DAG_PAYLOAD_TYPE || !payload || !payload.equals(Buffer.from(dagCanonicalJson(doc), 'utf8'))) {
    throw new BundleError('DAG_SIGNATURE_INVALID', `${name}: the document differs from its signed payload`, { index });
  }
  try {
    validateDag(doc, { pluginExists: () => true });
  } catch (e) {
    throw new BundleError('DAG_INVALID', `${name}: ${(e as Error).message}`, { index, ...((e as { details?: object }).details ?? {}) });
  }
  return doc;
}

/**
 * Builds a bundle in memory. Throws `BundleError` for no or an invalid tenant, an unsigned or
 * invalid DAG or schedule, the same dagId@version or scheduleId twice with different content, an invalid plugin folder,
 * or an unsafe path.
 *
 * @example
 * const { bytes, rootHash } = createBundle({ dags: [signedDoc], tenants: ['acme'], privateKeyPem });
 */
export function createBundle(input: CreateBundleInput): CreatedBundle {
  const limits = bundleLimits(input.limits);
  const tenants = bundleTenants(input.tenants ?? []);
  const files = new Map<string, Buffer>();
  input.dags.forEach((raw, i) => {
    const doc = checkSignedDag(raw, i);
    const path = dagPath(doc.dagId, doc.version);
    const data = Buffer.from(canonicalJson(doc), 'utf8');
    const prior = files.get(path);
    if (prior && !prior.equals(data)) {
      throw new BundleError('DUPLICATE_PATH', `${doc.dagId}@${doc.version} is given twice with different content`, { path });
    }
    files.set(path, data);
  });
  (input.schedules ?? []).forEach((raw, i) => {
    const { path, data } = bundledScheduleFile(raw, i);
    const prior = files.get(path);
    if (prior && !prior.equals(data)) throw new BundleError('DUPLICATE_PATH', `schedule ${path} is given twice with different content`, { path, scheduleIndex: i });
    files.set(path, data);
  });
  const pluginNames = new Set<string>();
  for (const p of input.plugins ?? []) {
    if (pluginNames.has(p.name)) throw new BundleError('DUPLICATE_PATH', `plugin ${p.name} is given twice`, { path: `plugins/${p.name}/` });
    pluginNames.add(p.name);
    const checked = checkPlugin(p.name, p.files);
    for (const f of checked.files) files.set(`plugins/${p.name}/${f.path}`, f.data);
  }
  const list: TarFile[] = [...files.entries()].map(([path, data]) => ({ path, data }));
  for (const f of list) {
    if (f.data.length > limits.maxFileBytes) {
      throw new BundleError('LIMIT_EXCEEDED', `${f.path}: larger than ${limits.maxFileBytes} bytes`, { path: f.path, limit: 'maxFileBytes' });
    }
  }
  const manifest = buildManifest(list, input.createdBy ?? DEFAULT_CREATED_BY, tenants);
  const mBytes = manifestBytes(manifest);
  const envelope = dsseSign(BUNDLE_PAYLOAD_TYPE, mBytes, input.privateKeyPem);
  const sigBytes = Buffer.from(JSON.stringify(envelope, null, 2) + '\n', 'utf8');
  const tar = writeTar([...list, { path: MANIFEST_PATH, data: mBytes }, { path: SIGNATURE_PATH, data: sigBytes }], limits);
  if (tar.length > limits.maxUnpackedBytes) {
    throw new BundleError('LIMIT_EXCEEDED', `bundle would unpack to ${tar.length} bytes, over ${limits.maxUnpackedBytes}`, { limit: 'maxUnpackedBytes' });
  }
  return { bytes: gzipDeterministic(tar), manifest, rootHash: manifest.rootHash };
}
