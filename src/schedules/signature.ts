/**
 * Signed schedule documents (preloaded `*.schedule.json` files), under the rules of signed
 * DAGs: a DSSE envelope in `signature` whose payloadType is {@link SCHEDULE_PAYLOAD_TYPE} and
 * whose payload is byte for byte the RFC 8785 canonical JSON of the document without
 * `signature`; verified with the keys the server trusts for the tenant (installation and
 * per-tenant roots); an unsigned document only with `--allow-unsigned`; a signature that is
 * present is always checked. Another payloadType (a signed DAG's envelope pasted into a
 * schedule) is refused, so one kind of document cannot pass for the other.
 *
 * @example
 * const signed = signSchedule({ scheduleId: 'nightly', dagId: 'feeds', cron: '@daily' }, pem);
 * verifyScheduleSignature(signed, trust.forTenant('demo'), { allowUnsigned: false }); // { content, signedBy }
 */
import { ApiError, canonicalJson } from '../core/index.js';
import { dsseSign, dsseVerify, type TrustStore } from '../dags/signature.js';

/** The DSSE payloadType of a schedule document. */
export const SCHEDULE_PAYLOAD_TYPE = 'application/vnd.stellaops.orchestrator.schedule+json';

export interface VerifiedSchedule {
  /** The document without `signature`. */
  content: Record<string, unknown>;
  /** The envelope as canonical JSON (stored with the schedule), or null when unsigned. */
  signature: string | null;
  signedBy: string[];
}

function contentOf(doc: Record<string, unknown>): Record<string, unknown> {
  const { signature: _signature, ...content } = doc;
  return content;
}

export function verifyScheduleSignature(doc: unknown, trust: TrustStore, opts: { allowUnsigned: boolean }): VerifiedSchedule {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new ApiError('VALIDATION_FAILED', 'a schedule document is a JSON object');
  const d = doc as Record<string, unknown>;
  const content = contentOf(d);
  if (d.signature === undefined) {
    if (opts.allowUnsigned) return { content, signature: null, signedBy: [] };
    throw new ApiError('SIGNATURE_INVALID', 'schedule is not signed (the server does not allow unsigned documents)');
  }
  const { payload, signedBy } = dsseVerify(d.signature, trust, SCHEDULE_PAYLOAD_TYPE);
  if (!payload.equals(Buffer.from(canonicalJson(content), 'utf8'))) {
    throw new ApiError('SIGNATURE_INVALID', 'the document differs from its signed payload');
  }
  return { content, signature: canonicalJson(d.signature), signedBy };
}

/** The document signed with one or several private keys (PKCS#8 PEM); an existing signature is replaced. */
export function signSchedule(doc: Record<string, unknown>, privateKeyPem: string | readonly string[]): Record<string, unknown> {
  const content = contentOf(doc);
  return { ...content, signature: dsseSign(SCHEDULE_PAYLOAD_TYPE, canonicalJson(content), privateKeyPem) };
}
