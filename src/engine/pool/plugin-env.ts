/**
 * Which variables `--plugin-env` may pass to plugin hosts. Its own file, without the sandbox's
 * probes (sandbox.ts, which loads `node:child_process`): the CLI checks its flags with it before
 * `listening`, when nothing needs a process yet (issue #20).
 */
import { refusedEnvReason } from '../../dags/exec-policy.js';

/** Why `--plugin-env NAME` is refused, or null (PATH and locale variables are fine; HOME/TMPDIR are set per host). */
export function pluginEnvRefusal(name: string): string | null {
  if (name === 'PATH') return null;
  return refusedEnvReason(name);
}
