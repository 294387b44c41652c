/**
 * `orchestrator runs start DAG`: inputs from `--inputs-file` (a JSON object, `-` for stdin)
 * and `--input k=v` (a string) or `--input k:=JSON` (any JSON value), later ones winning;
 * `--wait` / `--follow` return when the run ends (exit 0 completed, 4 failed or cancelled);
 * `--quiet` prints only the run id, for `RUN=$(orchestrator runs start … --quiet)`.
 */
import { readFileSync } from 'node:fs';
import { UsageError } from '../args.js';
import { EXIT } from '../commands.js';
import { args, clientCommand } from './command.js';
import { awaitRun, followFormat, printRun, WAIT_FLAGS } from './runs.js';
import type { RunView } from './watch.js';

/** A JSON object (not null, not an array). */
export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The run's inputs from `--inputs-file` and `--input` flags. */
export function parseInputs(file: string | undefined, pairs: string[], stdin: () => string = () => readFileSync(0, 'utf8')): Record<string, unknown> | undefined {
  let inputs: Record<string, unknown> | undefined;
  if (file !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(file === '-' ? stdin() : readFileSync(file, 'utf8'));
    } catch (e) {
      throw new UsageError(`--inputs-file ${file}: ${(e as Error).message}`);
    }
    if (!isObject(parsed)) throw new UsageError(`--inputs-file ${file} must hold a JSON object`);
    inputs = parsed;
  }
  for (const p of pairs) {
    const m = /^([^=:]+)(:?=)([\s\S]*)$/.exec(p);
    if (!m) throw new UsageError(`--input ${p}: expected KEY=VALUE (a string) or KEY:=JSON`);
    const [, key, op, raw] = m;
    let value: unknown = raw;
    if (op === ':=') {
      try {
        value = JSON.parse(raw!);
      } catch {
        throw new UsageError(`--input ${p}: the value after := must be JSON`);
      }
    }
    (inputs ??= {})[key!] = value;
  }
  return inputs;
}

export const runsStart = clientCommand({
  name: 'runs start',
  summary: 'Start a run of a DAG (its newest active version unless --version).',
  args: 'DAG',
  examples: [
    'orchestrator runs start hello --input name=ops --wait',
    'orchestrator runs start image-scan --input image=registry.local/app:1.4.2 --follow',
    'RUN=$(orchestrator runs start hello --quiet)',
  ],
  flags: [
    { name: 'version', kind: 'string', env: false, arg: 'SEMVER', help: 'DAG version (default: the newest active one)' },
    { name: 'input', kind: 'list', env: false, arg: 'KEY=VALUE|KEY:=JSON', help: 'one run input: a string, or a JSON value after :=' },
    { name: 'inputs-file', kind: 'string', env: false, arg: 'FILE', help: 'run inputs as a JSON object ("-" reads stdin)' },
    { name: 'run-token', kind: 'string', env: false, arg: 'TOKEN', help: 'start at most one run for this token (repeats return that run)' },
    ...WAIT_FLAGS,
    { name: 'quiet', short: 'q', kind: 'boolean', env: false, help: 'print only the run id' },
  ],
  pipedFormat: followFormat,
  async run(ctx, positional) {
    const [dagId] = args(positional, 1, 1, 'runs start DAG [--input K=V]… [--wait|--follow]');
    const f = ctx.flags;
    if (f.quiet && f.follow) throw new UsageError('--quiet and --follow exclude each other');
    const body: Record<string, unknown> = { dagId };
    if (f.version !== undefined) body.version = f.version;
    const inputs = parseInputs(f['inputs-file'] as string | undefined, (f.input as string[] | undefined) ?? []);
    if (inputs !== undefined) body.inputs = inputs;
    if (f['run-token'] !== undefined) body.runToken = f['run-token'];
    const start = async (): Promise<RunView> => {
      const run = (await ctx.api.json<RunView>('POST', '/runs', { body })).body;
      if (f.quiet) ctx.out.line(run.runId);
      return run;
    };
    if (f.wait || f.follow) return awaitRun(ctx, { start, dagId }, { follow: f.follow === true, quiet: f.quiet === true });
    const run = await start();
    if (!f.quiet) printRun(ctx.out, run);
    return EXIT.OK;
  },
});
