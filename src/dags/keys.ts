/**
 * Signing keys and the trust store for DSSE signatures (DAGs and offline bundles).
 * Supported: Ed25519, and ECDSA P-256 with SHA-256 (DER signatures, as sigstore does).
 * A key id is the lowercase hex SHA-256 of the public key's SPKI DER.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { TENANT_RE } from '../core/ids.js';

export type SigningAlgorithm = 'ed25519' | 'p256';

/**
 * The algorithm of a key, or throws for an unsupported one (RSA, other curves, …).
 *
 * @example
 * keyAlgorithm(createPublicKey(pem)) // 'ed25519'
 */
export function keyAlgorithm(key: KeyObject): SigningAlgorithm {
  if (key.asymmetricKeyType === 'ed25519') return 'ed25519';
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return 'p256';
  const curve = key.asymmetricKeyDetails?.namedCurve;
  const type = `${key.asymmetricKeyType ?? key.type}${curve ? ` (${curve})` : ''}`;
  throw new Error(`unsupported key type ${type}: use Ed25519 or ECDSA P-256`);
}

/**
 * The key id of a public key (or of the public half of a private key).
 *
 * @example
 * keyIdOf(publicKeyPem) // '3f1c…' (64 lowercase hex)
 */
export function keyIdOf(key: KeyObject | string): string {
  const obj = typeof key === 'string' || key.type === 'private' ? createPublicKey(key) : key;
  return createHash('sha256').update(obj.export({ type: 'spki', format: 'der' })).digest('hex');
}

/** Parses a PKCS#8 (or SEC1) private key PEM of a supported algorithm. */
export function loadPrivateKey(privateKeyPem: string): {
  key: KeyObject;
  algorithm: SigningAlgorithm;
  keyid: string;
} {
  const key = createPrivateKey(privateKeyPem);
  return { key, algorithm: keyAlgorithm(key), keyid: keyIdOf(key) };
}

/**
 * A new signing key pair: PKCS#8 PEM private key, SPKI PEM public key, and its key id.
 *
 * @example
 * const { privateKeyPem, publicKeyPem, keyid } = generateSigningKeyPair('p256');
 */
export function generateSigningKeyPair(algorithm: SigningAlgorithm = 'ed25519'): {
  privateKeyPem: string;
  publicKeyPem: string;
  keyid: string;
  algorithm: SigningAlgorithm;
} {
  const publicKeyEncoding = { type: 'spki', format: 'pem' } as const;
  const privateKeyEncoding = { type: 'pkcs8', format: 'pem' } as const;
  let pair: { privateKey: string; publicKey: string };
  if (algorithm === 'ed25519') {
    pair = generateKeyPairSync('ed25519', { publicKeyEncoding, privateKeyEncoding });
  } else if (algorithm === 'p256') {
    pair = generateKeyPairSync('ec', { namedCurve: 'prime256v1', publicKeyEncoding, privateKeyEncoding });
  } else {
    throw new Error(`unsupported algorithm ${String(algorithm)}: use ed25519 or p256`);
  }
  const { privateKey, publicKey } = pair;
  return { privateKeyPem: privateKey, publicKeyPem: publicKey, keyid: keyIdOf(publicKey), algorithm };
}

const TRUST_FILE_RE = /\.(pem|pub)$/;
const SPKI_BEGIN = '-----BEGIN PUBLIC KEY-----';

type TrustedKey = { key: KeyObject; algorithm: SigningAlgorithm };

/**
 * Trusted public keys by key id. A trust folder holds one SPKI PEM (`-----BEGIN PUBLIC KEY-----`)
 * per file, named `*.pem` or `*.pub`; other files are ignored. A private key, a certificate, a
 * file with several keys, or an unsupported algorithm is refused loudly (an Error naming the
 * file), never skipped.
 *
 * Keys at the top of a trust folder are trusted for every tenant; keys in a sub-folder named
 * after a tenant (`DIR/<tenant>/*.pem`) only for that tenant ({@link forTenant}). Hidden
 * sub-folders are skipped; any other sub-folder name is refused (a typo must not silently
 * leave keys untrusted). The store itself answers for the installation-wide keys.
 *
 * @example
 * const trust = TrustStore.fromDir('fixtures/keys/trust');
 * trust.keyIds()                    // ['9a0e…'] (trusted for every tenant)
 * trust.forTenant('acme').keyIds()  // those plus acme's own
 */
export class TrustStore {
  private readonly keys = new Map<string, TrustedKey>();
  private readonly tenantKeys = new Map<string, Map<string, TrustedKey>>();
  private readonly views = new Map<string, TrustStore>();

  /** Loads every `*.pem` / `*.pub` file of a folder (sorted by name) and its tenant sub-folders. */
  static fromDir(dir: string): TrustStore {
    return new TrustStore().addDir(dir);
  }

  /** Adds every `*.pem` / `*.pub` file of a folder and of its tenant sub-folders; returns this store. */
  addDir(dir: string, tenant?: string): this {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      const st = statSync(path);
      if (st.isDirectory()) {
        if (name.startsWith('.')) continue;
        if (tenant !== undefined || !TENANT_RE.test(name)) {
          throw new Error(`trust folder ${name}: a sub-folder must be named after a tenant (${TENANT_RE.source}) and hold keys only`);
        }
        this.addDir(path, name);
        continue;
      }
      if (!TRUST_FILE_RE.test(name) || !st.isFile()) continue;
      try {
        this.add(readFileSync(path, 'utf8'), tenant);
      } catch (err) {
        throw new Error(`trust key ${tenant ? `${tenant}/` : ''}${name}: ${(err as Error).message}`);
      }
    }
    return this;
  }

  /**
   * Adds one SPKI PEM public key, trusted for every tenant or only for `tenant`; returns its key
   * id. Adding the same key twice is a no-op.
   *
   * @example
   * trust.add(generateSigningKeyPair().publicKeyPem) // 'c0ff…'
   */
  add(publicKeyPem: string, tenant?: string): string {
    if (publicKeyPem.includes('PRIVATE KEY-----')) throw new Error('a private key is not a trusted public key');
    const blocks = publicKeyPem.match(/-----BEGIN [A-Z0-9 ]+-----/g) ?? [];
    if (blocks.length !== 1 || blocks[0] !== SPKI_BEGIN) {
      throw new Error('expected exactly one SPKI PEM public key (-----BEGIN PUBLIC KEY-----)');
    }
    const key = createPublicKey({ key: publicKeyPem, format: 'pem' });
    const algorithm = keyAlgorithm(key);
    const keyid = keyIdOf(key);
    if (tenant === undefined) this.keys.set(keyid, { key, algorithm });
    else {
      if (!TENANT_RE.test(tenant)) throw new Error(`invalid tenant id ${JSON.stringify(tenant)}`);
      const own = this.tenantKeys.get(tenant) ?? new Map<string, TrustedKey>();
      own.set(keyid, { key, algorithm });
      this.tenantKeys.set(tenant, own);
    }
    this.views.clear();
    return keyid;
  }

  /** The keys trusted for `tenant`: the installation-wide ones and the tenant's own. */
  forTenant(tenant: string): TrustStore {
    let view = this.views.get(tenant);
    if (!view) {
      view = new TrustStore();
      for (const [id, k] of this.keys) view.keys.set(id, k);
      for (const [id, k] of this.tenantKeys.get(tenant) ?? []) if (!view.keys.has(id)) view.keys.set(id, k);
      this.views.set(tenant, view);
    }
    return view;
  }

  /** Every key, whichever tenant it is trusted for (to check a signature is by a known key at all). */
  anyTenant(): TrustStore {
    const view = new TrustStore();
    for (const [id, k] of this.keys) view.keys.set(id, k);
    for (const own of this.tenantKeys.values()) for (const [id, k] of own) if (!view.keys.has(id)) view.keys.set(id, k);
    return view;
  }

  /** Tenants with keys of their own, sorted. */
  tenants(): string[] {
    return [...this.tenantKeys.keys()].sort();
  }

  has(keyid: string): boolean {
    return this.keys.has(keyid);
  }

  get(keyid: string): TrustedKey | undefined {
    return this.keys.get(keyid);
  }

  /** Installation-wide key ids, sorted. */
  keyIds(): string[] {
    return [...this.keys.keys()].sort();
  }

  /**
   * Every trusted key as `*:<keyid>` (installation-wide) or `<tenant>:<keyid>`, sorted: what a
   * reload compares to say which keys came and went.
   */
  entries(): string[] {
    const out = [...this.keys.keys()].map((id) => `*:${id}`);
    for (const [tenant, own] of this.tenantKeys) for (const id of own.keys()) out.push(`${tenant}:${id}`);
    return out.sort();
  }

  /**
   * Takes over the keys of `other` in place (SIGHUP reload): everything holding this store sees
   * the new keys at once, and a store that failed to load never replaces a working one.
   */
  replaceWith(other: TrustStore): this {
    this.keys.clear();
    for (const [id, k] of other.keys) this.keys.set(id, k);
    this.tenantKeys.clear();
    for (const [t, own] of other.tenantKeys) this.tenantKeys.set(t, new Map(own));
    this.views.clear();
    return this;
  }

  /** Installation-wide keys plus every tenant's. */
  get size(): number {
    return this.anyTenant().keys.size;
  }
}
