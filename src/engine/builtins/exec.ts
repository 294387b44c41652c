/**
 * The `exec` built-in: runs an allow-listed local program with `with.args` as argv (no shell)
 * in a fresh per-attempt work folder `<host work folder>/<runId>/<stepId>/<attempt>`, removed
 * afterwards. stdout/stderr lines go to the step log (stdout's first 256 K characters: all of it is in its
 * artifact); stdout is streamed into the artifact store (bounded memory whatever its size).
 *
 * with: `program` (absolute path, or the bare name of exactly one allow-list entry),
 * `args` (string[]), `env` (extra variables: only names the operator allows with
 * `--exec-env-allow`; loader and interpreter variables never — `EXEC_ENV_REFUSED`).
 *
 * Containment: where the host can, the program runs as PID 1 of its own PID namespace (with
 * its own /proc), so everything it starts — backgrounded, `setsid`, double-forked — dies with
 * it; elsewhere it leads its own process group. Either way, after every step (success
 * included) whatever is left is killed with SIGKILL; an abort sends SIGTERM first and SIGKILL
 * one second later whatever the direct child did.
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { access, mkdir, rm, rmdir } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { StepError } from '../pool/protocol.js';
import { ID_RE } from '../../core/ids.js';
import { invalidInput } from './basic.js';
import { ENV_NAME_RE, refusedEnvReason, resolveAllowedProgram } from '../../dags/exec-policy.js';
import type { BuiltinContext } from './types.js';

const MAX_STDOUT = 256 * 1024 * 1024;
const MAX_LINE = 16 * 1024;
/** stdout is logged up to this many characters; all of it is in the stdout artifact anyway. */
const MAX_STDOUT_LOG = 256 * 1024;
const KILL_AFTER_MS = 1000;
/** After the program exits, how long its stdout/stderr may stay open (held by an escaped process). */
const DRAIN_MS = 1000;
const SAFE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

function lineLogger(ctx: BuiltinContext, stream: 'stdout' | 'stderr', budget = Infinity) {
  const decoder = new StringDecoder('utf8');
  let rest = '';
  let left = budget;
  const emit = (line: string): void => {
    if (left <= 0) return;
    const l = line.endsWith('\r') ? line.slice(0, -1) : line;
    // stderr at warn: a program's complaints stand out in the log (docs/PLUGINS.md).
    const fields = stream === 'stderr' ? { stream, level: 'warn' } : { stream };
    ctx.log(l.length > MAX_LINE ? `${l.slice(0, MAX_LINE)}…` : l, fields);
    left -= l.length;
    if (left <= 0) ctx.log(`${stream} continues in its artifact; not logged past ${budget} characters`, fields);
  };
  return {
    write(chunk: Buffer): void {
      if (left <= 0) return;
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

function refused(message: string): never {
  throw new StepError('EXEC_ENV_REFUSED', message, { retryable: false });
}

function checkInputs(inputs: Record<string, unknown>) {
  const { program, args = [], env = {} } = inputs;
  if (typeof program !== 'string' || program.length === 0) invalidInput('with.program must be a non-empty string');
  if (!Array.isArray(args) || !args.every((a) => typeof a === 'string' && !a.includes('\0'))) {
    invalidInput('with.args must be an array of strings');
  }
  if (env === null || typeof env !== 'object' || Array.isArray(env)) invalidInput('with.env must be an object');
  for (const [k, v] of Object.entries(env)) {
    if (!ENV_NAME_RE.test(k) || typeof v !== 'string' || v.includes('\0')) {
      invalidInput(`with.env.${k} must be a string variable`);
    }
  }
  return { program, args: args as string[], env: env as Record<string, string> };
}

/** The child's environment: a fixed base plus the allowed `with.env` names; anything else fails the step. */
export function execEnvironment(extra: Record<string, string>, allow: readonly string[], cwd: string): Record<string, string> {
  for (const name of Object.keys(extra)) {
    const why = refusedEnvReason(name);
    if (why) refused(`with.env.${name} is refused (${why}); loader and interpreter variables are never passed to programs`);
    if (!allow.includes(name)) refused(`with.env.${name} is not allowed by the operator (--exec-env-allow)`);
  }
  return { PATH: SAFE_PATH, HOME: cwd, TMPDIR: cwd, LANG: 'C.UTF-8', ...extra };
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
  const childEnv = execEnvironment(env, ctx.host.execEnvAllow, cwd);
  try {
    await access(path, constants.X_OK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'EACCES';
    throw new StepError('EXEC_FAILED', `cannot run ${basename(path)}: ${code}`, { retryable: false });
  }
  await rm(cwd, { recursive: true, force: true });
  await mkdir(cwd, { recursive: true });
  try {
    const stdoutHash = await runChild(ctx, path, args, cwd, childEnv);
    return { exitCode: 0, stdoutHash };
  } finally {
    await removeWorkDir(cwd, root);
  }
}

function signalGroup(pid: number | undefined, sig: NodeJS.Signals): void {
  try {
    if (pid) process.kill(-pid, sig);
  } catch {
    /* the group is gone */
  }
}

function runChild(ctx: BuiltinContext, path: string, args: string[], cwd: string, env: Record<string, string>): Promise<string> {
  return new Promise<string>((resolvePromise, reject) => {
    if (ctx.signal.aborted) {
      reject(ctx.signal.reason);
      return;
    }
    const wrapper = ctx.host.execWrapper;
    const [file, argv] = wrapper ? [wrapper[0]!, [...wrapper.slice(1), path, ...args]] : [path, args];
    // detached: the child leads its own process group (its id is the child's pid).
    const child = spawn(file, argv, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], shell: false, detached: true });
    const stdout = ctx.openArtifact();
    let size = 0;
    let failure: StepError | null = null;
    let killTimer: NodeJS.Timeout | undefined;
    let drainTimer: NodeJS.Timeout | undefined;
    const stop = (why: StepError | null): void => {
      failure ??= why;
      signalGroup(child.pid, 'SIGTERM');
      // Not cleared when the direct child exits: its children may ignore SIGTERM.
      killTimer ??= setTimeout(() => signalGroup(child.pid, 'SIGKILL'), KILL_AFTER_MS);
    };
    const onAbort = (): void => stop(null);
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    const out = lineLogger(ctx, 'stdout', MAX_STDOUT_LOG);
    const err = lineLogger(ctx, 'stderr');
    child.stdout.on('data', (c: Buffer) => {
      if (failure) return;
      size += c.length;
      if (size > MAX_STDOUT) {
        stop(new StepError('EXEC_OUTPUT_TOO_LARGE', `stdout exceeded ${MAX_STDOUT} bytes`, { retryable: false }));
        return;
      }
      out.write(c);
      // Back-pressure: the program blocks on a full pipe while the store catches up.
      child.stdout.pause();
      stdout.write(c).then(
        () => child.stdout.resume(),
        (e: unknown) => {
          child.stdout.resume();
          stop(e instanceof StepError ? e : new StepError('ARTIFACT_IO_FAILED', 'storing stdout failed', { retryable: true }));
        },
      );
    });
    child.stderr.on('data', (c: Buffer) => err.write(c));
    child.on('error', (e: NodeJS.ErrnoException) => {
      failure ??= new StepError('EXEC_FAILED', `cannot run ${basename(path)}: ${e.code ?? e.message}`, { retryable: false });
      if (child.pid === undefined) {
        // Never started: there will be no exit to wait for.
        ctx.signal.removeEventListener('abort', onAbort);
        stdout.abort();
        reject(failure);
      }
    });
    child.on('exit', () => {
      // Success included: nothing the program started outlives the step.
      signalGroup(child.pid, 'SIGKILL');
      // A process that escaped the group may hold the pipes open: stop waiting for them.
      drainTimer = setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
      }, DRAIN_MS);
    });
    child.on('close', (code, signal) => {
      clearTimeout(killTimer);
      clearTimeout(drainTimer);
      ctx.signal.removeEventListener('abort', onAbort);
      out.end();
      err.end();
      const fail = (e: unknown): void => {
        stdout.abort();
        reject(e);
      };
      if (ctx.signal.aborted) fail(ctx.signal.reason);
      else if (failure) fail(failure);
      else if (code === 0) stdout.end('text/plain').then(resolvePromise, fail);
      else {
        const what = code !== null ? String(code) : String(signal);
        ctx.log(`program exited with ${what}`, { level: 'error' });
        fail(new StepError(`EXIT_${what}`, `${basename(path)} exited with ${what}`, { retryable: true }));
      }
    });
  });
}
