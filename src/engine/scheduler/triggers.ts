/**
 * Trigger rules (CONTRACT §5), evaluated from three counters per step so that readiness after
 * a completion costs O(successors). A step with no predecessors always runs.
 *
 * | trigger       | runs when                         | skipped when (decided as early as possible) |
 * |---------------|-----------------------------------|---------------------------------------------|
 * | `all_success` | every predecessor `completed`     | any predecessor ended otherwise             |
 * | `all_done`    | every predecessor ended           | never                                       |
 * | `one_failed`  | any predecessor `failed` (at once)| all ended, none `failed`                    |
 * | `one_success` | any predecessor `completed` (at once) | all ended, none `completed`             |
 * | `none_failed` | all ended, none `failed` (`skipped` is fine) | any predecessor `failed`         |
 *
 * "Ended" is any terminal status: completed, failed, skipped, cancelled.
 *
 * @example
 * decide('one_failed', 3, 1, 0, 1) // 'run' (one of three predecessors failed already)
 */
import type { Trigger } from '../../dags/index.js';

export type Decision = 'wait' | 'run' | 'skip';

/**
 * @param total predecessors of the step
 * @param done predecessors that ended
 * @param ok predecessors that `completed`
 * @param failed predecessors that `failed`
 */
export function decide(trigger: Trigger, total: number, done: number, ok: number, failed: number): Decision {
  if (total === 0) return 'run';
  const all = done === total;
  switch (trigger) {
    case 'all_success':
      if (done > ok) return 'skip';
      return all ? 'run' : 'wait';
    case 'all_done':
      return all ? 'run' : 'wait';
    case 'one_failed':
      if (failed > 0) return 'run';
      return all ? 'skip' : 'wait';
    case 'one_success':
      if (ok > 0) return 'run';
      return all ? 'skip' : 'wait';
    case 'none_failed':
      if (failed > 0) return 'skip';
      return all ? 'run' : 'wait';
  }
}
