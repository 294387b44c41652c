/**
 * `orchestrator export archive` and `orchestrator import archive`: moving a tenant's runs to
 * another installation with their DAG versions, events, logs and artifacts, in one signed
 * archive (docs/OPERATIONS.md, "Moving runs between sites"). The export reads a data folder
 * beside a running server; the import, like `import runs`, takes the folder's lock, so the
 * target server must be stopped.
 */
import { resolve } from 'node:path';
import { UsageError } from './args.js';
import { EXIT, type Command } from './commands.js';
import { trustOf } from './lifecycle.js';
import { importFlags, importGate, keyFlag, keyOf, runFilterFlags, runFilterOf, tenantOf } from './transfer.js';

const print = (v: unknown) => process.stdout.write(JSON.stringify(v) + '\n');

export const exportArchiveCommand: Command = {
  name: 'export archive',
  summary: 'Write one archive of a tenant\'s ended runs with their DAG versions, events, logs and artifacts (manifest of SHA-256 hashes, signed with --key).',
  examples: ['orchestrator export archive --tenant demo --dag-id hello --data-dir ./data --key fixtures/keys/dev-signing.key --out hello-runs.tar.gz'],
  flags: [
    { name: 'data-dir', kind: 'string', default: './data', help: 'data folder' },
    { name: 'tenant', kind: 'string', help: 'tenant whose runs are archived (required)' },
    { name: 'out', kind: 'string', help: 'the archive to write (.tar.gz; must not exist; required)' },
    ...runFilterFlags,
    keyFlag,
  ],
  async run(f) {
    const tenant = tenantOf(f);
    if (!f.out) throw new UsageError('--out FILE is required: the archive is a file');
    const { tenant: _t, ...filter } = runFilterOf(f, tenant);
    const { createRunArchive } = await import('../lifecycle/index.js');
    print({ ok: true, ...(await createRunArchive({ dataDir: String(f['data-dir']), tenant, filter, out: String(f.out), keyPem: keyOf(f) })) });
    return EXIT.OK;
  },
};

export const importArchiveCommand: Command = {
  name: 'import archive',
  args: 'FILE',
  summary: 'Install a run archive: every hash and the signature checked first, then runs, DAG versions, events, logs and artifacts all or nothing. The server must be stopped.',
  examples: ['orchestrator import archive hello-runs.tar.gz --tenant demo --data-dir ./moved-data --trust-dir fixtures/keys/trust'],
  flags: importFlags,
  async run(f, pos) {
    const { file, tenant, allowUnsigned } = importGate(f, pos, 'archive');
    const dataDir = resolve(String(f['data-dir']));
    const trust = await trustOf(f);
    const [{ importRunArchive }, { SqlitePorts, Store }] = await Promise.all([import('../lifecycle/index.js'), import('../store/index.js')]);
    const store = Store.open({ dataDir });
    try {
      print(await importRunArchive(resolve(file), { ports: new SqlitePorts(store), dataDir, tenant, trust, allowUnsigned }));
      return EXIT.OK;
    } finally {
      store.close();
    }
  },
};

export const ARCHIVE_COMMANDS = [exportArchiveCommand, importArchiveCommand];
