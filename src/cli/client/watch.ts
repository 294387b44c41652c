/**
 * Waits for a run to end by following its events (no polling): the stream is attached first,
 * then the run is started (or read), so no change after that instant is missed; every event of
 * the run updates a small model of its state (run status, each step's status and times).
 * When the run's last event (`run.completed|failed|cancelled`) arrives, the run is read once
 * more for its final record.
 *
 * @example
 * const final = await watchRun(api, { start: () => api.json('POST', '/runs', { body: { dagId: 'hello' } }).then((r) => r.body), dagId: 'hello' },
 *   { onEvent: (e, model) => view.update(model, e) });
 */
import { isRunTerminal, isStepTerminal } from '../../runs/states.js';
import type { RunView, StepView } from '../../runs/views.js';
import { EventFollower, type StreamEvent } from './follow.js';
import type { ApiClient } from './http.js';

export type { RunView, StepView };

export interface StepState {
  stepId: string;
  status: string;
  /** When the step (last) started running and when it ended, ms since the epoch. */
  startedMs: number | null;
  endedMs: number | null;
}

/** What the follow views draw: the run's status and its steps in topological order. */
export class RunModel {
  status: string;
  startedMs: number;
  endedMs: number | null;
  readonly steps = new Map<string, StepState>();

  constructor(readonly run: RunView) {
    this.status = run.status;
    this.startedMs = Date.parse(run.startedUtc);
    this.endedMs = run.endedUtc ? Date.parse(run.endedUtc) : null;
    for (const s of run.steps ?? []) {
      this.steps.set(s.stepId, {
        stepId: s.stepId,
        status: s.status,
        startedMs: s.startedUtc ? Date.parse(s.startedUtc) : null,
        endedMs: s.endedUtc ? Date.parse(s.endedUtc) : null,
      });
    }
  }

  /** Applies an event of this run; false when it changed nothing (a step already ended stays ended). */
  apply(e: StreamEvent): boolean {
    const at = Date.parse(e.timestamp);
    if (e.stepId === undefined || e.stepId === null) {
      if (this.status === e.status || isRunTerminal(this.status)) return false;
      this.status = e.status;
      if (isRunTerminal(e.status)) this.endedMs = at;
      return true;
    }
    let s = this.steps.get(e.stepId);
    if (!s) this.steps.set(e.stepId, (s = { stepId: e.stepId, status: 'pending', startedMs: null, endedMs: null }));
    if (s.status === e.status || isStepTerminal(s.status)) return false;
    s.status = e.status;
    if (e.status === 'running') s.startedMs = at;
    if (isStepTerminal(e.status)) s.endedMs = at;
    return true;
  }
}

export interface WatchTarget {
  /** Starts the run once the stream is attached (`runs start`)… */
  start?: () => Promise<RunView>;
  /** …or watches an existing run (`runs get --wait`, `runs logs --follow`). */
  runId?: string;
  /** The DAG of the run, narrowing the stream (required with `start`). */
  dagId?: string;
}

export interface WatchHooks {
  /** The run as first seen (started, or read after the stream was attached). */
  onStart?(model: RunModel): void | Promise<void>;
  /** Each event of the run, after it was applied (`changed` false when it changed nothing). */
  onEvent?(e: StreamEvent, model: RunModel, changed: boolean): void | Promise<void>;
  /** A dropped stream, resumed. */
  onReconnect?(why: string): void;
  signal?: AbortSignal;
}

const getRun = async (api: ApiClient, runId: string): Promise<RunView> =>
  (await api.json<RunView>('GET', `/runs/${encodeURIComponent(runId)}`)).body;

/** Follows a run to its end; returns its final record. */
export async function watchRun(api: ApiClient, target: WatchTarget, hooks: WatchHooks = {}): Promise<RunView> {
  let dagId = target.dagId;
  if (!target.start) {
    const first = await getRun(api, target.runId!);
    if (isRunTerminal(first.status)) {
      await hooks.onStart?.(new RunModel(first));
      return first;
    }
    dagId = first.dagId;
  }
  const follower = new EventFollower(api, { dagId }, undefined, hooks.signal, hooks.onReconnect);
  await follower.connect();
  try {
    const run = target.start ? await target.start() : await getRun(api, target.runId!);
    const model = new RunModel(run);
    await hooks.onStart?.(model);
    if (isRunTerminal(run.status)) return target.start ? await getRun(api, run.runId) : run;
    for await (const e of follower.events()) {
      // A schedule's own events (`schedule.fired`, status `started`) name the run too, but are not its state.
      if (e.runId !== run.runId || e.type.startsWith('schedule.')) continue;
      const changed = model.apply(e);
      await hooks.onEvent?.(e, model, changed);
      if (e.stepId == null && isRunTerminal(e.status)) break;
    }
    return await getRun(api, run.runId);
  } finally {
    follower.close();
  }
}
