/**
 * A small flag parser for the CLI: `--name value`, `--name=value`, boolean `--flag`,
 * repeatable flags, one-letter aliases (`-o FILE`), `--` (everything after it is positional),
 * allowed values, and `ORCH_*` environment fallbacks (`--data-dir` ⇐ `ORCH_DATA_DIR`; a flag
 * can name another variable, or say `env: false`: only the command line can set it).
 *
 * @example
 * const { flags, positional } = parseFlags(['get', '-o', 'x.bin'], [{ name: 'out', short: 'o', kind: 'string', help: 'file' }]);
 */
export interface FlagSpec {
  name: string;
  kind: 'string' | 'boolean' | 'list';
  default?: string | boolean | string[];
  help: string;
  /** One-letter alias: `-o` for `--out`. */
  short?: string;
  /** Environment fallback: a variable name, or false for none — command line only (default `ORCH_<NAME>`). */
  env?: string | false;
  /** The only values accepted. */
  values?: readonly string[];
  /** Placeholder of the value in help (default `VALUE`). */
  arg?: string;
}

export type Flags = Record<string, string | boolean | string[] | undefined>;

export class UsageError extends Error {}

/**
 * A required tenant is missing or malformed: exit 2 ("auth or tenant missing"), like a refused
 * token, not 1.
 *
 * @example if (!f.tenant) throw new TenantRequiredError('--tenant is required');
 */
export class TenantRequiredError extends UsageError {}

export function envName(flag: string): string {
  return 'ORCH_' + flag.toUpperCase().replace(/-/g, '_');
}

function envOf(s: FlagSpec): string | undefined {
  return s.env === false ? undefined : (s.env ?? envName(s.name));
}

function checkValue(spec: FlagSpec, value: string): void {
  if (spec.values && !spec.values.includes(value)) throw new UsageError(`--${spec.name} must be one of ${spec.values.join(', ')}`);
}

export function parseFlags(argv: string[], specs: FlagSpec[], env: NodeJS.ProcessEnv = process.env): { flags: Flags; positional: string[] } {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const byShort = new Map(specs.filter((s) => s.short).map((s) => [s.short!, s]));
  const flags: Flags = {};
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      positional.push(...argv.slice(i + 1));
      break;
    }
    let spec: FlagSpec | undefined;
    let inline: string | undefined;
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = a.slice(2, eq === -1 ? undefined : eq);
      spec = byName.get(name);
      if (!spec) throw new UsageError(`unknown flag --${name}`);
      if (eq !== -1) inline = a.slice(eq + 1);
    } else if (/^-[a-zA-Z]$/.test(a)) {
      spec = byShort.get(a.slice(1));
      if (!spec) throw new UsageError(`unknown flag ${a}`);
    } else {
      positional.push(a);
      continue;
    }
    const name = spec.name;
    if (spec.kind === 'boolean') {
      flags[name] = inline === undefined ? true : inline !== 'false';
      continue;
    }
    const value = inline ?? argv[++i];
    if (value === undefined) throw new UsageError(`--${name} needs a value`);
    checkValue(spec, value);
    if (spec.kind === 'list') flags[name] = [...((flags[name] as string[]) ?? []), value];
    else flags[name] = value;
  }
  for (const s of specs) {
    if (flags[s.name] !== undefined) continue;
    const variable = envOf(s);
    const e = variable === undefined ? undefined : env[variable];
    if (e !== undefined && e !== '') {
      if (s.kind === 'string') checkValue(s, e);
      flags[s.name] =
        s.kind === 'boolean' ? e === '1' || e.toLowerCase() === 'true' : s.kind === 'list' ? e.split(',').filter(Boolean) : e;
    } else if (s.default !== undefined) flags[s.name] = s.default;
  }
  return { flags, positional };
}

/** Extra parts of a command's help: its positional arguments and examples. */
export interface UsageExtras {
  args?: string;
  examples?: readonly string[];
}

export function usage(command: string, summary: string, specs: FlagSpec[], extras: UsageExtras = {}): string {
  const lines = [`usage: orchestrator ${command}${extras.args ? ' ' + extras.args : ''} [flags]`, '', summary, '', 'flags:'];
  for (const s of specs) {
    const placeholder = s.arg ?? (s.values ? s.values.join('|') : 'VALUE');
    const arg = s.kind === 'boolean' ? '' : s.kind === 'list' ? ` ${placeholder} (repeatable)` : ` ${placeholder}`;
    const def = s.default !== undefined && s.default !== false ? ` (default ${JSON.stringify(s.default)})` : '';
    const names = s.short ? `-${s.short}, --${s.name}` : `--${s.name}`;
    const variable = envOf(s);
    lines.push(`  ${names}${arg}`.padEnd(38) + `${s.help}${def}${variable ? ` [${variable}]` : ' [command line only]'}`);
  }
  if (extras.examples?.length) {
    lines.push('', 'examples:');
    for (const e of extras.examples) lines.push(`  ${e}`);
  }
  return lines.join('\n');
}
