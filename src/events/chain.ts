/**
 * Verifies an exported event log's hash chain (see src/store/events.ts for the definition):
 * per tenant, `seq` runs 1, 2, 3… (or continues from the first exported one), each
 * `prevHash` is the previous event's `hash`, and each `hash` is
 * `sha256_hex(prevHash + JCS(event view))`, the view being every field but `prevHash` and
 * `hash` (so a field added to an exported event breaks it too). An edited, removed, reordered or
 * inserted event breaks it. Where the chain starts is proven too: event 1 has `prevHash` `""`,
 * and when the export's manifest carries a retention checkpoint `{tenant, seq, hash}` (the last
 * pruned event), the tenant's first exported event must be `seq + 1` with `prevHash` = that hash.
 *
 * @example
 * const r = verifyEventChain(parseNdjsonExport(text));
 * if (!r.ok) console.error(r.problems);
 */
import { canonicalJson, sha256Hex } from '../core/index.js';

export interface ChainReport {
  ok: boolean;
  events: number;
  /** `from`: the checkpoint the tenant's chain continues from (a pruned prefix), if any. */
  tenants: Record<string, { first: number; last: number; head: string; from?: { seq: number; hash: string } }>;
  problems: Array<{ index: number; seq?: number; tenant?: string; problem: string }>;
}

/** The chain links of an exported event; every other field is the hashed view. */
const LINKS = new Set(['prevHash', 'hash']);

export interface Checkpoint {
  tenant: string;
  seq: number;
  hash: string;
}

/** The checkpoint of an export manifest, or undefined (a malformed one is a problem, not ignored). */
function checkpointOf(manifest: Record<string, unknown> | undefined): Checkpoint | undefined | 'invalid' {
  const c = manifest?.checkpoint as Partial<Checkpoint> | undefined;
  if (c === undefined) return undefined;
  const ok = typeof c === 'object' && c !== null && typeof c.tenant === 'string' && Number.isInteger(c.seq) && (c.seq as number) >= 1 && typeof c.hash === 'string' && /^[0-9a-f]{64}$/.test(c.hash);
  return ok ? (c as Checkpoint) : 'invalid';
}

export function verifyEventChain(records: unknown[], manifest?: Record<string, unknown>): ChainReport {
  const report: ChainReport = { ok: true, events: records.length, tenants: {}, problems: [] };
  const heads = new Map<string, { seq: number; hash: string }>();
  const cp = checkpointOf(manifest);
  if (cp === 'invalid') report.problems.push({ index: records.length, problem: 'the manifest\'s checkpoint is malformed' });
  records.forEach((raw, index) => {
    const r = raw as Record<string, unknown>;
    const tenant = typeof r.tenant === 'string' ? r.tenant : undefined;
    const seq = typeof r.seq === 'number' ? r.seq : undefined;
    const fail = (problem: string) => report.problems.push({ index, seq, tenant, problem });
    if (!tenant || seq === undefined || typeof r.hash !== 'string' || typeof r.prevHash !== 'string') {
      fail('not an exported event (tenant, seq, prevHash, hash required)');
      return;
    }
    const view: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(r)) if (!LINKS.has(k) && v !== undefined) view[k] = v;
    const head = heads.get(tenant);
    if (head) {
      if (seq !== head.seq + 1) fail(`seq ${seq} follows ${head.seq}`);
      if (r.prevHash !== head.hash) fail('prevHash is not the previous event\'s hash');
    } else if (cp && cp !== 'invalid' && cp.tenant === tenant) {
      if (seq !== cp.seq + 1) fail(`the first event after the checkpoint (seq ${cp.seq}) is seq ${seq}`);
      if (r.prevHash !== cp.hash) fail('prevHash of the first event is not the checkpoint\'s hash');
    } else if (seq === 1 && r.prevHash !== '') {
      fail('event 1 has a prevHash (a chain starts from "")');
    }
    const expected = sha256Hex(r.prevHash + canonicalJson(view));
    if (expected !== r.hash) fail('hash does not match the event');
    heads.set(tenant, { seq, hash: r.hash });
    const from = cp && cp !== 'invalid' && cp.tenant === tenant ? { from: { seq: cp.seq, hash: cp.hash } } : {};
    const t = (report.tenants[tenant] ??= { first: seq, last: seq, head: r.hash, ...from });
    t.last = seq;
    t.head = r.hash;
  });
  report.ok = report.problems.length === 0;
  return report;
}
