/**
 * A small flag parser for the CLI: `--name value`, `--name=value`, boolean `--flag`,
 * repeatable flags, and `ORCH_*` environment fallbacks (`--data-dir` ⇐ `ORCH_DATA_DIR`),
 * except for flags marked `env: false`, which only the command line can set.
 */
export interface FlagSpec {
  name: string;
  kind: 'string' | 'boolean' | 'list';
  default?: string | boolean | string[];
  help: string;
  /** false: no `ORCH_*` fallback (a flag that must never leak in through the environment). */
  env?: false;
}

export type Flags = Record<string, string | boolean | string[] | undefined>;

export class UsageError extends Error {}

export function envName(flag: string): string {
  return 'ORCH_' + flag.toUpperCase().replace(/-/g, '_');
}

export function parseFlags(argv: string[], specs: FlagSpec[], env: NodeJS.ProcessEnv = process.env): { flags: Flags; positional: string[] } {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const flags: Flags = {};
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) {
      positional.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const name = a.slice(2, eq === -1 ? undefined : eq);
    const spec = byName.get(name);
    if (!spec) throw new UsageError(`unknown flag --${name}`);
    if (spec.kind === 'boolean') {
      flags[name] = eq === -1 ? true : a.slice(eq + 1) !== 'false';
      continue;
    }
    const value = eq === -1 ? argv[++i] : a.slice(eq + 1);
    if (value === undefined) throw new UsageError(`--${name} needs a value`);
    if (spec.kind === 'list') flags[name] = [...((flags[name] as string[]) ?? []), value];
    else flags[name] = value;
  }
  for (const s of specs) {
    if (flags[s.name] !== undefined) continue;
    const e = s.env === false ? undefined : env[envName(s.name)];
    if (e !== undefined && e !== '') {
      flags[s.name] =
        s.kind === 'boolean' ? e === '1' || e.toLowerCase() === 'true' : s.kind === 'list' ? e.split(',').filter(Boolean) : e;
    } else if (s.default !== undefined) flags[s.name] = s.default;
  }
  return { flags, positional };
}

/**
 * The `--help` text of a command; `args` names its positional arguments (`FILE`).
 *
 * @example usage('dag check', 'Validate a DAG document offline.', flags, 'FILE') // "usage: orchestrator dag check FILE [flags]\n…"
 */
export function usage(command: string, summary: string, specs: FlagSpec[], args?: string): string {
  const lines = [`usage: orchestrator ${command}${args ? ` ${args}` : ''} [flags]`, '', summary, '', 'flags:'];
  for (const s of specs) {
    const arg = s.kind === 'boolean' ? '' : s.kind === 'list' ? ' VALUE (repeatable)' : ' VALUE';
    const def = s.default !== undefined && s.default !== false ? ` (default ${JSON.stringify(s.default)})` : '';
    const from = s.env === false ? ' [command line only]' : ` [${envName(s.name)}]`;
    lines.push(`  --${s.name}${arg}`.padEnd(38) + `${s.help}${def}${from}`);
  }
  return lines.join('\n');
}
