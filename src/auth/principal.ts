/**
 * Who is calling, as derived from a verified JWT (CONTRACT §2): the subject, the scopes it was
 * granted (expanded: admin ⇒ write ⇒ read) and the tenants it may act on.
 *
 * Claims are read fail-closed: a malformed or unknown value grants nothing, it never widens
 * access. The HTTP layer turns "no scope" / "no tenant" into 403s.
 */
import type { JWTPayload } from 'jose';
import { TENANT_RE } from '../core/index.js';

/** The scopes of the API, weakest first. */
export const SCOPES = ['orchestrator:read', 'orchestrator:write', 'orchestrator:admin'] as const;

export type Scope = (typeof SCOPES)[number];

/** The claim that carries the tenants a token may act on (string or array of strings). */
export const TENANT_CLAIM = 'stellaops:tenant';

/** A verified caller (read-only: the verifier hands the same one to every request of a token). */
export interface Principal {
  /** `sub`, else `client_id`, else `azp`, else `"unknown"`. */
  readonly subject: string;
  /** Granted scopes, already expanded (admin ⇒ write ⇒ read). */
  readonly scopes: ReadonlySet<Scope>;
  /** `'*'` = every tenant; otherwise the (sorted, de-duplicated, valid) tenant ids. */
  readonly tenants: '*' | string[];
  /** Token expiry, epoch ms. */
  readonly expiresAt: number;
  /** The verified claims, for auditing; never used for authorisation decisions elsewhere. */
  readonly claims?: JWTPayload;
}

const IMPLIED: Record<Scope, readonly Scope[]> = {
  'orchestrator:read': ['orchestrator:read'],
  'orchestrator:write': ['orchestrator:write', 'orchestrator:read'],
  'orchestrator:admin': ['orchestrator:admin', 'orchestrator:write', 'orchestrator:read'],
};

function isScope(s: string): s is Scope {
  return (SCOPES as readonly string[]).includes(s);
}

/** The raw scope strings of `scope` (space separated) and `scp` (array, or string as some IdPs emit). */
function rawScopes(claims: JWTPayload): string[] {
  const out: string[] = [];
  const add = (v: unknown): void => {
    if (typeof v === 'string') out.push(...v.split(/\s+/));
    else if (Array.isArray(v)) for (const x of v) if (typeof x === 'string') out.push(x);
  };
  add(claims['scope']);
  add(claims['scp']);
  return out;
}

/**
 * The expanded scope set of a claims object. Unknown scopes are ignored.
 *
 * @example
 * parseScopes({ scope: 'orchestrator:write openid' })
 * // Set { 'orchestrator:write', 'orchestrator:read' }
 */
export function parseScopes(claims: JWTPayload): Set<Scope> {
  const set = new Set<Scope>();
  for (const s of rawScopes(claims)) {
    if (isScope(s)) for (const implied of IMPLIED[s]) set.add(implied);
  }
  return set;
}

/**
 * The tenants of a claims object, from `stellaops:tenant`. `"*"` anywhere in the claim means
 * every tenant. Entries that are not valid tenant ids are ignored; a missing or malformed claim
 * yields `[]` (no tenant).
 *
 * @example
 * parseTenants({ 'stellaops:tenant': ['b', 'a', 'a'] }) // ['a', 'b']
 * parseTenants({ 'stellaops:tenant': '*' })             // '*'
 */
export function parseTenants(claims: JWTPayload): '*' | string[] {
  const v = claims[TENANT_CLAIM];
  const list = typeof v === 'string' ? [v] : Array.isArray(v) ? v : [];
  const out = new Set<string>();
  for (const t of list) {
    if (t === '*') return '*';
    if (typeof t === 'string' && TENANT_RE.test(t)) out.add(t);
  }
  return [...out].sort();
}

/**
 * Builds a {@link Principal} from already-verified claims (`exp` must be present).
 *
 * @example
 * principalFromClaims({ sub: 'alice', exp: 2e9, scope: 'orchestrator:read', 'stellaops:tenant': 'demo' })
 */
export function principalFromClaims(claims: JWTPayload): Principal {
  const pick = (k: string): string | undefined => {
    const v = claims[k];
    return typeof v === 'string' && v.length > 0 ? v : undefined;
  };
  return {
    subject: pick('sub') ?? pick('client_id') ?? pick('azp') ?? 'unknown',
    scopes: parseScopes(claims),
    tenants: parseTenants(claims),
    expiresAt: typeof claims.exp === 'number' ? claims.exp * 1000 : 0,
    claims,
  };
}

/**
 * Whether the principal holds `scope` (implications already applied).
 *
 * @example
 * if (!hasScope(p, 'orchestrator:write')) throw new ApiError('INSUFFICIENT_SCOPE', 'needs orchestrator:write');
 */
export function hasScope(p: Principal, scope: Scope): boolean {
  return p.scopes.has(scope);
}

/**
 * Whether the principal may act on `tenant`. A string that is not a valid tenant id is never
 * allowed, even for a `"*"` token.
 *
 * @example
 * if (!tenantAllowed(p, req.header('x-stella-tenant'))) throw new ApiError('TENANT_FORBIDDEN', 'tenant not allowed');
 */
export function tenantAllowed(p: Principal, tenant: string | undefined | null): boolean {
  if (typeof tenant !== 'string' || !TENANT_RE.test(tenant)) return false;
  return p.tenants === '*' || p.tenants.includes(tenant);
}
