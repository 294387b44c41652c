import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseJsonBounded } from '../core/index.js';
import { parseFlags, TenantRequiredError, usage, UsageError, type FlagSpec, type Flags } from './args.js';

// Every command's `run` imports what it needs (auth, dags, engine, store…) when it runs: the
// CLI loads only the command table to start, so `--version`, `--help` and the client commands
// do not evaluate the server's modules (test/cli/lazy-start.test.ts). esbuild keeps those
// `import()`s inside the one bundle.

export const EXIT = { OK: 0, FAILED: 1, AUTH: 2, CANCEL_REJECTED: 3, RUN_FAILED: 4 } as const;

export interface Command {
  name: string;
  summary: string;
  flags: FlagSpec[];
  /** Positional arguments in help, e.g. `RUN [STEP]`. */
  args?: string;
  /** Command lines shown under "examples:" in its help (each is run by test/cli/examples.test.ts). */
  examples?: readonly string[];
  run(flags: Flags, positional: string[]): Promise<number>;
}

const dataDirFlag: FlagSpec = { name: 'data-dir', kind: 'string', default: './data', help: 'data folder' };

export const tokenCommand: Command = {
  name: 'token',
  summary: 'Mint a dev token from the dev key of a data folder served with --dev (refused on any other).',
  examples: ['orchestrator token --tenant demo --scopes "orchestrator:read" --data-dir ./data'],
  flags: [
    dataDirFlag,
    { name: 'tenant', kind: 'list', help: 'tenant the token may act on ("*" = all)' },
    { name: 'scopes', kind: 'string', default: 'orchestrator:read', help: 'space separated scopes' },
    { name: 'ttl', kind: 'string', default: '3600', help: 'lifetime in seconds' },
    { name: 'subject', kind: 'string', default: 'dev-user', help: 'sub claim' },
  ],
  async run(f) {
    const tenants = (f.tenant as string[] | undefined) ?? [];
    if (tenants.length === 0) throw new TenantRequiredError('--tenant is required');
    const { existingDevKeys, mintToken, SCOPES } = await import('../auth/index.js');
    const scopes = String(f.scopes).split(/\s+/).filter(Boolean);
    const unknown = scopes.filter((s) => !(SCOPES as readonly string[]).includes(s));
    if (unknown.length) throw new UsageError(`unknown scope(s): ${unknown.join(', ')}`);
    const dataDir = resolve(String(f['data-dir']));
    const keys = await existingDevKeys(dataDir);
    if (!keys) {
      process.stderr.write(
        `orchestrator token: ${dataDir} has no dev key: it was never served with --dev, and a server without --dev would refuse a token minted here.\n` +
          'Production tokens come from your own signing key and the JWKS given to serve --jwks (docs/AUTH.md); dev tokens need a data folder served once with --dev.\n',
      );
      return EXIT.AUTH;
    }
    const token = await mintToken({
      privateKeyPem: keys.privateKeyPem,
      kid: keys.kid,
      tenants,
      scopes,
      ttlSec: Number(f.ttl),
      issuer: keys.issuer,
      audience: keys.audience,
      subject: String(f.subject),
    });
    process.stdout.write(token + '\n');
    return EXIT.OK;
  },
};

export const keysGenerateCommand: Command = {
  name: 'keys generate',
  summary: 'Generate a signing key pair for DAGs and bundles (PKCS8 private, SPKI public PEM).',
  examples: ['orchestrator keys generate --out keys --name release --type p256'],
  flags: [
    { name: 'out', kind: 'string', default: '.', help: 'folder to write NAME.key and NAME.pub into' },
    { name: 'name', kind: 'string', default: 'signing', help: 'file name stem' },
    { name: 'type', kind: 'string', default: 'ed25519', help: 'ed25519 or p256' },
  ],
  async run(f) {
    const type = String(f.type);
    if (type !== 'ed25519' && type !== 'p256') throw new UsageError('--type must be ed25519 or p256');
    const { generateSigningKeyPair } = await import('../dags/signature.js');
    const kp = generateSigningKeyPair(type);
    const out = resolve(String(f.out));
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, `${f.name}.key`), kp.privateKeyPem, { mode: 0o600, flag: 'wx' });
    writeFileSync(join(out, `${f.name}.pub`), kp.publicKeyPem, { flag: 'wx' });
    process.stdout.write(JSON.stringify({ keyid: kp.keyid, privateKey: join(out, `${f.name}.key`), publicKey: join(out, `${f.name}.pub`) }) + '\n');
    return EXIT.OK;
  },
};

/** A DAG document from a file, or from stdin for `-`. */
async function readDag(file: string) {
  const { parseDag } = await import('../dags/model.js');
  return parseDag(parseJsonBounded(readFileSync(file === '-' ? 0 : file, 'utf8'), 64));
}

export const dagSignCommand: Command = {
  name: 'dag sign',
  summary: 'Sign a DAG document (DSSE); writes the signed document to --out or stdout.',
  args: 'FILE',
  examples: ['orchestrator dag sign nightly.json --key fixtures/keys/dev-signing.key --out nightly.signed.json'],
  flags: [
    { name: 'key', kind: 'string', help: 'private key (PKCS8 PEM, Ed25519 or P-256)' },
    { name: 'out', kind: 'string', help: 'output file (default stdout)' },
  ],
  async run(f, pos) {
    if (!pos[0] || !f.key) throw new UsageError('usage: orchestrator dag sign FILE --key KEY (FILE - reads stdin)');
    const doc = await readDag(pos[0]);
    const { signDag } = await import('../dags/signature.js');
    const { signature: _old, ...unsigned } = doc;
    const signed = signDag(unsigned as typeof doc, readFileSync(String(f.key), 'utf8'));
    const text = JSON.stringify(signed, null, 2) + '\n';
    if (f.out) writeFileSync(String(f.out), text);
    else process.stdout.write(text);
    return EXIT.OK;
  },
};

export const dagCheckCommand: Command = {
  name: 'dag check',
  summary: 'Validate a DAG document (schema, graph, references, plugins, signature) offline.',
  args: 'FILE',
  examples: ['orchestrator dag check nightly.signed.json --trust-dir fixtures/keys/trust'],
  flags: [
    { name: 'trust-dir', kind: 'list', help: 'trusted public keys (DIR/<tenant>/ for keys trusted only for that tenant)' },
    { name: 'tenant', kind: 'string', help: 'check the signature with the keys trusted for this tenant (default: any key of the trust folders)' },
    { name: 'allow-unsigned', kind: 'boolean', default: false, help: 'accept an unsigned document' },
    { name: 'plugins-dir', kind: 'list', help: 'operator plugin folders besides the built-ins' },
    { name: 'exec-allow', kind: 'list', help: "the server's exec allow-list: warn about an exec program not on it" },
  ],
  async run(f, pos) {
    if (!pos[0]) throw new UsageError('usage: orchestrator dag check FILE');
    const doc = await readDag(pos[0]);
    const [{ TrustStore, verifyDagSignature }, { loadPlugins }, { validateDag }, { withWarnings }, { dagHash }] = await Promise.all([
      import('../dags/signature.js'),
      import('../engine/index.js'),
      import('../dags/validate.js'),
      import('../dags/with-check.js'),
      import('../dags/canonical.js'),
    ]);
    const trust = new TrustStore();
    for (const d of (f['trust-dir'] as string[] | undefined) ?? []) trust.addDir(d);
    const keys = f.tenant === undefined ? trust.anyTenant() : trust.forTenant(String(f.tenant));
    const signedBy = verifyDagSignature(doc, keys, { allowUnsigned: f['allow-unsigned'] === true });
    const registry = loadPlugins(((f['plugins-dir'] as string[] | undefined) ?? []).map((d) => resolve(d)));
    const schemaOf = (ref: string) => registry.resolve(ref)?.inputsSchema;
    validateDag(doc, { pluginExists: (ref) => registry.has(ref), inputsSchemaOf: schemaOf });
    const execAllow = (f['exec-allow'] as string[] | undefined)?.map((p) => resolve(p));
    const warnings = withWarnings(doc, schemaOf, { execAllow });
    for (const w of warnings) process.stderr.write(`warning: ${w.message}\n`);
    process.stdout.write(JSON.stringify({ ok: true, dagId: doc.dagId, version: doc.version, hash: dagHash(doc), signedBy, warnings }) + '\n');
    return EXIT.OK;
  },
};

export { usage, parseFlags };
