/**
 * The signed-in session: token and tenant, kept in `sessionStorage` only (one browser tab,
 * gone when it closes; never a cookie, never in a URL).
 */
import { readClaims, type Claims } from './claims.js';

const KEY = 'stella.console.session';

export interface Session {
  token: string;
  tenant: string;
  claims: Claims;
}

export function loadSession(): Session | null {
  try {
    const raw = sessionStorage.getItem(KEY);
    if (!raw) return null;
    const { token, tenant } = JSON.parse(raw) as { token?: unknown; tenant?: unknown };
    if (typeof token !== 'string' || typeof tenant !== 'string') return null;
    const claims = readClaims(token);
    return 'error' in claims ? null : { token, tenant, claims };
  } catch {
    return null;
  }
}

export function saveSession(s: Session): void {
  sessionStorage.setItem(KEY, JSON.stringify({ token: s.token, tenant: s.tenant }));
}

export function clearSession(): void {
  sessionStorage.removeItem(KEY);
}
