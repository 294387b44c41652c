/**
 * `orchestrator export runs|dags|events` and `orchestrator import runs`: NDJSON records carried
 * between installations, read from (or written to) a data folder directly.
 *
 * Exports open the database without its lock (SQLite WAL lets them read while a server runs);
 * imports take the lock, so they refuse a data folder a server holds.
 */
import { createWriteStream, readFileSync, type WriteStream } from 'node:fs';
import { resolve } from 'node:path';
import { ndjsonExport, readNdjsonExport, TENANT_RE } from '../core/index.js';
import type { Store, StorePorts } from '../store/index.js';
import { TenantRequiredError, UsageError, type FlagSpec, type Flags } from './args.js';
import { EXIT, type Command } from './commands.js';
import { trustOf } from './lifecycle.js';

const common: FlagSpec[] = [
  { name: 'data-dir', kind: 'string', default: './data', help: 'data folder' },
  { name: 'tenant', kind: 'string', help: 'tenant whose records are exported (required)' },
  { name: 'out', kind: 'string', help: 'output file (default stdout)' },
];

export function tenantOf(f: Flags): string {
  const t = f.tenant as string | undefined;
  if (!t || !TENANT_RE.test(t)) throw new TenantRequiredError('--tenant is required and must be a tenant id');
  return t;
}

function isoMs(f: Flags, name: string): number | undefined {
  const v = f[name] as string | undefined;
  if (v === undefined) return undefined;
  const ms = Date.parse(v);
  if (Number.isNaN(ms)) throw new UsageError(`--${name} must be an ISO-8601 time`);
  return ms;
}

/** Writes NDJSON lines with back-pressure; progress on stderr only when it is a terminal. */
async function writeExport(records: Iterable<unknown> | AsyncIterable<unknown>, out: string | undefined, what: string, extend?: Parameters<typeof ndjsonExport>[1]): Promise<number> {
  const sink: NodeJS.WritableStream = out ? createWriteStream(resolve(out)) : process.stdout;
  const tty = process.stderr.isTTY;
  let n = 0;
  for await (const line of ndjsonExport(records, extend)) {
    if (!sink.write(line)) await new Promise((r) => sink.once('drain', r));
    if (tty && ++n % 1000 === 0) process.stderr.write(`\rexport ${what}: ${n} records…`);
  }
  if (tty && n >= 1000) process.stderr.write('\n');
  if (out) await new Promise<void>((r, j) => (sink as WriteStream).end((e?: Error | null) => (e ? j(e) : r())));
  return EXIT.OK;
}

// Each command's run imports the store and the export code when it runs (commands.ts).
const signing = () => import('../runs/export-signature.js');

async function readOnlyStore(f: Flags): Promise<Store> {
  const { Store } = await import('../store/index.js');
  return Store.open({ dataDir: resolve(String(f['data-dir'])), lock: false });
}

/**
 * Runs `fn` on the ports over a read-only store of the data folder, then closes it: the offline
 * exports read through the same ports (and the same export code) as the server's.
 */
async function withReadOnlyPorts<T>(f: Flags, fn: (ports: StorePorts) => Promise<T>): Promise<T> {
  const [store, { SqlitePorts }] = await Promise.all([readOnlyStore(f), import('../store/index.js')]);
  try {
    return await fn(new SqlitePorts(store));
  } finally {
    store.close();
  }
}

/** The run filters of `export runs` and `export archive`. */
export const runFilterFlags: FlagSpec[] = [
  { name: 'dag-id', kind: 'string', help: 'only this DAG' },
  { name: 'status', kind: 'string', help: 'only runs in this status' },
  { name: 'from', kind: 'string', help: 'startedUtc >= this ISO time' },
  { name: 'to', kind: 'string', help: 'startedUtc < this ISO time' },
];
export const keyFlag: FlagSpec = { name: 'key', kind: 'string', help: 'private key (PKCS8 PEM, Ed25519 or P-256): sign the manifest (DSSE)' };

export function runFilterOf(f: Flags, tenant: string) {
  return { tenant, dagId: f['dag-id'] as string | undefined, status: f.status as string | undefined, fromMs: isoMs(f, 'from'), toMs: isoMs(f, 'to') };
}

export const keyOf = (f: Flags): string | undefined => (f.key ? readFileSync(resolve(String(f.key)), 'utf8') : undefined);

export const exportRunsCommand: Command = {
  name: 'export runs',
  summary: 'Export runs (steps and attempts inline) as NDJSON with a manifest line, oldest first.',
  examples: ['orchestrator export runs --tenant demo --dag-id hello --data-dir ./data --key fixtures/keys/dev-signing.key --out runs.ndjson'],
  flags: [...common, ...runFilterFlags, keyFlag],
  async run(f) {
    const tenant = tenantOf(f);
    const filter = runFilterOf(f, tenant);
    const key = keyOf(f);
    const [{ signExportManifest }, { exportRunRecords }] = await Promise.all([signing(), import('../runs/transfer.js')]);
    const sign = key ? (m: { count: number; sha256: string }) => signExportManifest('runs', tenant, m, key) : undefined;
    return withReadOnlyPorts(f, (ports) => writeExport(exportRunRecords(ports.runs, filter), f.out as string | undefined, 'runs', sign));
  },
};

export const exportDagsCommand: Command = {
  name: 'export dags',
  summary: 'Export DAG versions as NDJSON with a manifest line, oldest first.',
  examples: ['orchestrator export dags --tenant demo --data-dir ./data --active true'],
  flags: [...common, { name: 'dag-id', kind: 'string', help: 'only this DAG' }, { name: 'active', kind: 'string', help: 'true or false' }],
  async run(f) {
    const tenant = tenantOf(f);
    const active = f.active === undefined ? undefined : f.active === 'true';
    const [{ dagExportRecords }, { SqlitePorts }] = await Promise.all([import('../dags/service.js'), import('../store/index.js')]);
    const store = await readOnlyStore(f);
    try {
      return await writeExport(dagExportRecords(new SqlitePorts(store).catalog, tenant, f['dag-id'] as string | undefined, active), f.out as string | undefined, 'dags');
    } finally {
      store.close();
    }
  },
};

export const exportEventsCommand: Command = {
  name: 'export events',
  summary: 'Export the event log (seq ASC, hash-chained) as NDJSON with a manifest line; with --key the manifest (and the chain head) is signed.',
  examples: ['orchestrator export events --tenant demo --data-dir ./data --key fixtures/keys/dev-signing.key --out events.ndjson'],
  flags: [...common, { name: 'since', kind: 'string', default: '0', help: 'events after this seq' }, keyFlag],
  async run(f) {
    const tenant = tenantOf(f);
    const since = Number(f.since);
    if (!Number.isInteger(since) || since < 0) throw new UsageError('--since must be a whole number');
    const key = keyOf(f);
    const [{ signExportManifest }, { EventExports }] = await Promise.all([signing(), import('../events/export.js')]);
    return withReadOnlyPorts(f, async (ports) => {
      const { records: all, manifest: checkpoint } = await new EventExports(ports).export(tenant, since);
      let head = '';
      const records = (async function* () {
        for await (const e of all) {
          head = e.hash;
          yield e;
        }
      })();
      const extend = (m: { count: number; sha256: string }) => {
        const base = checkpoint?.() ?? {};
        // Signed: the manifest names the tenant and the chain head it signs.
        return key ? { ...base, head, tenant, ...signExportManifest('events', tenant, { ...m, head, checkpoint: base.checkpoint }, key) } : base;
      };
      return writeExport(records, f.out as string | undefined, 'events', extend);
    });
  },
};

/** The flags of `import runs` and `import archive`. */
export const importFlags: FlagSpec[] = [
  { name: 'data-dir', kind: 'string', default: './data', help: 'data folder' },
  // The tenant and the waiver of signatures are the operator's explicit word, never an
  // ORCH_TENANT / ORCH_ALLOW_UNSIGNED left in the environment for other commands.
  { name: 'tenant', kind: 'string', env: false, help: 'the tenant to import into; a record of any other tenant refuses the file (required)' },
  { name: 'trust-dir', kind: 'list', help: 'folder of SPKI PEM public keys: the export must be signed by one of them' },
  { name: 'allow-unsigned', kind: 'boolean', default: false, env: false, help: 'import an export without verifying a signature' },
];

/** What every import requires: a file, the tenant, and trusted keys or the explicit waiver. */
export function importGate(f: Flags, pos: string[], what: string): { file: string; tenant: string; allowUnsigned: boolean } {
  if (!pos[0]) throw new UsageError(`usage: orchestrator import ${what} FILE --tenant T --data-dir D (--trust-dir DIR | --allow-unsigned)`);
  const tenant = f.tenant as string | undefined;
  if (!tenant || !TENANT_RE.test(tenant)) throw new TenantRequiredError('--tenant is required and must be a tenant id: only that tenant\'s records are imported');
  const trustDirs = (f['trust-dir'] as string[] | undefined) ?? [];
  const allowUnsigned = f['allow-unsigned'] === true;
  if (trustDirs.length === 0 && !allowUnsigned) {
    throw new UsageError('give --trust-dir DIR to verify the export\'s signature, or --allow-unsigned to import it unverified');
  }
  return { file: pos[0], tenant, allowUnsigned };
}

export const importRunsCommand: Command = {
  name: 'import runs',
  args: 'FILE',
  summary: 'Import one tenant\'s run export (read-only records, hashes recomputed); all or nothing. The server must be stopped.',
  examples: ['orchestrator import runs runs.ndjson --tenant demo --data-dir ./offline-data --trust-dir fixtures/keys/trust'],
  flags: importFlags,
  async run(f, pos) {
    const { file, tenant, allowUnsigned } = importGate(f, pos, 'runs');
    const { records, manifest } = readNdjsonExport(readFileSync(resolve(file), 'utf8'));
    let signedBy: string[] = [];
    const trust = await trustOf(f);
    const [{ verifyExportManifest }, { importRunRecords }, { SqlitePorts, Store }] = await Promise.all([signing(), import('../runs/transfer.js'), import('../store/index.js')]);
    if (trust && (manifest.signature !== undefined || !allowUnsigned)) signedBy = verifyExportManifest('runs', tenant, manifest, trust);
    const store = Store.open({ dataDir: resolve(String(f['data-dir'])) });
    try {
      const tty = process.stderr.isTTY;
      const report = await importRunRecords(new SqlitePorts(store), records, { tenant, onProgress: tty ? (n) => process.stderr.write(`\rimport runs: ${n}…`) : undefined });
      if (tty && report.imported >= 1000) process.stderr.write('\n');
      process.stdout.write(JSON.stringify({ ok: true, ...report, signedBy }) + '\n');
      return EXIT.OK;
    } finally {
      store.close();
    }
  },
};

export const TRANSFER_COMMANDS = [exportRunsCommand, exportDagsCommand, exportEventsCommand, importRunsCommand];
