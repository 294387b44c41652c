/**
 * Verifies an exported event log's hash chain (see src/store/events.ts for the definition):
 * per tenant, `seq` runs 1, 2, 3… (or continues from the first exported one), each
 * `prevHash` is the previous event's `hash`, and each `hash` is
 * `sha256_hex(prevHash + JCS(event view))`, the view being every field but `prevHash` and
 * `hash` (so a field added to an exported event breaks it too). An edited, removed, reordered or
 * inserted event breaks it.
 *
 * @example
 * const r = verifyEventChain(parseNdjsonExport(text));
 * if (!r.ok) console.error(r.problems);
 */
import { canonicalJson, sha256Hex } from '../core/index.js';

export interface ChainReport {
  ok: boolean;
  events: number;
  tenants: Record<string, { first: number; last: number; head: string }>;
  problems: Array<{ index: number; seq?: number; tenant?: string; problem: string }>;
}

/** The chain links of an exported event; every other field is the hashed view. */
const LINKS = new Set(['prevHash', 'hash']);

export function verifyEventChain(records: unknown[]): ChainReport {
  const report: ChainReport = { ok: true, events: records.length, tenants: {}, problems: [] };
  const heads = new Map<string, { seq: number; hash: string }>();
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
    }
    const expected = sha256Hex(r.prevHash + canonicalJson(view));
    if (expected !== r.hash) fail('hash does not match the event');
    heads.set(tenant, { seq, hash: r.hash });
    const t = (report.tenants[tenant] ??= { first: seq, last: seq, head: r.hash });
    t.last = seq;
    t.head = r.hash;
  });
  report.ok = report.problems.length === 0;
  return report;
}
