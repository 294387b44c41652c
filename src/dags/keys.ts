/**
 * Signing keys and the trust store for DSSE signatures (DAGs and offline bundles).
 * Supported: Ed25519, and ECDSA P-256 with SHA-256 (DER signatures, as sigstore does).
 * A key id is the lowercase hex SHA-256 of the public key's SPKI DER.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

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

/**
 * Trusted public keys by key id. A trust folder holds one SPKI PEM (`-----BEGIN PUBLIC KEY-----`)
 * per file, named `*.pem` or `*.pub`; other files are ignored. A private key, a certificate, a
 * file with several keys, or an unsupported algorithm is refused loudly (an Error naming the
 * file), never skipped.
 *
 * @example
 * const trust = TrustStore.fromDir('fixtures/keys/trust');
 * trust.keyIds() // ['9a0e…']
 */
export class TrustStore {
  private readonly keys = new Map<string, { key: KeyObject; algorithm: SigningAlgorithm }>();

  /** Loads every `*.pem` / `*.pub` file of a folder (sorted by name). */
  static fromDir(dir: string): TrustStore {
    return new TrustStore().addDir(dir);
  }

  /** Adds every `*.pem` / `*.pub` file of a folder (sorted by name); returns this store. */
  addDir(dir: string): this {
    for (const name of readdirSync(dir).sort()) {
      if (!TRUST_FILE_RE.test(name)) continue;
      const path = join(dir, name);
      if (!statSync(path).isFile()) continue;
      try {
        this.add(readFileSync(path, 'utf8'));
      } catch (err) {
        throw new Error(`trust key ${name}: ${(err as Error).message}`);
      }
    }
    return this;
  }

  /**
   * Adds one SPKI PEM public key; returns its key id. Adding the same key twice is a no-op.
   *
   * @example
   * trust.add(generateSigningKeyPair().publicKeyPem) // 'c0ff…'
   */
  add(publicKeyPem: string): string {
    if (publicKeyPem.includes('PRIVATE KEY-----')) throw new Error('a private key is not a trusted public key');
    const blocks = publicKeyPem.match(/-----BEGIN [A-Z0-9 ]+-----/g) ?? [];
    if (blocks.length !== 1 || blocks[0] !== SPKI_BEGIN) {
      throw new Error('expected exactly one SPKI PEM public key (-----BEGIN PUBLIC KEY-----)');
    }
    const key = createPublicKey({ key: publicKeyPem, format: 'pem' });
    const algorithm = keyAlgorithm(key);
    const keyid = keyIdOf(key);
    this.keys.set(keyid, { key, algorithm });
    return keyid;
  }

  has(keyid: string): boolean {
    return this.keys.has(keyid);
  }

  get(keyid: string): { key: KeyObject; algorithm: SigningAlgorithm } | undefined {
    return this.keys.get(keyid);
  }

  /** Key ids, sorted. */
  keyIds(): string[] {
    return [...this.keys.keys()].sort();
  }

  get size(): number {
    return this.keys.size;
  }
}
