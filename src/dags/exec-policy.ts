/**
 * The `exec` built-in's rules, pure and shared by the DAG checks at publish (`exec-env.ts`,
 * `with-check.ts`), the server's flags (`cli/config.ts`) and the built-in at run time
 * (`engine/builtins/exec.ts`): which environment variables a step may never set, and which
 * program an allow-list lets it run.
 *
 * Environment variables an `exec` step may never set, whatever the operator allows: the ones
 * that make a dynamic loader, a shell or an interpreter run code or read configuration named by
 * the variable (CONTRACT §16). `LD_PRELOAD` pointing at a stored artifact turned an allowed
 * `/bin/echo` into arbitrary code; `BASH_ENV`, `NODE_OPTIONS=--require …`, `PYTHONSTARTUP`,
 * `PERL5OPT=-M…`, `GCONV_PATH` and the rest below do the same for other programs.
 *
 * The list is deliberately broad: a name is refused when it is listed exactly or starts with a
 * listed prefix. It is checked at publish (a literal `with.env` key: 422 `DAG_INVALID`), at
 * start-up (`--exec-env-allow` and `--plugin-env` refuse these names) and at run time (a
 * resolved `with.env`: the step fails `EXEC_ENV_REFUSED`).
 *
 * @example
 * refusedEnvReason('LD_PRELOAD');  // 'dynamic loader variable'
 * refusedEnvReason('GREETING');    // null
 */
import { basename, isAbsolute, resolve } from 'node:path';

/** Prefixes: every variable that starts with one is refused. */
const REFUSED_PREFIXES: ReadonlyArray<readonly [string, string]> = [
  ['LD_', 'dynamic loader variable'],
  ['DYLD_', 'dynamic loader variable'],
  ['GLIBC_', 'C library tunable'],
  ['MALLOC_', 'C library allocator variable'],
  ['GCONV_', 'C library module path'],
  ['NODE_', 'Node.js variable'],
  ['NPM_CONFIG_', 'npm configuration'],
  ['PYTHON', 'Python interpreter variable'],
  ['PERL', 'Perl interpreter variable'],
  ['RUBY', 'Ruby interpreter variable'],
  ['GEM_', 'Ruby gem path'],
  ['BUNDLE_', 'Ruby bundler configuration'],
  ['LUA_', 'Lua interpreter variable'],
  ['JAVA_', 'Java launcher variable'],
  ['_JAVA_', 'Java launcher variable'],
  ['JDK_JAVA_', 'Java launcher variable'],
  ['DOTNET_', '.NET runtime variable'],
  ['COMPLUS_', '.NET runtime variable'],
  ['CORECLR_', '.NET runtime variable'],
  ['ERL_', 'Erlang runtime variable'],
  ['ELIXIR_', 'Elixir runtime variable'],
  ['JULIA_', 'Julia runtime variable'],
  ['GIT_', 'git variable (may name programs to run)'],
  ['BASH_FUNC_', 'exported shell function'],
  ['OPENSSL_', 'OpenSSL configuration (may load engines)'],
];

/** Exact names. */
const REFUSED_NAMES: ReadonlyMap<string, string> = new Map([
  ['ENV', 'shell start-up file'],
  ['BASH_ENV', 'shell start-up file'],
  ['SHELLOPTS', 'shell options'],
  ['BASHOPTS', 'shell options'],
  ['PS4', 'shell prompt (expanded with command substitution)'],
  ['PROMPT_COMMAND', 'shell command'],
  ['IFS', 'shell word splitting'],
  ['CDPATH', 'shell search path'],
  ['GLOBIGNORE', 'shell globbing'],
  ['PATH', 'program search path (set by the engine)'],
  ['HOME', 'home folder (set by the engine)'],
  ['TMPDIR', 'temporary folder (set by the engine)'],
  ['EDITOR', 'names a program to run'],
  ['VISUAL', 'names a program to run'],
  ['PAGER', 'names a program to run'],
  ['MANPAGER', 'names a program to run'],
  ['BROWSER', 'names a program to run'],
  ['SSH_ASKPASS', 'names a program to run'],
  ['SUDO_ASKPASS', 'names a program to run'],
  ['LESSOPEN', 'names a program to run'],
  ['LESSCLOSE', 'names a program to run'],
  ['SSLKEYLOGFILE', 'writes secrets to a file'],
  ['CLASSPATH', 'Java class path'],
  ['RUBYLIB', 'Ruby library path'],
  ['GETCONF_DIR', 'C library module path'],
  ['HOSTALIASES', 'resolver configuration'],
  ['LOCALDOMAIN', 'resolver configuration'],
  ['RES_OPTIONS', 'resolver configuration'],
  ['RESOLV_HOST_CONF', 'resolver configuration'],
  ['LOCPATH', 'C library locale path'],
  ['NLSPATH', 'C library message catalog path'],
  ['NIS_PATH', 'C library NIS path'],
  ['TZDIR', 'C library time zone path'],
  ['TERMINFO', 'terminal database path'],
  ['TERMINFO_DIRS', 'terminal database path'],
  ['PHPRC', 'PHP interpreter variable'],
  ['PHP_INI_SCAN_DIR', 'PHP interpreter variable'],
  ['TCLLIBPATH', 'Tcl interpreter variable'],
  ['TCL_LIBRARY', 'Tcl interpreter variable'],
  ['R_PROFILE', 'R interpreter variable'],
  ['R_PROFILE_USER', 'R interpreter variable'],
  ['R_ENVIRON', 'R interpreter variable'],
  ['R_ENVIRON_USER', 'R interpreter variable'],
  ['R_LIBS', 'R interpreter variable'],
  ['R_LIBS_USER', 'R interpreter variable'],
  ['R_LIBS_SITE', 'R interpreter variable'],
]);

/** Why a variable name is always refused, or null when it is not on the list. Case-insensitive. */
export function refusedEnvReason(name: string): string | null {
  const upper = name.toUpperCase();
  const exact = REFUSED_NAMES.get(upper);
  if (exact) return exact;
  for (const [prefix, why] of REFUSED_PREFIXES) if (upper.startsWith(prefix)) return why;
  return null;
}

/** A portable environment variable name (what `with.env`, `--exec-env-allow` and `--plugin-env` take). */
export const ENV_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

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
