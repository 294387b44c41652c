/**
 * Dev mode keys and tokens (CONTRACT §10): `serve --dev` and `orchestrator token`.
 *
 * One ES256 key pair per data folder, generated once and reused: the private key in
 * `<dataDir>/dev/jwt-private.pem` (PKCS#8, mode 0600, folder 0700) and the public JWKS in
 * `<dataDir>/dev/jwks.json`, whose single key's `kid` is its RFC 7638 thumbprint. Never used
 * unless `--dev` is given; the server must say loudly when it runs so.
 */
import { chmodSync, existsSync, linkSync, mkdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { SignJWT, calculateJwkThumbprint, importPKCS8, type JWK } from 'jose';
import { TENANT_RE } from '../core/index.js';
import { SCOPES, TENANT_CLAIM, type Scope } from './principal.js';

/** `iss` of dev tokens; pass it to `createVerifier` in dev mode. */
export const DEV_ISSUER = 'stella-dev';
/** `aud` of dev tokens; pass it to `createVerifier` in dev mode. */
export const DEV_AUDIENCE = 'stella-orchestrator';
/** Default lifetime of a dev token: 1 hour (long enough for a quick start, short enough to leak safely). */
export const DEV_TOKEN_TTL_SEC = 3600;
/** Upper bound for `ttlSec`: 30 days. */
export const DEV_TOKEN_MAX_TTL_SEC = 30 * 24 * 3600;

export interface DevKeys {
  /** `<dataDir>/dev/jwks.json`, for `createVerifier({ jwksFile })`. */
  jwksFile: string;
  /** PKCS#8 PEM of the ES256 signing key. */
  privateKeyPem: string;
  /** RFC 7638 SHA-256 thumbprint of the public key, the `kid` of tokens and JWKS. */
  kid: string;
  issuer: typeof DEV_ISSUER;
  audience: typeof DEV_AUDIENCE;
}

export interface MintOptions {
  privateKeyPem: string;
  kid: string;
  /** One tenant, `"*"`, a list, or a comma/space separated string (`"a,b"`). May be empty. */
  tenants: string | string[];
  /** Scope names, as a list or one space separated string. Unknown names are an error. */
  scopes: string[] | string;
  /** Lifetime in seconds, 1 … {@link DEV_TOKEN_MAX_TTL_SEC}; default {@link DEV_TOKEN_TTL_SEC} (1 h). */
  ttlSec?: number;
  issuer?: string;
  audience?: string;
  /** `sub`; default `"dev"`. */
  subject?: string;
  /** Issue time in epoch ms (tests); default now. */
  now?: number;
}

/** Writes `data` to `file` only if `file` does not exist yet, atomically (race-safe). */
function createExclusive(file: string, data: string, mode: number): void {
  const tmp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  writeFileSync(tmp, data, { mode, flag: 'wx' });
  try {
    linkSync(tmp, file);
  } catch (e) {
    if ((e as { code?: string }).code !== 'EEXIST') throw e;
  } finally {
    unlinkSync(tmp);
  }
}

/** Replaces `file` atomically. */
function writeAtomic(file: string, data: string, mode: number): void {
  const tmp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  writeFileSync(tmp, data, { mode, flag: 'wx' });
  renameSync(tmp, file);
}

function publicJwkOf(privateKeyPem: string, file: string): JWK {
  const key = createPrivateKey(privateKeyPem);
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new Error(`${file} is not an ES256 (P-256) private key`);
  }
  const { kty, crv, x, y } = createPublicKey(key).export({ format: 'jwk' });
  return { kty, crv, x, y };
}

function jwksHasKey(file: string, jwk: JWK & { kid: string }): boolean {
  try {
    const doc = JSON.parse(readFileSync(file, 'utf8')) as { keys?: JWK[] };
    return (doc.keys ?? []).some((k) => k.kid === jwk.kid && k.x === jwk.x && k.y === jwk.y && k.crv === jwk.crv);
  } catch {
    return false;
  }
}

/**
 * Returns the dev signing key and JWKS of a data folder, creating them on first use. Idempotent
 * and safe against concurrent callers: existing files are reused (a JWKS that does not hold
 * the key is rewritten; a private key readable by others is tightened to 0600).
 *
 * @example
 * const dev = await ensureDevKeys('./data');
 * const verifier = createVerifier({ jwksFile: dev.jwksFile, issuer: dev.issuer, audience: dev.audience });
 */
export async function ensureDevKeys(dataDir: string): Promise<DevKeys> {
  const dir = join(dataDir, 'dev');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const privFile = join(dir, 'jwt-private.pem');
  const jwksFile = join(dir, 'jwks.json');

  if (!existsSync(privFile)) {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    createExclusive(privFile, privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(), 0o600);
  }
  if (process.platform !== 'win32' && (statSync(privFile).mode & 0o077) !== 0) chmodSync(privFile, 0o600);
  const privateKeyPem = readFileSync(privFile, 'utf8');

  const pub = publicJwkOf(privateKeyPem, privFile);
  const kid = await calculateJwkThumbprint(pub, 'sha256');
  const entry = { ...pub, kid, alg: 'ES256', use: 'sig' };
  if (!jwksHasKey(jwksFile, entry)) {
    writeAtomic(jwksFile, `${JSON.stringify({ keys: [entry] }, null, 2)}\n`, 0o644);
  }
  return { jwksFile, privateKeyPem, kid, issuer: DEV_ISSUER, audience: DEV_AUDIENCE };
}

/**
 * The dev keys of a data folder that was served with `--dev`, or undefined when it never was
 * (no dev key): nothing is created. `orchestrator token` uses this, so that it never prints a
 * token from a key that no server trusts.
 *
 * @example
 * const dev = await existingDevKeys('./data'); // undefined on a production data folder
 */
export async function existingDevKeys(dataDir: string): Promise<DevKeys | undefined> {
  if (!existsSync(join(dataDir, 'dev', 'jwt-private.pem'))) return undefined;
  return ensureDevKeys(dataDir);
}

function normaliseScopes(scopes: string[] | string): Scope[] {
  const list = (Array.isArray(scopes) ? scopes : [scopes]).flatMap((s) => s.split(/\s+/)).filter(Boolean);
  for (const s of list) {
    if (!(SCOPES as readonly string[]).includes(s)) throw new Error(`unknown scope "${s}" (known: ${SCOPES.join(', ')})`);
  }
  return [...new Set(list as Scope[])];
}

function normaliseTenants(tenants: string | string[]): string | string[] {
  const list = (Array.isArray(tenants) ? tenants : [tenants]).flatMap((t) => t.split(/[\s,]+/)).filter(Boolean);
  for (const t of list) {
    if (t !== '*' && !TENANT_RE.test(t)) throw new Error(`invalid tenant "${t}"`);
  }
  const unique = [...new Set(list)];
  if (unique.includes('*')) return '*';
  return unique.length === 1 ? unique[0]! : unique;
}

/**
 * Mints a dev token (compact JWS, ES256, `typ: JWT`) with `sub`, `scope` (space separated),
 * `stellaops:tenant`, `iss`, `aud`, `iat`, `exp`, `jti`. Throws on unknown scopes, invalid
 * tenants or a ttl out of range. Default lifetime 1 hour ({@link DEV_TOKEN_TTL_SEC}).
 *
 * @example
 * const dev = await ensureDevKeys('./data');
 * const token = await mintToken({ ...dev, tenants: 'demo', scopes: ['orchestrator:admin'] });
 * // curl -H "Authorization: Bearer $token" -H "X-Stella-Tenant: demo" …
 */
export async function mintToken(opts: MintOptions): Promise<string> {
  const ttl = opts.ttlSec ?? DEV_TOKEN_TTL_SEC;
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > DEV_TOKEN_MAX_TTL_SEC) {
    throw new Error(`ttlSec must be an integer between 1 and ${DEV_TOKEN_MAX_TTL_SEC}`);
  }
  const scopes = normaliseScopes(opts.scopes);
  const tenants = normaliseTenants(opts.tenants);
  const iat = Math.floor((opts.now ?? Date.now()) / 1000);
  const key = await importPKCS8(opts.privateKeyPem, 'ES256');
  return new SignJWT({ scope: scopes.join(' '), [TENANT_CLAIM]: tenants })
    .setProtectedHeader({ alg: 'ES256', kid: opts.kid, typ: 'JWT' })
    .setSubject(opts.subject ?? 'dev')
    .setIssuer(opts.issuer ?? DEV_ISSUER)
    .setAudience(opts.audience ?? DEV_AUDIENCE)
    .setIssuedAt(iat)
    .setExpirationTime(iat + ttl)
    .setJti(randomUUID())
    .sign(key);
}
