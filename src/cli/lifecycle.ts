/**
 * `orchestrator backup`, `backup verify`, `restore`, `upgrade` (CONTRACT §12;
 * docs/OPERATIONS.md). Each prints one JSON report on stdout; long backups and restores show
 * their progress on stderr (a line rewritten in place on a terminal, plain lines when piped).
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { TrustStore } from '../dags/signature.js';
import { stderrProgress } from '../lifecycle/progress.js';
import { UsageError, type FlagSpec, type Flags } from './args.js';
import { EXIT, type Command } from './commands.js';

const trustFlag: FlagSpec = { name: 'trust-dir', kind: 'list', help: 'folder of SPKI PEM public keys: the backup must be signed by one of them' };
const quietFlag: FlagSpec = { name: 'quiet', kind: 'boolean', default: false, help: 'no progress on stderr' };

// Each command's run imports the lifecycle (and DAG) modules when it runs (commands.ts).
const lifecycle = () => import('../lifecycle/index.js');

/** The trusted keys of `--trust-dir DIR…`, or undefined when none is given. */
export async function trustOf(f: Flags): Promise<TrustStore | undefined> {
  const dirs = (f['trust-dir'] as string[] | undefined) ?? [];
  if (dirs.length === 0) return undefined;
  const { TrustStore } = await import('../dags/signature.js');
  const trust = new TrustStore();
  for (const d of dirs) trust.addDir(resolve(d));
  return trust;
}

const progressOf = (f: Flags, label: string) => (f.quiet === true ? undefined : stderrProgress(label));
const print = (v: unknown) => process.stdout.write(JSON.stringify(v) + '\n');

export const backupVerifyCommand: Command = {
  name: 'backup verify',
  summary: 'Check a backup completely (manifest, every SHA-256, signature with --trust-dir, database integrity) without installing it.',
  args: 'FILE',
  examples: ['orchestrator backup verify backup.tar.gz'],
  flags: [trustFlag, quietFlag],
  async run(f, pos) {
    if (!pos[0]) throw new UsageError('usage: orchestrator backup verify FILE [--trust-dir DIR]');
    print(await (await lifecycle()).verifyBackup(pos[0], { trust: await trustOf(f), progress: progressOf(f, 'verify') }));
    return EXIT.OK;
  },
};

export const backupCommand: Command = {
  name: 'backup',
  summary: 'Write an online backup of a data folder (a server may be serving it) into one .tar.gz with a SHA-256 manifest.',
  flags: [
    { name: 'data-dir', kind: 'string', default: './data', help: 'data folder to back up' },
    { name: 'out', kind: 'string', help: 'archive to write (must not exist)' },
    { name: 'key', kind: 'string', help: 'sign the manifest with this private key (PKCS8 PEM)' },
    quietFlag,
  ],
  examples: ['orchestrator backup --data-dir ./data --out backup.tar.gz'],
  async run(f) {
    if (!f.out) throw new UsageError('usage: orchestrator backup --data-dir D --out FILE [--key KEY]');
    const keyPem = f.key ? readFileSync(String(f.key), 'utf8') : undefined;
    const r = await (await lifecycle()).createBackup({ dataDir: String(f['data-dir']), out: String(f.out), keyPem, progress: progressOf(f, 'backup') });
    print(r);
    return EXIT.OK;
  },
};

export const restoreCommand: Command = {
  name: 'restore',
  summary: 'Restore a backup into a new or empty data folder: every hash verified first, installed all or nothing.',
  args: 'FILE',
  examples: ['orchestrator restore backup.tar.gz --data-dir ./restored'],
  flags: [{ name: 'data-dir', kind: 'string', help: 'the new data folder (absent or empty)' }, trustFlag, quietFlag],
  async run(f, pos) {
    if (!pos[0] || !f['data-dir']) throw new UsageError('usage: orchestrator restore FILE --data-dir NEW');
    print(await (await lifecycle()).restoreBackup(pos[0], String(f['data-dir']), { trust: await trustOf(f), progress: progressOf(f, 'restore') }));
    return EXIT.OK;
  },
};

export const upgradeCommand: Command = {
  name: 'upgrade',
  summary: "Migrate a data folder to this version's schema after an automatic backup beside it (serve does the same at start); --check only tells.",
  flags: [
    { name: 'data-dir', kind: 'string', default: './data', help: 'data folder' },
    { name: 'check', kind: 'boolean', default: false, help: 'say what would be done, change nothing' },
    quietFlag,
  ],
  examples: ['orchestrator upgrade --check --data-dir ./restored', 'orchestrator upgrade --data-dir ./restored'],
  async run(f) {
    const dataDir = resolve(String(f['data-dir']));
    const { prepareDataDir, upgradePlan } = await lifecycle();
    print(f.check === true ? upgradePlan(dataDir) : await prepareDataDir(dataDir, undefined, { progress: progressOf(f, 'upgrade') }));
    return EXIT.OK;
  },
};

/** In matching order: `backup verify` before `backup`. */
export const LIFECYCLE_COMMANDS: Command[] = [backupVerifyCommand, backupCommand, restoreCommand, upgradeCommand];
