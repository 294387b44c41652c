/**
 * Offline JWT verification against a local JWKS file (CONTRACT §2, STACK-NOTES "Security traps").
 *
 * - Keys come only from the JWKS file, read at creation and on {@link Verifier.reload}; nothing is
 *   ever fetched. `jku`, `x5u`, `x5c` and `jwk` headers are ignored (jose's local key set never
 *   looks at them), so a token cannot bring its own key.
 * - Algorithms: ES256, EdDSA, RS256 only. Symmetric (`oct`) keys in the file are dropped, so HS*
 *   and the RS/HS confusion cannot work; private key material in the file is a startup error.
 * - `exp` is required; `nbf` is always checked; `iss`/`aud` when configured; 60 s skew.
 * - Every failure, whatever threw, becomes a 401 `UNAUTHENTICATED` {@link ApiError} with a
 *   `WWW-Authenticate` header (RFC 6750). Nothing from the token or jose reaches the message.
 */
import { readFileSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet, type JWK, type JWTPayload } from 'jose';
import { ApiError, type Clock } from '../core/index.js';
import { principalFromClaims, type Principal } from './principal.js';

/** The only JWS algorithms accepted. */
export const ALLOWED_ALGS = ['ES256', 'EdDSA', 'RS256'] as const;

/** Default cap on the token length (characters), checked before any parsing. */
export const MAX_TOKEN_LENGTH = 8192;
/** Verified tokens remembered (oldest evicted first). */
const VERIFIED_CACHE_SIZE = 1024;

const MAX_JWKS_BYTES = 1024 * 1024;
const JWS_COMPACT_RE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const AUTH_RE = /^([A-Za-z0-9!#$%&'*+.^_`|~-]+)(?: +(.*))?$/s;
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'priv'];
const ASYMMETRIC_KTY = new Set(['EC', 'OKP', 'RSA']);

export interface VerifierOptions {
  /** Path of the JWKS file (`{"keys":[…]}`), public keys only. */
  jwksFile: string;
  /** Expected `iss`; unchecked when absent. */
  issuer?: string;
  /** Expected `aud` (one of the token's audiences); unchecked when absent. */
  audience?: string;
  /** Allowed clock skew for `exp`/`nbf`, seconds (default 60). */
  clockToleranceSec?: number;
  /** Max token length in characters (default {@link MAX_TOKEN_LENGTH}). */
  maxTokenLength?: number;
  /** Time source (tests); defaults to the system clock. */
  clock?: Clock;
}

export interface Verifier {
  /** Verifies an `Authorization` header value; rejects with a 401 {@link ApiError} on any failure. */
  verify(authorizationHeader: string | undefined): Promise<Principal>;
  /**
   * Re-reads the JWKS file (key rotation, SIGHUP) and says which keys came and went. Throws,
   * keeping the current keys, if the file is unusable.
   */
  reload(): KeyChange;
  /** Ids of the keys in use: each key's `kid`, or `sha256:<hex>` of its public members when it has none. */
  keyIds(): string[];
}

/** What a reload changed: key ids added and removed (sorted). */
export interface KeyChange {
  added: string[];
  removed: string[];
}

/**
 * Why a token was refused, for the server log only (never sent to the client, whose answer
 * stays the generic 401). Attached to the 401 {@link ApiError} as `logReason`.
 */
export interface RejectReason {
  /** Short fixed phrase: `expired`, `wrong aud`, `unknown kid`, `bad signature`… */
  reason: string;
  /** The `kid` and `alg` the token's header named (bounded, unverified), when it parsed. */
  kid?: string;
  alg?: string;
}

/**
 * A 401 with the RFC 6750 challenge; `missing` means no credentials were offered at all
 * (bare `Bearer realm="orchestrator"`), otherwise `error="invalid_token"` is added.
 *
 * @example
 * throw unauthenticated('missing bearer token', true);
 */
export function unauthenticated(message: string, missing = false): ApiError {
  return new ApiError('UNAUTHENTICATED', message, undefined, { credentials: missing ? 'missing' : 'invalid' });
}

/**
 * Reads and checks a JWKS file: size-capped, JSON, `keys` array, no private members. `oct` and
 * unknown key types are dropped. Throws a plain Error (a configuration problem, not a request one).
 *
 * @example
 * const jwks = loadJwksFile('/etc/orchestrator/jwks.json');
 */
export function loadJwksFile(file: string): JSONWebKeySet {
  const fail = (why: string): never => {
    throw new Error(`JWKS file ${file}: ${why}`);
  };
  let text: string;
  try {
    if (statSync(file).size > MAX_JWKS_BYTES) fail(`larger than ${MAX_JWKS_BYTES} bytes`);
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if (e instanceof Error && e.message.startsWith('JWKS file')) throw e;
    return fail(`cannot be read (${(e as { code?: string }).code ?? 'error'})`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return fail('is not valid JSON');
  }
  const keys = (doc as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys)) return fail('has no "keys" array');
  const usable: JWK[] = [];
  for (const k of keys) {
    if (typeof k !== 'object' || k === null || Array.isArray(k)) fail('has a key that is not an object');
    const jwk = k as JWK;
    if (PRIVATE_MEMBERS.some((m) => m in jwk)) fail('contains private key material');
    if (typeof jwk.kty === 'string' && ASYMMETRIC_KTY.has(jwk.kty)) usable.push(jwk);
  }
  if (usable.length === 0) fail('has no usable public key (EC, OKP or RSA)');
  return { keys: usable };
}

/** Extracts the compact JWS from an `Authorization` header value, or throws a 401. */
function bearerToken(header: unknown, maxLen: number): string {
  if (header === undefined || header === null || (typeof header === 'string' && header.trim() === '')) {
    throw unauthenticated('missing bearer token', true);
  }
  if (typeof header !== 'string') throw unauthenticated('malformed authorization header');
  const value = header.trim();
  // "Bearer " + token; anything longer is refused before any regex or base64 work.
  if (value.length > maxLen + 64) throw unauthenticated('token too long');
  const m = AUTH_RE.exec(value);
  if (!m) throw unauthenticated('malformed authorization header');
  if (m[1]!.toLowerCase() !== 'bearer') throw unauthenticated('unsupported authorization scheme');
  const token = (m[2] ?? '').trim();
  if (token === '') throw unauthenticated('missing token');
  if (token.length > maxLen) throw unauthenticated('token too long');
  if (!JWS_COMPACT_RE.test(token)) throw unauthenticated('malformed token');
  return token;
}

/** The id of a JWKS key: its `kid`, else a hash of its public members. */
function keyIdOfJwk(k: JWK): string {
  if (typeof k.kid === 'string' && k.kid !== '') return k.kid;
  const pub = Object.fromEntries(Object.entries(k).filter(([m]) => !['use', 'alg', 'key_ops'].includes(m)).sort(([a], [b]) => a.localeCompare(b)));
  return 'sha256:' + createHash('sha256').update(JSON.stringify(pub)).digest('hex');
}

function keyIdsOf(set: JSONWebKeySet): string[] {
  return [...new Set(set.keys.map(keyIdOfJwk))].sort();
}

/**
 * The server-side reason for a jose failure (CONTRACT §2 keeps the client's answer generic).
 * Fixed phrases only: nothing a caller sent is echoed, apart from the header's `kid`/`alg`.
 */
function logReasonOf(err: unknown): string {
  const e = err as { code?: unknown; claim?: unknown; reason?: unknown } | null;
  switch (e?.code) {
    case 'ERR_JWT_EXPIRED':
      return 'expired';
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      if (e.reason === 'missing') return `missing ${String(e.claim)}`;
      if (e.reason === 'invalid') return `malformed ${String(e.claim)}`;
      if (e.claim === 'nbf') return 'not yet valid (nbf)';
      if (e.claim === 'iat') return 'issued in the future (iat)';
      return `wrong ${String(e.claim)}`;
    case 'ERR_JWKS_NO_MATCHING_KEY':
      return 'unknown kid (no key of the JWKS matches)';
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
      return 'several keys of the JWKS match (give each key a kid)';
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return 'bad signature';
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return 'algorithm not allowed';
    case 'ERR_JWT_INVALID':
      return 'invalid claims (not a JSON object, or a claim of the wrong type)';
    case 'ERR_JWS_INVALID':
      return 'malformed JWS';
    default:
      return typeof e?.code === 'string' ? e.code : 'invalid token';
  }
}

function headerOf(token: string): { kid?: string; alg?: string } {
  try {
    const h = decodeProtectedHeader(token);
    const clip = (v: unknown) => (typeof v === 'string' ? v.slice(0, 128) : undefined);
    return { kid: clip(h.kid), alg: clip(h.alg) };
  } catch {
    return {};
  }
}

/** A short, generic reason for a jose failure; never echoes token content. */
function reasonOf(err: unknown): string {
  const e = err as { code?: unknown; claim?: unknown } | null;
  if (e?.code === 'ERR_JWT_EXPIRED') return 'token expired';
  if (e?.code === 'ERR_JWT_CLAIM_VALIDATION_FAILED' && e.claim === 'nbf') return 'token not yet valid';
  return 'invalid token';
}

/**
 * Creates a verifier over a local JWKS file. Reads the file now (throws if it is unusable).
 *
 * @example
 * const verifier = createVerifier({ jwksFile: 'data/dev/jwks.json', issuer: 'stella-dev', audience: 'stella-orchestrator' });
 * const principal = await verifier.verify(req.header('authorization')); // or rejects with a 401 ApiError
 * if (!tenantAllowed(principal, 'demo')) throw new ApiError('TENANT_FORBIDDEN', 'tenant not allowed');
 */
export function createVerifier(options: VerifierOptions): Verifier {
  const { jwksFile, issuer, audience, clock } = options;
  const clockTolerance = options.clockToleranceSec ?? 60;
  const maxLen = options.maxTokenLength ?? MAX_TOKEN_LENGTH;
  if (!Number.isFinite(clockTolerance) || clockTolerance < 0) throw new Error('clockToleranceSec must be >= 0');
  if (!Number.isInteger(maxLen) || maxLen < 16) throw new Error('maxTokenLength must be an integer >= 16');

  let jwks = loadJwksFile(jwksFile);
  let keySet = createLocalJWKSet(jwks);
  // Tokens whose signature and claims were verified, by exact token string: a signature check
  // (~0.3 ms for ES256) per request was the largest single cost of a GET. A hit re-checks the
  // time claims against the clock (as jose would) and answers the principal made when the token
  // was verified (read-only, frozen); anything else (expired, not yet valid, evicted, keys
  // reloaded) goes through the full verification.
  const verified = new Map<string, { payload: JWTPayload; principal: Principal }>();
  const nowSec = () => (clock ? clock.now() : Date.now()) / 1000;
  const stillValid = (p: JWTPayload): boolean => {
    const now = nowSec();
    if (typeof p.exp !== 'number' || p.exp <= now - clockTolerance) return false;
    return typeof p.nbf !== 'number' || p.nbf <= now + clockTolerance;
  };

  return {
    reload(): KeyChange {
      const next = loadJwksFile(jwksFile);
      const before = keyIdsOf(jwks);
      const after = keyIdsOf(next);
      jwks = next;
      keySet = createLocalJWKSet(next);
      verified.clear();
      return { added: after.filter((k) => !before.includes(k)), removed: before.filter((k) => !after.includes(k)) };
    },

    keyIds(): string[] {
      return keyIdsOf(jwks);
    },

    async verify(authorizationHeader: string | undefined): Promise<Principal> {
      let token: string | undefined;
      try {
        token = bearerToken(authorizationHeader, maxLen);
        const hit = verified.get(token);
        if (hit) {
          if (stillValid(hit.payload)) return hit.principal;
          verified.delete(token);
        }
        const { payload } = await jwtVerify(token, keySet, {
          algorithms: [...ALLOWED_ALGS],
          requiredClaims: ['exp'],
          clockTolerance,
          ...(issuer !== undefined ? { issuer } : {}),
          ...(audience !== undefined ? { audience } : {}),
          ...(clock ? { currentDate: new Date(clock.now()) } : {}),
        });
        const principal = Object.freeze(principalFromClaims(payload));
        if (verified.size >= VERIFIED_CACHE_SIZE) verified.delete(verified.keys().next().value!);
        verified.set(token, { payload, principal });
        return principal;
      } catch (err) {
        if (err instanceof ApiError && err.code === 'UNAUTHENTICATED') {
          (err as ApiError & { logReason?: RejectReason }).logReason ??= { reason: err.message };
          throw err;
        }
        const out: ApiError & { logReason?: RejectReason } = unauthenticated(reasonOf(err));
        // Server-side diagnostics only: the jose error code, never the token or its claims.
        const code = (err as { code?: unknown } | null)?.code;
        out.cause = typeof code === 'string' ? code : (err as Error | null)?.name ?? 'error';
        out.logReason = { reason: logReasonOf(err), ...(token ? headerOf(token) : {}) };
        throw out;
      }
    },
  };
}
