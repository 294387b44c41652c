/**
 * Publish-time check of `exec` steps (CONTRACT §16): a `with.env` key that is written in the
 * DAG itself and names a loader or interpreter variable (`LD_PRELOAD`, `BASH_ENV`,
 * `NODE_OPTIONS`, …; the list is the engine's `refusedEnvReason`) makes the DAG invalid. Keys
 * that only exist at run time (`env: "${{ inputs.env }}"`) are checked by the exec built-in,
 * which fails the step with `EXEC_ENV_REFUSED`. Which names the operator allows
 * (`--exec-env-allow`) is a run-time matter: a DAG stays publishable when the server's
 * configuration changes.
 *
 * @example
 * execEnvProblems({ steps: [{ id: 'x', plugin: 'exec', with: { env: { LD_PRELOAD: '/x.so' } } }] } as DagDocument)
 * // [{ code: 'EXEC_ENV_REFUSED', stepId: 'x', variable: 'LD_PRELOAD', … }]
 */
import { refusedEnvReason } from './exec-policy.js';
import type { DagDocument } from './model.js';

export interface ExecEnvProblem {
  code: 'EXEC_ENV_REFUSED';
  message: string;
  stepId: string;
  variable: string;
  [extra: string]: unknown;
}

/** Whether a step's plugin reference names the `exec` built-in (`exec` or `exec@<version>`). */
function isExec(plugin: string): boolean {
  return plugin === 'exec' || plugin.startsWith('exec@');
}

export function execEnvProblems(doc: DagDocument): ExecEnvProblem[] {
  const problems: ExecEnvProblem[] = [];
  for (const step of doc.steps) {
    const env = isExec(step.plugin) ? (step.with as Record<string, unknown> | undefined)?.env : undefined;
    if (env === null || typeof env !== 'object' || Array.isArray(env)) continue;
    for (const variable of Object.keys(env)) {
      const why = refusedEnvReason(variable);
      if (why) {
        const message = `step "${step.id}": with.env.${variable} is refused (${why}); loader and interpreter variables are never passed to programs`;
        problems.push({ code: 'EXEC_ENV_REFUSED', message, stepId: step.id, variable });
      }
    }
  }
  return problems;
}
