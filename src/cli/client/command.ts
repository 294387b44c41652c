/**
 * What every client command shares, written once: the global flags (`--server`, `--token`,
 * `--token-file`, `--tenant`, `--output`), resolving them (flags beat the environment), the
 * output format, Ctrl-C, and turning failures into the exit codes of docs/CLI.md with the
 * envelope's code, message and trace id on stderr.
 *
 * A resource is one file that exports its commands built with {@link clientCommand}.
 *
 * @example
 * export const runsGet = clientCommand({
 *   name: 'runs get', summary: 'Show a run', args: 'RUN', examples: ['orchestrator runs get $RUN'], flags: [],
 *   async run({ api, out }, [runId]) { out.json((await api.json('GET', `/runs/${runId}`)).body); return EXIT.OK; },
 * });
 */
import { readFileSync } from 'node:fs';
import { UsageError, type FlagSpec, type Flags } from '../args.js';
import { EXIT, type Command } from '../commands.js';
import { ApiClient, ConnectError, HttpError } from './http.js';
import { FORMATS, Output, resolveFormat, type Format } from './output.js';

export const DEFAULT_SERVER = 'http://127.0.0.1:8080';

export const GLOBAL_FLAGS: FlagSpec[] = [
  { name: 'server', kind: 'string', default: DEFAULT_SERVER, arg: 'URL', help: 'server to talk to' },
  { name: 'token', kind: 'string', env: false, arg: 'JWT', help: 'bearer token [ORCH_TOKEN]' },
  { name: 'token-file', kind: 'string', env: false, arg: 'FILE', help: 'file holding the bearer token, re-read on every request [ORCH_TOKEN_FILE]' },
  { name: 'tenant', kind: 'string', arg: 'TENANT', help: "tenant to act on (default: the token's only tenant)" },
  { name: 'output', kind: 'string', values: FORMATS, help: 'output format (default: table on a terminal, JSON when piped)' },
];

/** `--dag-id DAG`, the filter of the commands that show one DAG's `what` (versions, runs, events, schedules). */
export const dagIdFilter = (what: string): FlagSpec => ({ name: 'dag-id', kind: 'string', env: false, arg: 'DAG', help: `only ${what} of this DAG` });

/** Exit codes of failures: auth or tenant problems are 2, everything else 1. */
/** The codes of a refused caller (401/403): the CLI exits with EXIT.AUTH. */
export const AUTH_CODES = new Set(['UNAUTHENTICATED', 'TENANT_REQUIRED', 'TENANT_FORBIDDEN', 'INSUFFICIENT_SCOPE']);

/** A missing token or tenant, found before any request (exit 2). */
export class AuthMissingError extends Error {}

export interface ClientContext {
  api: ApiClient;
  out: Output;
  flags: Flags;
  signal: AbortSignal;
}

export interface ClientCommandSpec {
  name: string;
  summary: string;
  args?: string;
  examples: readonly string[];
  flags: FlagSpec[];
  /** Format when stdout is not a terminal and `--output` is not given (default `json`). */
  pipedFormat?: Format | ((flags: Flags) => Format);
  run(ctx: ClientContext, positional: string[]): Promise<number>;
}

/** The `stellaops:tenant` claim of a JWT, read without verifying it (the server verifies). */
function tokenTenants(token: string): string[] {
  try {
    const claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
    const t = claims['stellaops:tenant'];
    return typeof t === 'string' ? [t] : Array.isArray(t) ? t.filter((x): x is string => typeof x === 'string') : [];
  } catch {
    return [];
  }
}

function readToken(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new AuthMissingError(`cannot read the token file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const token = text.trim();
  if (!token) throw new AuthMissingError(`the token file ${file} is empty`);
  return token;
}

/**
 * The token source, by precedence: `--token`, `--token-file`, `ORCH_TOKEN`, `ORCH_TOKEN_FILE`.
 * A file is re-read on every call, so a rotated token is picked up by long follows.
 */
export function tokenSource(flags: Flags, env: NodeJS.ProcessEnv = process.env): () => string {
  if (typeof flags.token === 'string' && flags.token) return () => flags.token as string;
  if (typeof flags['token-file'] === 'string') return () => readToken(flags['token-file'] as string);
  if (env.ORCH_TOKEN) return () => env.ORCH_TOKEN!.trim();
  if (env.ORCH_TOKEN_FILE) return () => readToken(env.ORCH_TOKEN_FILE!);
  throw new AuthMissingError('no token: pass --token or --token-file, or set ORCH_TOKEN');
}

export function clientFor(flags: Flags, signal?: AbortSignal): ApiClient {
  const token = tokenSource(flags);
  let tenant = flags.tenant as string | undefined;
  if (!tenant) {
    const claimed = tokenTenants(token());
    if (claimed.length !== 1 || claimed[0] === '*') {
      throw new AuthMissingError(`no tenant: pass --tenant or set ORCH_TENANT (the token names ${claimed.length ? claimed.join(', ') : 'no tenant'})`);
    }
    tenant = claimed[0]!;
  }
  return new ApiClient({ server: String(flags.server), token, tenant, signal });
}

/** Prints a failure the way every client command does; returns its exit code. */
export function reportFailure(name: string, e: unknown, out: Output): number {
  const prefix = out.paint('red', `orchestrator ${name}:`, true);
  if (e instanceof HttpError) {
    out.stderr.write(`${prefix} ${e.code}: ${e.message}${e.traceId ? ` (trace_id ${e.traceId})` : ''}\n`);
    if (e.details !== undefined) out.stderr.write(`  details: ${JSON.stringify(e.details)}\n`);
    return e.status === 401 || AUTH_CODES.has(e.code) ? EXIT.AUTH : EXIT.FAILED;
  }
  if (e instanceof AuthMissingError) {
    out.stderr.write(`${prefix} ${e.message}\n`);
    return EXIT.AUTH;
  }
  if (e instanceof ConnectError) {
    out.stderr.write(`${prefix} ${e.message}\n`);
    return EXIT.FAILED;
  }
  throw e;
}

/** Builds a command from a spec: global flags added, context made, failures reported. */
export function clientCommand(spec: ClientCommandSpec): Command {
  return {
    name: spec.name,
    summary: spec.summary,
    args: spec.args,
    examples: spec.examples,
    flags: [...spec.flags, ...GLOBAL_FLAGS],
    async run(flags, positional) {
      const piped = typeof spec.pipedFormat === 'function' ? spec.pipedFormat(flags) : (spec.pipedFormat ?? 'json');
      const out = new Output(resolveFormat(flags.output as string | undefined, piped));
      const ac = new AbortController();
      const onSigint = () => (ac.signal.aborted ? process.exit(130) : ac.abort());
      process.on('SIGINT', onSigint);
      // `orchestrator runs list --all | head`: the reader left; stop quietly, as a pipeline expects
      // (left installed: a write can fail after the command returned).
      const onPipeClosed = (e: NodeJS.ErrnoException) => (e.code === 'EPIPE' ? process.exit(0) : undefined);
      out.stdout.on('error', onPipeClosed);
      try {
        const api = clientFor(flags, ac.signal);
        return await spec.run({ api, out, flags, signal: ac.signal }, positional);
      } catch (e) {
        if (ac.signal.aborted) return 130;
        if (e instanceof UsageError) throw e;
        return reportFailure(spec.name, e, out);
      } finally {
        process.off('SIGINT', onSigint);
      }
    },
  };
}

/** The positional arguments, checked against their count; a usage error shows `usageLine`. */
export function args(positional: string[], min: number, max: number, usageLine: string): string[] {
  if (positional.length < min || positional.length > max || positional.some((p) => p === '')) {
    throw new UsageError(`usage: orchestrator ${usageLine}`);
  }
  return positional;
}

/** A JSON file given on the command line (`-` reads stdin); unreadable or not JSON is a usage error naming `what`. */
export function readJsonArg(file: string, what: string): unknown {
  try {
    return JSON.parse(readFileSync(file === '-' ? 0 : file, 'utf8'));
  } catch (e) {
    throw new UsageError(`${what}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/** A positive integer flag, or undefined when absent. */
export function intFlag(flags: Flags, name: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  const v = flags[name];
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new UsageError(`--${name} must be an integer ${max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`}`);
  }
  return n;
}

/** The body of `:cancel` and `:disable`: `{reason}` when `--reason` was given. */
export function reasonBody(flags: Flags): { reason?: string } {
  return typeof flags.reason === 'string' ? { reason: flags.reason } : {};
}
