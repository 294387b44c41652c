/**
 * The `exec` built-in: runs an allow-listed local program with `with.args` as argv (no shell)
 * in a fresh per-attempt work folder `<workDir>/<runId>/<stepId>/<attempt>`, removed afterwards.
 * stdout/stderr lines go to the step log; stdout is stored as an artifact.
 *
 * with: `program` (absolute path, or the bare name of exactly one allow-list entry),
 * `args` (string[]), `env` (extra environment variables; the server's own are not passed on).
 */
import { spawn } from 'node:child_process';
import { mkdir, rm, rmdir } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { StepError } from '../protocol.js';
import { ID_RE } from '../../core/ids.js';
import { invalidInput } from './basic.js';
import type { BuiltinContext } from './types.js';

const MAX_STDOUT = 64 * 1024 * 1024;
const MAX_LINE = 16 * 1024;
const KILL_AFTER_MS = 1000;
const ENV_KEY_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The absolute path to run for `program`, or null when it is not allowed. Matching is on the
 * normalised path, not the symlink target, so another name for an allowed binary (a busybox
 * applet, say) is not allowed by accident.
 *
 * @example resolveAllowedProgram('echo', ['/bin/echo']) // '/bin/echo'
 */
export function resolveAllowedProgram(program: string, allow: readonly string[]): string | null {
  const list = allow.filter((p) => isAbsolute(p)).map((p) => resolve(p));
  if (program.includes('/')) {
    if (!isAbsolute(program)) return null;
    const p = resolve(program);
    return list.includes(p) ? p : null;
  }
  const matches = [...new Set(list.filter((p) => basename(p) === program))];
  return matches.length === 1 ? matches[0]! : null;
}

function lineLogger(ctx: BuiltinContext, stream: 'stdout' | 'stderr') {
  const decoder = new StringDecoder('utf8');
  let rest = '';
  const emit = (line: string): void => {
    const l = line.endsWith('\r') ? line.slice(0, -1) : line;
    // stderr at warn: a program's complaints stand out in the log (docs/PLUGINS.md).
    ctx.log(l.length > MAX_LINE ? `${l.slice(0, MAX_LINE)}…` : l, stream === 'stderr' ? { stream, level: 'warn' } : { stream });
  };
  return {
    write(chunk: Buffer): void {
      rest += decoder.write(chunk);
      let i: number;
      while ((i = rest.indexOf('\n')) >= 0) {
        emit(rest.slice(0, i));
        rest = rest.slice(i + 1);
      }
      if (rest.length > MAX_LINE) {
        emit(rest);
        rest = '';
      }
    },
    end(): void {
      rest += decoder.end();
      if (rest) emit(rest);
      rest = '';
    },
  };
}

function checkInputs(inputs: Record<string, unknown>) {
  const { program, args = [], env = {} } = inputs;
  if (typeof program !== 'string' || program.length === 0) invalidInput('with.program must be a non-empty string');
  if (!Array.isArray(args) || !args.every((a) => typeof a === 'string' && !a.includes('\0'))) {
    invalidInput('with.args must be an array of strings');
  }
  if (env === null || typeof env !== 'object' || Array.isArray(env)) invalidInput('with.env must be an object');
  for (const [k, v] of Object.entries(env)) {
    if (!ENV_KEY_RE.test(k) || typeof v !== 'string' || v.includes('\0')) {
      invalidInput(`with.env.${k} must be a string variable`);
    }
  }
  return { program, args: args as string[], env: env as Record<string, string> };
}

async function removeWorkDir(dir: string, root: string): Promise<void> {
  await rm(dir, { recursive: true, force: true }).catch(() => undefined);
  // Drop the now-empty <stepId> and <runId> folders too (kept when other attempts use them).
  for (let d = dirname(dir); d !== root && d.startsWith(root); d = dirname(d)) {
    if (!(await rmdir(d).then(() => true, () => false))) break;
  }
}

export async function exec(ctx: BuiltinContext): Promise<Record<string, unknown>> {
  const { program, args, env } = checkInputs(ctx.inputs);
  const path = resolveAllowedProgram(program, ctx.host.execAllow);
  if (!path) {
    throw new StepError('EXEC_NOT_ALLOWED', `program ${JSON.stringify(program)} is not in the exec allow-list`, {
      retryable: false,
    });
  }
  if (!ID_RE.test(ctx.runId) || !ID_RE.test(ctx.stepId)) invalidInput('runId/stepId not usable as folder names');
  const root = resolve(ctx.host.workDir);
  const cwd = join(root, ctx.runId, ctx.stepId, String(ctx.attempt));
  await rm(cwd, { recursive: true, force: true });
  await mkdir(cwd, { recursive: true });
  try {
    const stdout = await runChild(ctx, path, args, cwd, env);
    const stdoutHash = await ctx.writeArtifact(stdout, 'text/plain');
    return { exitCode: 0, stdoutHash };
  } finally {
    await removeWorkDir(cwd, root);
  }
}

function runChild(
  ctx: BuiltinContext,
  path: string,
  args: string[],
  cwd: string,
  extraEnv: Record<string, string>,
): Promise<Buffer> {
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: cwd, TMPDIR: cwd, LANG: 'C.UTF-8', ...extraEnv };
  return new Promise<Buffer>((resolvePromise, reject) => {
    if (ctx.signal.aborted) {
      reject(ctx.signal.reason);
      return;
    }
    // detached: the child leads its own process group, so an abort kills its children too.
    const child = spawn(path, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], shell: false, detached: true });
    const chunks: Buffer[] = [];
    let size = 0;
    let failure: StepError | null = null;
    let killTimer: NodeJS.Timeout | undefined;
    const kill = (why: StepError | null): void => {
      failure ??= why;
      const signalGroup = (sig: NodeJS.Signals): void => {
        try {
          if (child.pid) process.kill(-child.pid, sig);
        } catch {
          /* already gone */
        }
      };
      signalGroup('SIGTERM');
      killTimer ??= setTimeout(() => signalGroup('SIGKILL'), KILL_AFTER_MS);
    };
    const onAbort = (): void => kill(null);
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    const out = lineLogger(ctx, 'stdout');
    const err = lineLogger(ctx, 'stderr');
    child.stdout.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_STDOUT) {
        kill(new StepError('EXEC_OUTPUT_TOO_LARGE', `stdout exceeded ${MAX_STDOUT} bytes`, { retryable: false }));
        return;
      }
      chunks.push(c);
      out.write(c);
    });
    child.stderr.on('data', (c: Buffer) => err.write(c));
    child.on('error', (e: NodeJS.ErrnoException) => {
      failure ??= new StepError('EXEC_FAILED', `cannot run ${basename(path)}: ${e.code ?? e.message}`, { retryable: false });
      if (child.pid === undefined) {
        // Never started: there will be no exit to wait for.
        ctx.signal.removeEventListener('abort', onAbort);
        reject(failure);
      }
    });
    child.on('close', (code, signal) => {
      clearTimeout(killTimer);
      ctx.signal.removeEventListener('abort', onAbort);
      out.end();
      err.end();
      if (ctx.signal.aborted) reject(ctx.signal.reason);
      else if (failure) reject(failure);
      else if (code === 0) resolvePromise(Buffer.concat(chunks));
      else {
        const what = code !== null ? String(code) : String(signal);
        ctx.log(`program exited with ${what}`, { level: 'error' });
        reject(new StepError(`EXIT_${what}`, `${basename(path)} exited with ${what}`, { retryable: true }));
      }
    });
  });
}
