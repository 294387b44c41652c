/**
 * DSSE envelopes (https://github.com/secure-systems-lab/dsse) and DAG signatures (CONTRACT §5).
 *
 * Signatures are over PAE = `"DSSEv1" SP LEN(type) SP type SP LEN(body) SP body` (LEN = byte
 * length in ASCII decimal). Base64 fields may use the standard or URL-safe alphabet, padded or
 * not (as DSSE requires verifiers to accept); anything else, including non-canonical trailing
 * bits, is invalid. An envelope is accepted when at least one signature verifies with a trusted
 * key; `signedBy` lists those keys. Signatures whose keyid is unknown or that fail are ignored
 * when another one verifies.
 */
import { sign, verify } from 'node:crypto';
import { ApiError } from '../core/errors.js';
import { dagCanonicalJson, dagContent } from './canonical.js';
import { loadPrivateKey, type SigningAlgorithm, type TrustStore } from './keys.js';
import { dsseEnvelopeSchema, type DagContent, type DagDocument, type DsseEnvelope } from './model.js';

/** Re-exported here for callers that import every signature concern from one module. */
export { TrustStore, generateSigningKeyPair, keyIdOf } from './keys.js';

/** The DSSE payloadType of a DAG definition. */
export const DAG_PAYLOAD_TYPE = 'application/vnd.stellaops.orchestrator.dag+json';

/**
 * DSSE pre-authentication encoding.
 *
 * @example
 * pae('t', Buffer.from('hi')).toString() // 'DSSEv1 1 t 2 hi'
 */
export function pae(payloadType: string, payload: Uint8Array): Buffer {
  const type = Buffer.from(payloadType, 'utf8');
  return Buffer.concat([
    Buffer.from(`DSSEv1 ${type.length} `, 'ascii'),
    type,
    Buffer.from(` ${payload.length} `, 'ascii'),
    payload,
  ]);
}

/**
 * Strict base64 (standard or URL-safe alphabet, padding optional but complete when present);
 * `null` when not valid.
 *
 * @example
 * decodeBase64Strict('aGk=') // <Buffer 68 69>
 * decodeBase64Strict('aGk*') // null
 */
export function decodeBase64Strict(s: string): Buffer | null {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s) && !/^[A-Za-z0-9_-]*={0,2}$/.test(s)) return null;
  const bare = s.replace(/=+$/, '');
  if (bare.length % 4 === 1) return null;
  if (bare.length !== s.length && s.length % 4 !== 0) return null;
  const enc = /[-_]/.test(bare) ? 'base64url' : 'base64';
  const buf = Buffer.from(bare, enc);
  return buf.toString(enc).replace(/=+$/, '') === bare ? buf : null;
}

function signBytes(algorithm: SigningAlgorithm, data: Buffer, key: Parameters<typeof sign>[2]): Buffer {
  return algorithm === 'ed25519'
    ? sign(null, data, key)
    : sign('sha256', data, { key: key as never, dsaEncoding: 'der' });
}

/**
 * Signs a payload as a DSSE envelope (standard padded base64), with one or several keys
 * (PKCS#8 PEM, Ed25519 or ECDSA P-256).
 *
 * @example
 * const env = dsseSign('application/vnd.example+json', Buffer.from('{}'), privateKeyPem);
 */
export function dsseSign(
  payloadType: string,
  payload: Uint8Array | string,
  privateKeyPem: string | readonly string[],
): DsseEnvelope {
  const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : Buffer.from(payload);
  const data = pae(payloadType, body);
  const pems = typeof privateKeyPem === 'string' ? [privateKeyPem] : privateKeyPem;
  if (pems.length === 0) throw new Error('dsseSign needs at least one key');
  const signatures = pems.map((pem) => {
    const { key, algorithm, keyid } = loadPrivateKey(pem);
    return { keyid, sig: signBytes(algorithm, data, key).toString('base64') };
  });
  return { payloadType, payload: body.toString('base64'), signatures };
}

function invalid(message: string, details?: Record<string, unknown>): ApiError {
  return new ApiError('SIGNATURE_INVALID', message, details);
}

/**
 * Verifies a DSSE envelope against trusted keys. Throws `ApiError('SIGNATURE_INVALID')` for a
 * malformed envelope, bad base64, a payloadType other than `expectedPayloadType`, or when no
 * signature verifies with a trusted key (`details.reasons` says why, per signature).
 *
 * @example
 * const { payload, signedBy } = dsseVerify(env, trust, DAG_PAYLOAD_TYPE);
 */
export function dsseVerify(
  envelope: unknown,
  trust: TrustStore,
  expectedPayloadType: string,
): { payload: Buffer; signedBy: string[] } {
  const parsed = dsseEnvelopeSchema.safeParse(envelope);
  if (!parsed.success) throw invalid('malformed DSSE envelope');
  const env = parsed.data;
  if (env.payloadType !== expectedPayloadType) {
    throw invalid(`unexpected payloadType (expected ${expectedPayloadType})`, { payloadType: env.payloadType });
  }
  const payload = decodeBase64Strict(env.payload);
  if (!payload) throw invalid('envelope payload is not valid base64');
  if (env.signatures.length === 0) throw invalid('envelope has no signatures');
  const sigs = env.signatures.map((s) => ({ keyid: s.keyid, sig: decodeBase64Strict(s.sig) }));
  if (sigs.some((s) => !s.sig)) throw invalid('a signature is not valid base64');

  const data = pae(env.payloadType, payload);
  const signedBy = new Set<string>();
  const reasons: Array<{ keyid: string | null; reason: string }> = [];
  for (const { keyid, sig } of sigs) {
    const candidates = keyid ? [keyid] : trust.keyIds();
    let ok = false;
    for (const id of candidates) {
      const entry = trust.get(id);
      if (!entry) continue;
      if (verifyBytes(entry.algorithm, data, entry.key, sig!)) {
        signedBy.add(id);
        ok = true;
      }
    }
    if (!ok) {
      const reason = keyid && !trust.has(keyid) ? 'unknown keyid' : 'signature does not verify';
      reasons.push({ keyid: keyid || null, reason });
    }
  }
  if (signedBy.size === 0) {
    const only = reasons.length === 1 ? `: ${reasons[0]!.reason}` : '';
    throw invalid(`no signature verifies with a trusted key${only}`, { reasons });
  }
  return { payload, signedBy: [...signedBy].sort() };
}

function verifyBytes(
  algorithm: SigningAlgorithm,
  data: Buffer,
  key: Parameters<typeof verify>[2],
  sig: Buffer,
): boolean {
  try {
    return algorithm === 'ed25519'
      ? verify(null, data, key, sig)
      : verify('sha256', data, { key: key as never, dsaEncoding: 'der' }, sig);
  } catch {
    return false;
  }
}

/**
 * Verifies a DAG document's signature; returns the key ids that signed it (`[]` for an
 * unsigned document when `allowUnsigned`). The signed payload must be byte-for-byte the
 * canonical JSON of the document's content. A signature that is present is always checked,
 * even with `allowUnsigned`. Throws `ApiError('SIGNATURE_INVALID')`.
 *
 * @example
 * verifyDagSignature(doc, trust, { allowUnsigned: false }) // ['9a0e…']
 */
export function verifyDagSignature(
  doc: DagDocument,
  trust: TrustStore,
  opts: { allowUnsigned: boolean },
): string[] {
  if (doc.signature === undefined) {
    if (opts.allowUnsigned) return [];
    throw invalid('DAG is not signed (the server does not allow unsigned DAGs)');
  }
  const { payload, signedBy } = dsseVerify(doc.signature, trust, DAG_PAYLOAD_TYPE);
  if (!payload.equals(Buffer.from(dagCanonicalJson(doc), 'utf8'))) {
    throw invalid('the document differs from its signed payload');
  }
  return signedBy;
}

/**
 * The document signed with one or several private keys (PKCS#8 PEM): its content plus a DSSE
 * `signature` over the content's canonical JSON. An existing signature is replaced.
 *
 * @example
 * const signed = signDag(doc, readFileSync('fixtures/keys/dev-signing.key', 'utf8'));
 */
export function signDag(doc: DagDocument | DagContent, privateKeyPem: string | readonly string[]): DagDocument {
  const content = dagContent(doc);
  return { ...content, signature: dsseSign(DAG_PAYLOAD_TYPE, dagCanonicalJson(content), privateKeyPem) };
}
