/**
 * What the console reads from a bearer token's payload, without verifying it (the server
 * verifies every request): the tenants to offer, the scopes that decide which buttons show,
 * the subject and the expiry. Pure, so it runs in the browser and in node tests.
 *
 * @example
 * const c = readClaims(token); // { tenants: ['demo'], scopes: ['orchestrator:admin'], … }
 */
export const TENANT_CLAIM = 'stellaops:tenant';

export interface Claims {
  /** The token's tenants; '*' = any tenant. */
  tenants: string[] | '*';
  scopes: string[];
  subject?: string;
  /** Expiry, epoch seconds. */
  exp?: number;
}

function base64UrlDecode(part: string): string {
  const b64 = part.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (part.length % 4)) % 4);
  const bin = atob(b64);
  const bytes = Uint8Array.from(bin, (ch) => ch.charCodeAt(0));
  return new TextDecoder().decode(bytes);
}

/** The claims of a compact JWS, or an error message for something that is not one. */
export function readClaims(token: string): Claims | { error: string } {
  const parts = token.trim().split('.');
  if (parts.length !== 3 || parts.some((p) => !/^[A-Za-z0-9_-]*$/.test(p))) {
    return { error: 'This is not a JSON Web Token (three base64url parts separated by dots).' };
  }
  let payload: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(base64UrlDecode(parts[1]!));
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
    payload = parsed as Record<string, unknown>;
  } catch {
    return { error: "The token's payload is not a JSON object." };
  }
  const raw = payload[TENANT_CLAIM];
  const list = (typeof raw === 'string' ? [raw] : Array.isArray(raw) ? raw : []).filter((t): t is string => typeof t === 'string');
  const tenants: string[] | '*' = list.includes('*') ? '*' : [...new Set(list)].sort();
  const scopeText = typeof payload.scope === 'string' ? payload.scope.split(/\s+/) : [];
  const scp = Array.isArray(payload.scp) ? payload.scp.filter((s): s is string => typeof s === 'string') : [];
  const claims: Claims = { tenants, scopes: [...new Set([...scopeText, ...scp])].filter(Boolean) };
  if (typeof payload.sub === 'string') claims.subject = payload.sub;
  if (typeof payload.exp === 'number') claims.exp = payload.exp;
  return claims;
}

/** admin ⇒ write ⇒ read, as the server decides (CONTRACT §2). */
export function canWrite(c: Claims): boolean {
  return c.scopes.includes('orchestrator:write') || c.scopes.includes('orchestrator:admin');
}

export function isAdmin(c: Claims): boolean {
  return c.scopes.includes('orchestrator:admin');
}
