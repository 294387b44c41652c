/**
 * How a plugin host is started (docs/SECURITY.md): the command line, environment and user of
 * each host process, from what this machine offers. Probed once per pool (`detectSandbox`):
 * - `namespaces` (server runs as root, `unshare` + `setpriv` work): the host is PID 1 of its
 *   own PID namespace (`unshare --pid --fork --kill-child`: killing the wrapper kills every
 *   process in it), without network unless allowed (`--net`: a namespace with only a down
 *   loopback), as the plugin user with no supplementary groups and `no_new_privs`;
 * - `userns` (not root, unprivileged user namespaces allowed): the same namespaces inside a
 *   user namespace mapping the server's own user (no user switch is possible);
 * - `none`: a plain child process in its own process group (root: user switched by spawn).
 * Always: an empty environment except `NODE_OPTIONS` (the permission model: reads only the
 * listed paths, writes only the host's work folder, `--allow-worker`, child processes only
 * for hosts that run programs), `HOME`/`TMPDIR` (the work folder) and the operator's
 * `--plugin-env` names.
 *
 * @example
 * const sb = detectSandbox({ user: resolveUser('nobody'), env: {} });
 * const { file, args, env } = sb.hostCommand(runtime, { readPaths, workDir, childProcess: false, network: false });
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, readFileSync, statSync, type Stats } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { HostRuntime } from '../../core/runtime.js';
import { PLUGIN_HOST_ARG } from './host-protocol.js';

export type Isolation = 'namespaces' | 'userns' | 'none';

/** An OS user to run hosts as. */
export interface PluginUser {
  name: string;
  uid: number;
  gid: number;
}

export interface HostLaunch {
  /** Paths the host may read (its code, its plugins, its work folder, exec programs). */
  readPaths: string[];
  /** The host's work folder: the only place it may write; also its HOME and TMPDIR. */
  workDir: string;
  childProcess: boolean;
  network: boolean;
}

export interface Sandbox {
  readonly isolation: Isolation;
  /** The user hosts run as, or null (the server's own). */
  readonly user: PluginUser | null;
  /** What `network: false` means here ('namespace', or 'not enforced'). */
  readonly networkIsolation: boolean;
  hostCommand(rt: HostRuntime, h: HostLaunch): { file: string; args: string[]; env: Record<string, string>; uid?: number; gid?: number };
  /** For hosts that run programs: the PID-namespace wrapper to probe (null: process groups only). */
  execProbe(): { wrapper: string[]; trueProgram: string } | undefined;
}

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** An executable named `name` on PATH (plus the usual system folders), or undefined. */
export function findProgram(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), ...DEFAULT_PATH.split(':')].filter((d) => d.startsWith('/'));
  for (const d of new Set(dirs)) {
    const p = join(d, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  return undefined;
}

/**
 * `--plugin-user`: a user name from /etc/passwd, or `UID[:GID]`. Throws with a clear message.
 *
 * @example resolveUser('nobody') // { name: 'nobody', uid: 65534, gid: 65534 }
 */
export function resolveUser(spec: string): PluginUser {
  const numeric = /^(\d+)(?::(\d+))?$/.exec(spec);
  if (numeric) {
    const uid = Number(numeric[1]);
    return { name: spec, uid, gid: numeric[2] !== undefined ? Number(numeric[2]) : uid };
  }
  let passwd = '';
  try {
    passwd = readFileSync('/etc/passwd', 'utf8');
  } catch {
    /* no passwd file: only numeric ids work */
  }
  for (const line of passwd.split('\n')) {
    const [name, , uid, gid] = line.split(':');
    if (name === spec && uid !== undefined && gid !== undefined) return { name, uid: Number(uid), gid: Number(gid) };
  }
  throw new Error(`plugin user "${spec}" not found (give a name from /etc/passwd or UID[:GID])`);
}

function quote(p: string): string {
  if (/["\\\n\r]/.test(p)) throw new Error(`path cannot be passed to a plugin host (quote, backslash or newline): ${JSON.stringify(p)}`);
  return `"${p}"`;
}

/** NODE_OPTIONS of a host: Node's permission model with exactly these grants. */
export function permissionOptions(h: HostLaunch): string {
  const flags = ['--experimental-permission', '--allow-worker', '--disable-warning=ExperimentalWarning', '--disable-warning=SecurityWarning'];
  for (const p of new Set([...h.readPaths, h.workDir])) flags.push(`--allow-fs-read=${quote(p)}`);
  flags.push(`--allow-fs-write=${quote(h.workDir)}`);
  if (h.childProcess) flags.push('--allow-child-process');
  return flags.join(' ');
}

function runs(file: string, args: string[]): boolean {
  try {
    return spawnSync(file, args, { stdio: 'ignore', timeout: 10_000, env: {} }).status === 0;
  } catch {
    return false;
  }
}

/**
 * Finds out what this machine allows (a few `spawnSync` probes, once per pool) and returns how
 * hosts will be started. `user` is used only when the server runs as root.
 */
export function detectSandbox(o: { user: PluginUser | null; env: Record<string, string> }): Sandbox {
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  const user = root ? o.user : null;
  const unshare = findProgram('unshare');
  const setpriv = findProgram('setpriv');
  const trueProgram = findProgram('true');
  const drop = (): string[] =>
    setpriv && user ? [setpriv, `--reuid=${user.uid}`, `--regid=${user.gid}`, '--clear-groups', '--no-new-privs', '--'] : setpriv ? [setpriv, '--no-new-privs', '--'] : [];
  let isolation: Isolation = 'none';
  let nsPrefix: string[] = [];
  if (unshare && trueProgram) {
    const nsRoot = ['--pid', '--fork', '--kill-child'];
    const nsUser = ['--user', '--map-current-user', '--pid', '--fork', '--kill-child'];
    if (root && runs(unshare, [...nsRoot, '--net', '--', ...drop(), trueProgram])) {
      isolation = 'namespaces';
      nsPrefix = nsRoot;
    } else if (!root && runs(unshare, [...nsUser, '--net', '--', ...drop(), trueProgram])) {
      isolation = 'userns';
      nsPrefix = nsUser;
    }
  }
  const execWrapper = unshare && trueProgram ? [unshare, '--user', '--pid', '--fork', '--kill-child', '--mount-proc', '--'] : null;
  return {
    isolation,
    user,
    networkIsolation: isolation !== 'none',
    hostCommand(rt, h) {
      const env: Record<string, string> = { ...o.env, HOME: h.workDir, TMPDIR: h.workDir, NODE_OPTIONS: permissionOptions(h) };
      const program = [rt.command, ...rt.args, PLUGIN_HOST_ARG];
      if (isolation === 'none') {
        const [file, ...args] = [...drop(), ...program];
        const switchBySpawn = user && !setpriv ? { uid: user.uid, gid: user.gid } : {};
        return { file: file!, args, env, ...switchBySpawn };
      }
      const args = [...nsPrefix, ...(h.network ? [] : ['--net']), '--', ...drop(), ...program];
      return { file: unshare!, args, env };
    },
    execProbe() {
      return execWrapper && trueProgram ? { wrapper: execWrapper, trueProgram } : undefined;
    },
  };
}

/**
 * Why `user` cannot reach `path` (every folder on the way needs x for it, the path itself
 * `need`), or null when it can. Only meaningful when hosts switch user.
 */
export function unreachableReason(path: string, user: PluginUser, need: 'r' | 'x' | 'rx'): string | null {
  const parts = path.split('/').filter(Boolean);
  for (let i = 0; i <= parts.length; i++) {
    const p = `/${parts.slice(0, i).join('/')}`;
    const last = i === parts.length;
    let st: Stats;
    try {
      st = statSync(p);
    } catch {
      return `${p} does not exist`;
    }
    const shift = st.uid === user.uid ? 6 : st.gid === user.gid ? 3 : 0;
    const bits = (st.mode >> shift) & 7;
    const want = last ? (need.includes('r') ? 4 : 0) | (need.includes('x') || st.isDirectory() ? 1 : 0) : 1;
    if ((bits & want) !== want) {
      return `${p} (mode ${(st.mode & 0o7777).toString(8).padStart(4, '0')}, owner ${st.uid}:${st.gid}) is not ${last ? 'readable' : 'traversable'} by user ${user.name}`;
    }
  }
  return null;
}
