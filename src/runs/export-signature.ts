/**
 * Signed exports: with a key, an export's manifest line also carries a DSSE envelope
 * (`src/dags/signature.ts`, the same envelope and keys as DAG signatures) over the canonical
 * JSON of `{count, kind, sha256, tenant}` — what the export holds, whose it is, and the SHA-256
 * of every byte before the manifest. An event export's statement also holds the chain's `head`
 * (the last event's hash, `""` when none) and its `checkpoint` (or null), so a rewritten file
 * with a valid-looking chain of its own fails. An import verifies it against trusted public keys.
 *
 * @example
 * const lines = ndjsonExport(records, (m) => signExportManifest('runs', 'demo', m, keyPem));
 * const signedBy = verifyExportManifest('runs', 'demo', manifest, trust); // ['9a0e…']
 */
import { ApiError, canonicalJson } from '../core/index.js';
import { dsseSign, dsseVerify, type TrustStore } from '../dags/signature.js';

/** DSSE payloadType of a signed export manifest. */
export const EXPORT_PAYLOAD_TYPE = 'application/vnd.stellaops.orchestrator.export+json';

export type ExportKind = 'runs' | 'events';

/** What a signature covers: the manifest's count and hash, and for events the chain's ends. */
export interface SignedManifest {
  count: number;
  sha256: string;
  head?: string;
  checkpoint?: unknown;
}

function statement(kind: ExportKind, tenant: string, m: SignedManifest): string {
  const chain = kind === 'events' ? { checkpoint: m.checkpoint ?? null, head: m.head ?? '' } : {};
  return canonicalJson({ ...chain, count: m.count, kind, sha256: m.sha256, tenant });
}

/** The manifest's extra field: `{signature: <DSSE envelope>}`. */
export function signExportManifest(kind: ExportKind, tenant: string, m: SignedManifest, privateKeyPem: string): { signature: unknown } {
  return { signature: dsseSign(EXPORT_PAYLOAD_TYPE, statement(kind, tenant, m), privateKeyPem) };
}

/**
 * The key ids that signed this export (a manifest already checked against its content).
 * Throws `SIGNATURE_INVALID` when it is unsigned, no signature verifies with a trusted key, or
 * the signature is for another export (other content, count, kind or tenant).
 */
export function verifyExportManifest(kind: ExportKind, tenant: string, manifest: SignedManifest & { signature?: unknown }, trust: TrustStore): string[] {
  if (manifest.signature === undefined) throw new ApiError('SIGNATURE_INVALID', 'the export is not signed');
  const { payload, signedBy } = dsseVerify(manifest.signature, trust, EXPORT_PAYLOAD_TYPE);
  if (payload.toString('utf8') !== statement(kind, tenant, manifest)) {
    throw new ApiError('SIGNATURE_INVALID', `the signature is for another export (not these ${kind} records of tenant ${tenant})`);
  }
  return signedBy;
}
