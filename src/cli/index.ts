/**
 * The `orchestrator` command line: one entry for source, bundle and single executable.
 *
 * @example
 * process.exitCode = await runCli(process.argv.slice(2));
 */
import { coerceError, ApiError } from '../core/index.js';
import { VERSION } from '../core/runtime.js';
import { parseFlags, usage, UsageError } from './args.js';
import { DataDirLockedError, SchemaTooNew, SchemaUpgradeRequired } from '../store/index.js';
import { dagCheckCommand, dagSignCommand, EXIT, keysGenerateCommand, tokenCommand, type Command } from './commands.js';
import { BUNDLE_COMMANDS } from './bundle.js';

import { SERVE_FLAGS } from './config.js';
import { eventsVerifyCommand } from './events.js';
import { TRANSFER_COMMANDS } from './transfer.js';
import { LIFECYCLE_COMMANDS } from './lifecycle.js';

/** `serve` loads the whole server lazily, so `--version` and the small commands start fast. */
const serveCommand: Command = {
  name: 'serve',
  summary: 'Serve the Orchestrator API.',
  flags: SERVE_FLAGS,
  async run(flags, positional) {
    const { serveCommand: real } = await import('./serve.js');
    return real.run(flags, positional);
  },
};

export const COMMANDS: Command[] = [serveCommand, tokenCommand, keysGenerateCommand, dagSignCommand, dagCheckCommand, ...BUNDLE_COMMANDS, eventsVerifyCommand, ...TRANSFER_COMMANDS, ...LIFECYCLE_COMMANDS];

function helpText(): string {
  const lines = [`orchestrator ${VERSION} — offline multi-tenant DAG orchestrator`, '', 'commands:'];
  for (const c of COMMANDS) lines.push(`  ${c.name.padEnd(16)}${c.summary}`);
  lines.push('', 'orchestrator COMMAND --help for its flags; orchestrator --version');
  return lines.join('\n') + '\n';
}

function findCommand(argv: string[]): { cmd: Command; rest: string[] } | undefined {
  for (const c of COMMANDS) {
    const words = c.name.split(' ');
    if (words.every((w, i) => argv[i] === w)) return { cmd: c, rest: argv.slice(words.length) };
  }
  return undefined;
}

export async function runCli(argv: string[]): Promise<number> {
  if (argv[0] === '--version' || argv[0] === 'version') {
    process.stdout.write(VERSION + '\n');
    return EXIT.OK;
  }
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === 'help') {
    process.stdout.write(helpText());
    return argv.length === 0 ? EXIT.FAILED : EXIT.OK;
  }
  const found = findCommand(argv);
  if (!found) {
    process.stderr.write(`orchestrator: unknown command "${argv.join(' ')}"\n\n` + helpText());
    return EXIT.FAILED;
  }
  const { cmd, rest } = found;
  if (rest.includes('--help')) {
    process.stdout.write(usage(cmd.name, cmd.summary, cmd.flags) + '\n');
    return EXIT.OK;
  }
  try {
    const { flags, positional } = parseFlags(rest, cmd.flags);
    return await cmd.run(flags, positional);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`orchestrator ${cmd.name}: ${e.message}\n`);
      return EXIT.FAILED;
    }
    if (e instanceof DataDirLockedError || e instanceof SchemaTooNew || e instanceof SchemaUpgradeRequired) {
      process.stderr.write(`orchestrator: ${e.message}\n`);
      return EXIT.FAILED;
    }
    if (e instanceof ApiError) {
      process.stderr.write(`orchestrator ${cmd.name}: ${e.code}: ${e.message}\n${e.details ? JSON.stringify(e.details) + '\n' : ''}`);
      return e.status === 401 || e.status === 403 ? EXIT.AUTH : EXIT.FAILED;
    }
    process.stderr.write(`orchestrator ${cmd.name}: ${coerceError(e).message}\n`);
    return EXIT.FAILED;
  }
}
