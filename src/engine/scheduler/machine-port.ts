/**
 * The contract between the run/step state machine (`machine.ts`) and the loop that drives it
 * (`loop.ts`): what the machine asks of the loop (a turn, a dispatch after the commit, an
 * abort), and the shapes both sides hand over. The loop implements {@link MachinePort}; the
 * machine holds it by reference (no hooks for a subclass to fill in).
 */
import type { LiveRun, LiveStep } from './live.js';

/** A step attempt ready to go to the pool once its `running` state is durable. */
export interface Dispatch {
  step: LiveStep;
  attempt: number;
  inputs: Record<string, unknown>;
}

/** What the machine asks of the loop that drives it. */
export interface MachinePort {
  /** Asks for a turn of the loop (admission, dispatch, group commit). */
  kick(): void;
  /**
   * Hands an attempt to the pool once the changes staged so far are durable; a `noop` attempt is
   * finished at once instead (`machine.finishAttempt`, in the same batch: it runs no code).
   */
  dispatchAfterCommit(d: Dispatch): void;
  /** Asks the pool to abort a step's task once the changes staged so far are durable. */
  abortTask(step: LiveStep): void;
}

export type TimerEntry = { kind: 'retry'; step: LiveStep; due: number } | { kind: 'runTimeout'; run: LiveRun };
