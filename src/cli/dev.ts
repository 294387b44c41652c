import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateSigningKeyPair } from '../dags/signature.js';

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
