/**
 * The `orchestrator` command line: one entry for source, bundle and single executable.
 *
 * @example
 * process.exitCode = await runCli(process.argv.slice(2));
 */
import { coerceError, ApiError } from '../core/index.js';
import { VERSION } from '../core/runtime.js';
import { parseFlags, TenantRequiredError, usage, UsageError } from './args.js';
import { DataDirLockedError, SchemaTooNew, SchemaUpgradeRequired } from '../store/index.js';
import { dagCheckCommand, dagSignCommand, EXIT, keysGenerateCommand, tokenCommand, type Command } from './commands.js';
import { BUNDLE_COMMANDS } from './bundle.js';

import { SERVE_FLAGS } from './config.js';
import { eventsVerifyCommand } from './events.js';
import { TRANSFER_COMMANDS } from './transfer.js';
import { ARCHIVE_COMMANDS } from './archive.js';
import { LIFECYCLE_COMMANDS } from './lifecycle.js';
import { STORE_COMMANDS } from './store.js';
import { CLIENT_COMMANDS } from './client/index.js';
import { AUTH_CODES } from './client/command.js';
import { completionCommand } from './completion.js';

/** `serve` loads the whole server lazily, so `--version` and the small commands start fast. */
const serveCommand: Command = {
  name: 'serve',
  summary: 'Serve the Orchestrator API.',
  examples: ['orchestrator serve --dev --dags-dir fixtures/dags --trust-dir fixtures/keys/trust --port 0 --data-dir ./dev-data'],
  flags: SERVE_FLAGS,
  async run(flags) {
    return (await import('./serve.js')).serve(flags);
  },
};

/** Commands that work on a data folder or local files (no server needed). */
const LOCAL_COMMANDS: Command[] = [serveCommand, tokenCommand, keysGenerateCommand, dagSignCommand, dagCheckCommand, ...BUNDLE_COMMANDS, eventsVerifyCommand, ...TRANSFER_COMMANDS, ...ARCHIVE_COMMANDS, ...LIFECYCLE_COMMANDS, ...STORE_COMMANDS];

export const COMMANDS: Command[] = [...LOCAL_COMMANDS, ...CLIENT_COMMANDS, completionCommand(() => COMMANDS)];

function section(title: string, commands: readonly Command[]): string[] {
  return ['', title, ...commands.map((c) => `  ${c.name.padEnd(16)}${c.summary}`)];
}

function helpText(): string {
  const lines = [`orchestrator ${VERSION} — offline multi-tenant DAG orchestrator`];
  lines.push(...section('server and data folder commands:', LOCAL_COMMANDS));
  lines.push(...section('client commands, against a running server (--server, --token, --tenant; docs/CLI.md):', CLIENT_COMMANDS));
  lines.push(...section('shell commands:', COMMANDS.filter((c) => c.name.startsWith('completion '))));
  lines.push('', 'orchestrator COMMAND --help for its flags and examples; orchestrator --version');
  return lines.join('\n') + '\n';
}

/** Help of a command group (`orchestrator runs`, `orchestrator dag --help`): its subcommands. */
function groupHelp(group: string, members: readonly Command[]): string {
  const lines = [`usage: orchestrator ${group} COMMAND [flags]`, '', 'commands:'];
  for (const c of members) lines.push(`  ${c.name.padEnd(16)}${c.summary}`);
  const related = COMMANDS.filter((c) => !members.includes(c) && c.name.split(' ')[0]!.replace(/s$/, '') === group.replace(/s$/, ''));
  if (related.length) lines.push('', 'see also:', ...related.map((c) => `  ${c.name.padEnd(16)}${c.summary}`));
  lines.push('', `orchestrator ${group} COMMAND --help for its flags and examples`);
  return lines.join('\n') + '\n';
}

function findCommand(argv: string[]): { cmd: Command; rest: string[] } | undefined {
  for (const c of COMMANDS) {
    const words = c.name.split(' ');
    if (words.every((w, i) => argv[i] === w)) return { cmd: c, rest: argv.slice(words.length) };
  }
  return undefined;
}

const isHelp = (a: string): boolean => a === '--help' || a === '-h';

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
    const members = COMMANDS.filter((c) => c.name.startsWith(`${argv[0]} `));
    if (members.length && (argv.length === 1 || isHelp(argv[1]!))) {
      (argv.length === 1 ? process.stderr : process.stdout).write(groupHelp(argv[0]!, members));
      return argv.length === 1 ? EXIT.FAILED : EXIT.OK;
    }
    process.stderr.write(`orchestrator: unknown command "${argv.join(' ')}"\n\n` + (members.length ? groupHelp(argv[0]!, members) : helpText()));
    return EXIT.FAILED;
  }
  const { cmd, rest } = found;
  if (rest.some(isHelp)) {
    process.stdout.write(usage(cmd.name, cmd.summary, cmd.flags, { args: cmd.args, examples: cmd.examples }) + '\n');
    return EXIT.OK;
  }
  try {
    const { flags, positional } = parseFlags(rest, cmd.flags);
    return await cmd.run(flags, positional);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`orchestrator ${cmd.name}: ${e.message}\n`);
      return e instanceof TenantRequiredError ? EXIT.AUTH : EXIT.FAILED;
    }
    if (e instanceof DataDirLockedError || e instanceof SchemaTooNew || e instanceof SchemaUpgradeRequired) {
      process.stderr.write(`orchestrator: ${e.message}\n`);
      return EXIT.FAILED;
    }
    if (e instanceof ApiError) {
      process.stderr.write(`orchestrator ${cmd.name}: ${e.code}: ${e.message}\n${e.details ? JSON.stringify(e.details) + '\n' : ''}`);
      return AUTH_CODES.has(e.code) ? EXIT.AUTH : EXIT.FAILED;
    }
    process.stderr.write(`orchestrator ${cmd.name}: ${coerceError(e).message}\n`);
    return EXIT.FAILED;
  }
}
