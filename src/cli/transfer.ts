/**
 * `orchestrator export runs|dags|events` and `orchestrator import runs`: NDJSON records carried
 * between installations, read from (or written to) a data folder directly.
 *
 * Exports open the database without its lock (SQLite WAL lets them read while a server runs);
 * imports take the lock, so they refuse a data folder a server holds.
 */
import { createWriteStream, readFileSync, type WriteStream } from 'node:fs';
import { resolve } from 'node:path';
import { ndjsonExport, parseNdjsonExport, TENANT_RE } from '../core/index.js';
import { dagExportRecords } from '../dags/service.js';
import { eventExportRecords } from '../events/export.js';
import { exportRunRecords, importRunRecords } from '../runs/transfer.js';
import { Store } from '../store/index.js';
import { UsageError, type FlagSpec, type Flags } from './args.js';
import { EXIT, type Command } from './commands.js';

const common: FlagSpec[] = [
  { name: 'data-dir', kind: 'string', default: './data', help: 'data folder' },
  { name: 'tenant', kind: 'string', help: 'tenant whose records are exported (required)' },
  { name: 'out', kind: 'string', help: 'output file (default stdout)' },
];

function tenantOf(f: Flags): string {
  const t = f.tenant as string | undefined;
  if (!t || !TENANT_RE.test(t)) throw new UsageError('--tenant is required and must be a tenant id');
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
async function writeExport(records: Iterable<unknown>, out: string | undefined, what: string): Promise<number> {
  const sink: NodeJS.WritableStream = out ? createWriteStream(resolve(out)) : process.stdout;
  const tty = process.stderr.isTTY;
  let n = 0;
  for (const line of ndjsonExport(records)) {
    if (!sink.write(line)) await new Promise((r) => sink.once('drain', r));
    if (tty && ++n % 1000 === 0) process.stderr.write(`\rexport ${what}: ${n} records…`);
  }
  if (tty && n >= 1000) process.stderr.write('\n');
  if (out) await new Promise<void>((r, j) => (sink as WriteStream).end((e?: Error | null) => (e ? j(e) : r())));
  return EXIT.OK;
}

function readOnlyStore(f: Flags): Store {
  return Store.open({ dataDir: resolve(String(f['data-dir'])), lock: false });
}

export const exportRunsCommand: Command = {
  name: 'export runs',
  summary: 'Export runs (steps and attempts inline) as NDJSON with a manifest line, oldest first.',
  examples: ['orchestrator export runs --tenant demo --data-dir ./data --out runs.ndjson'],
  flags: [
    ...common,
    { name: 'dag-id', kind: 'string', help: 'only this DAG' },
    { name: 'status', kind: 'string', help: 'only runs in this status' },
    { name: 'from', kind: 'string', help: 'startedUtc >= this ISO time' },
    { name: 'to', kind: 'string', help: 'startedUtc < this ISO time' },
  ],
  async run(f) {
    const tenant = tenantOf(f);
    const filter = { tenant, dagId: f['dag-id'] as string | undefined, status: f.status as string | undefined, fromMs: isoMs(f, 'from'), toMs: isoMs(f, 'to') };
    const store = readOnlyStore(f);
    try {
      return await writeExport(exportRunRecords(store, filter), f.out as string | undefined, 'runs');
    } finally {
      store.close();
    }
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
    const store = readOnlyStore(f);
    try {
      return await writeExport(dagExportRecords(store, tenant, f['dag-id'] as string | undefined, active), f.out as string | undefined, 'dags');
    } finally {
      store.close();
    }
  },
};

export const exportEventsCommand: Command = {
  name: 'export events',
  summary: 'Export the event log (seq ASC, hash-chained) as NDJSON with a manifest line.',
  examples: ['orchestrator export events --tenant demo --data-dir ./data --out events.ndjson'],
  flags: [...common, { name: 'since', kind: 'string', default: '0', help: 'events after this seq' }],
  async run(f) {
    const tenant = tenantOf(f);
    const since = Number(f.since);
    if (!Number.isInteger(since) || since < 0) throw new UsageError('--since must be a whole number');
    const store = readOnlyStore(f);
    try {
      return await writeExport(eventExportRecords(store, tenant, since), f.out as string | undefined, 'events');
    } finally {
      store.close();
    }
  },
};

export const importRunsCommand: Command = {
  name: 'import runs',
  summary: 'Import a run export (read-only records); all or nothing. The server must be stopped.',
  examples: ['orchestrator import runs runs.ndjson --data-dir ./offline-data'],
  flags: [{ name: 'data-dir', kind: 'string', default: './data', help: 'data folder' }],
  async run(f, pos) {
    if (!pos[0]) throw new UsageError('usage: orchestrator import runs FILE --data-dir D');
    const records = parseNdjsonExport(readFileSync(resolve(pos[0]), 'utf8'));
    const store = Store.open({ dataDir: resolve(String(f['data-dir'])) });
    try {
      const tty = process.stderr.isTTY;
      const report = importRunRecords(store, records, tty ? (n) => process.stderr.write(`\rimport runs: ${n}…`) : undefined);
      if (tty && report.imported >= 1000) process.stderr.write('\n');
      process.stdout.write(JSON.stringify({ ok: true, ...report }) + '\n');
      return EXIT.OK;
    } finally {
      store.close();
    }
  },
};

export const TRANSFER_COMMANDS = [exportRunsCommand, exportDagsCommand, exportEventsCommand, importRunsCommand];
