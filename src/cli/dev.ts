import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createVerifier, ensureDevKeys, type DevKeys, type Verifier } from '../auth/index.js';
import { generateSigningKeyPair } from '../dags/signature.js';
import type { ServeConfig } from './config.js';
import type { AuthConfig } from './reload.js';

/**
 * Dev mode's DAG signing key: generated once in `DATA/dev/`, trusted by the dev server, and
 * used by `orchestrator dag sign --key DATA/dev/dag-signing.key`.
 */
export function ensureDevSigningKey(dataDir: string): { privateKeyPath: string; publicKeyPem: string } {
  const dir = join(dataDir, 'dev');
  const priv = join(dir, 'dag-signing.key');
  const pub = join(dir, 'dag-signing.pub');
  if (!existsSync(priv) || !existsSync(pub)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const kp = generateSigningKeyPair('ed25519');
    writeFileSync(priv, kp.privateKeyPem, { mode: 0o600 });
    writeFileSync(pub, kp.publicKeyPem);
  }
  return { privateKeyPath: priv, publicKeyPem: readFileSync(pub, 'utf8') };
}

/**
 * The server's token verifier, and under `--dev` the dev token keys (DATA/dev/, unless `--jwks`
 * names others) and the dev DAG signing key, which `auth.trust` then trusts.
 *
 * @example
 * const { verifier, devKeys, devSigningPem } = await devAuth(config, loadAuthConfig(config));
 */
export async function devAuth(config: ServeConfig, auth: AuthConfig): Promise<{ verifier: Verifier; devKeys?: DevKeys; devSigningPem?: string }> {
  if (!config.dev) return { verifier: auth.verifier! };
  const devKeys = await ensureDevKeys(config.dataDir);
  const devSigningPem = ensureDevSigningKey(config.dataDir).publicKeyPem;
  const verifier = createVerifier({ jwksFile: config.jwks ?? devKeys.jwksFile, issuer: config.issuer ?? devKeys.issuer, audience: config.audience ?? devKeys.audience });
  auth.trust.add(devSigningPem);
  return { verifier, devKeys, devSigningPem };
}
