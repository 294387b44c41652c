import { readFileSync } from 'node:fs';
import { readNdjsonExport } from '../core/index.js';
import { verifyEventChain } from '../events/index.js';
import { UsageError } from './args.js';
import { EXIT, type Command } from './commands.js';

export const eventsVerifyCommand: Command = {
  name: 'events verify',
  summary: 'Verify an event export (GET /events:export): manifest and per-tenant hash chain, from its retention checkpoint if pruned.',
  args: 'FILE',
  examples: ['orchestrator events verify events.ndjson'],
  flags: [],
  async run(_f, pos) {
    if (!pos[0]) throw new UsageError('usage: orchestrator events verify FILE');
    let parsed: ReturnType<typeof readNdjsonExport>;
    try {
      parsed = readNdjsonExport(readFileSync(pos[0], 'utf8'));
    } catch (e) {
      process.stdout.write(JSON.stringify({ ok: false, problems: [{ problem: (e as Error).message }] }) + '\n');
      return EXIT.FAILED;
    }
    const report = verifyEventChain(parsed.records, parsed.manifest);
    process.stdout.write(JSON.stringify(report) + '\n');
    return report.ok ? EXIT.OK : EXIT.FAILED;
  },
};
