import { readFileSync } from 'node:fs';
import { readNdjsonExport } from '../core/index.js';
import { UsageError } from './args.js';
import { EXIT, type Command } from './commands.js';
import { trustOf } from './lifecycle.js';

export const eventsVerifyCommand: Command = {
  name: 'events verify',
  summary: 'Verify an event export (GET /events:export): manifest and per-tenant hash chain, from its retention checkpoint if pruned; with --trust-dir also its signature (export events --key).',
  args: 'FILE',
  examples: ['orchestrator events verify events.ndjson --trust-dir fixtures/keys/trust'],
  flags: [{ name: 'trust-dir', kind: 'list', help: 'folder of SPKI PEM public keys: the export must be signed by one of them (its head and content)' }],
  async run(f, pos) {
    if (!pos[0]) throw new UsageError('usage: orchestrator events verify FILE');
    let parsed: ReturnType<typeof readNdjsonExport>;
    try {
      parsed = readNdjsonExport(readFileSync(pos[0], 'utf8'));
    } catch (e) {
      process.stdout.write(JSON.stringify({ ok: false, problems: [{ problem: (e as Error).message }] }) + '\n');
      return EXIT.FAILED;
    }
    // Loaded when the command runs, not when the CLI starts (commands.ts).
    const [{ verifyEventChain }, { verifyExportManifest }] = await Promise.all([import('../events/index.js'), import('../runs/export-signature.js')]);
    const report: ReturnType<typeof verifyEventChain> & { signedBy?: string[] } = verifyEventChain(parsed.records, parsed.manifest);
    const trust = await trustOf(f);
    if (trust) {
      // The signature covers the content's hash, the tenant, the chain's head and checkpoint:
      // a file rewritten with a valid chain of its own fails here.
      const m = parsed.manifest as Record<string, unknown> & { count: number; sha256: string };
      const tenant = typeof m.tenant === 'string' ? m.tenant : '';
      const last = parsed.records.at(-1) as { hash?: unknown } | undefined;
      try {
        report.signedBy = verifyExportManifest('events', tenant, { ...m, head: typeof last?.hash === 'string' ? last.hash : '' }, trust);
        if (Object.keys(report.tenants).some((t) => t !== tenant)) throw new Error(`the export holds events of a tenant other than the signed one (${JSON.stringify(tenant)})`);
      } catch (e) {
        report.problems.push({ index: parsed.records.length, problem: `signature: ${(e as Error).message}` });
        report.ok = false;
      }
    }
    process.stdout.write(JSON.stringify(report) + '\n');
    return report.ok ? EXIT.OK : EXIT.FAILED;
  },
};
