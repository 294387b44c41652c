/**
 * Schedule documents in a bundle, `schedules/<scheduleId>.json`: the canonical JSON of the
 * signed document (as a preloaded `*.schedule.json` holds it, `docs/SCHEDULES.md`), under the
 * rules of the bundle's DAG documents. `createBundle` takes only documents that are signed and
 * whose signed payload is their content; `verifyBundle` checks each one's shape, cron, zone and
 * window, that it names the id of its path, and that its own signature verifies with a key
 * trusted for the tenant. Whether the DAG it names exists is checked at import.
 *
 * @example
 * const s = verifyBundledSchedule('schedules/nightly.json', 'nightly', bytes, trust.forTenant('acme'));
 * s.incoming.doc.cron; // '30 2 * * *'
 */
import { ApiError } from '../core/errors.js';
import { canonicalJson } from '../core/hash.js';
import { parseJsonBounded } from '../core/json.js';
import { decodeBase64Strict, type TrustStore } from '../dags/signature.js';
import { parseScheduleDocument, readSignedSchedule, type IncomingSchedule } from '../schedules/install.js';
import type { ScheduleDocument } from '../schedules/model.js';
import { SCHEDULE_PAYLOAD_TYPE } from '../schedules/signature.js';
import { BundleError } from './errors.js';
import { schedulePath } from './manifest.js';

export interface VerifiedBundleSchedule {
  /** Path in the bundle. */
  path: string;
  scheduleId: string;
  /** The document (without `signature`), its envelope and the trusted key ids that signed it. */
  incoming: IncomingSchedule & { signedBy: string[] };
}

function invalid(e: unknown, path: string | undefined, prefix: string, index?: number): never {
  if (e instanceof BundleError) throw e;
  if (e instanceof ApiError) {
    const reason = e.code === 'SIGNATURE_INVALID' ? 'SCHEDULE_SIGNATURE_INVALID' : 'SCHEDULE_INVALID';
    throw new BundleError(reason, `${prefix}: ${e.message}`, { ...(path ? { path } : {}), ...(index !== undefined ? { scheduleIndex: index } : {}), ...(e.details ?? {}), cause: e.code });
  }
  throw e;
}

/**
 * For `createBundle`: a signed schedule document (its envelope's payload is its content; which
 * key signed it is the verifier's business) → its bundle path and canonical bytes.
 */
export function bundledScheduleFile(raw: unknown, index: number): { path: string; data: Buffer } {
  const what = `schedule #${index + 1}`;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new BundleError('SCHEDULE_INVALID', `${what}: a schedule document is a JSON object`, { scheduleIndex: index });
  }
  const { signature, ...content } = raw as Record<string, unknown>;
  let doc: ScheduleDocument;
  try {
    doc = parseScheduleDocument(content);
  } catch (e) {
    invalid(e, undefined, what, index);
  }
  const name = `schedule ${doc!.scheduleId}`;
  if (signature === undefined) {
    throw new BundleError('SCHEDULE_SIGNATURE_INVALID', `${name}: not signed (sign it first: signSchedule in src/schedules)`, { scheduleIndex: index });
  }
  const env = signature as { payloadType?: unknown; payload?: unknown } | null;
  const payload = typeof env?.payload === 'string' ? decodeBase64Strict(env.payload) : undefined;
  if (env?.payloadType !== SCHEDULE_PAYLOAD_TYPE || !payload || !payload.equals(Buffer.from(canonicalJson(content), 'utf8'))) {
    throw new BundleError('SCHEDULE_SIGNATURE_INVALID', `${name}: the document differs from its signed payload`, { scheduleIndex: index });
  }
  return { path: schedulePath(doc!.scheduleId), data: Buffer.from(canonicalJson(raw), 'utf8') };
}

/**
 * For `verifyBundle`: parses `schedules/<id>.json`, checks it names `scheduleId`, its shape,
 * cron, zone and window, and its own signature with `keys` (never unsigned).
 */
export function verifyBundledSchedule(path: string, scheduleId: string, data: Buffer, keys: TrustStore): VerifiedBundleSchedule {
  let raw: unknown;
  try {
    raw = parseJsonBounded(data.toString('utf8'), 64);
  } catch (e) {
    throw new BundleError('SCHEDULE_INVALID', `${path}: not valid JSON (${(e as Error).message})`, { path });
  }
  let incoming: IncomingSchedule;
  try {
    incoming = readSignedSchedule(raw, keys, { allowUnsigned: false });
  } catch (e) {
    invalid(e, path, path);
  }
  if (incoming!.doc.scheduleId !== scheduleId) {
    throw new BundleError('SCHEDULE_INVALID', `${path}: the document is schedule ${incoming!.doc.scheduleId}, its path says ${scheduleId}`, { path });
  }
  return { path, scheduleId, incoming: { ...incoming!, signedBy: incoming!.signedBy ?? [] } };
}
