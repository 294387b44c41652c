/**
 * Signs the sample DAGs with the committed DEV key (fixtures/keys/README.md).
 *
 *   npx tsx scripts/sign-fixtures.ts           # writes fixtures/dags/demo/<name>.json
 *   npx tsx scripts/sign-fixtures.ts --check   # exit 1 if a committed file is missing or stale
 *
 * Sources are the unsigned documents `fixtures/dags/_src/*.json` (a folder name that is not a
 * tenant id, so `--dags-dir fixtures/dags` never publishes them). Each is parsed, validated
 * against the built-in plugins, signed (Ed25519 signatures are deterministic, so the output is
 * reproducible), verified with `fixtures/keys/trust`, and written pretty-printed to the tenant
 * folder `demo`.
 */
import { readdirSync, readFileSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseJsonBounded } from '../src/core/json.js';
import {
  dagContent,
  parseDag,
  signDag,
  splitPluginRef,
  TrustStore,
  validateDag,
  verifyDagSignature,
} from '../src/dags/index.js';

const BUILTIN_PLUGINS = new Set(['noop', 'echo', 'sleep', 'fail', 'artifact', 'exec']);
const root = fileURLToPath(new URL('..', import.meta.url));
const srcDir = join(root, 'fixtures/dags/_src');
const outDir = join(root, 'fixtures/dags/demo');
const keyFile = join(root, 'fixtures/keys/dev-signing.key');
const trustDir = join(root, 'fixtures/keys/trust');

/** The signed, pretty-printed text of one source file. */
export function signedFixtureText(srcFile: string, privateKeyPem: string, trust: TrustStore): string {
  const doc = parseDag(parseJsonBounded(readFileSync(srcFile, 'utf8'), 64));
  if (doc.signature) throw new Error(`${srcFile}: a source must be unsigned`);
  const expected = basename(srcFile, '.json');
  if (doc.dagId !== expected) throw new Error(`${srcFile}: dagId "${doc.dagId}" must match the file name`);
  validateDag(doc, { pluginExists: (ref) => BUILTIN_PLUGINS.has(splitPluginRef(ref).name) });
  const signed = signDag(dagContent(doc), privateKeyPem);
  verifyDagSignature(signed, trust, { allowUnsigned: false });
  return `${JSON.stringify(signed, null, 2)}\n`;
}

function main(argv: string[]): number {
  const check = argv.includes('--check');
  const privateKeyPem = readFileSync(keyFile, 'utf8');
  const trust = TrustStore.fromDir(trustDir);
  const sources = readdirSync(srcDir).filter((n) => n.endsWith('.json')).sort();
  if (!check) mkdirSync(outDir, { recursive: true });
  let stale = 0;
  for (const name of sources) {
    const text = signedFixtureText(join(srcDir, name), privateKeyPem, trust);
    const out = join(outDir, name);
    if (check) {
      const same = existsSync(out) && readFileSync(out, 'utf8') === text;
      if (!same) stale++;
      console.log(`${same ? 'ok   ' : 'STALE'} ${out}`);
    } else {
      writeFileSync(out, text);
      console.log(`signed ${out}`);
    }
  }
  if (stale) console.error(`${stale} signed fixture(s) out of date: run npx tsx scripts/sign-fixtures.ts`);
  return stale ? 1 : 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    process.exitCode = main(process.argv.slice(2));
  } catch (err) {
    const e = err as Error & { details?: unknown };
    console.error(`sign-fixtures: ${e.message}`, e.details ? JSON.stringify(e.details, null, 2) : '');
    process.exitCode = 1;
  }
}
