/**
 * One step attempt in the pool (`pool.ts`) and how its end is told: a worker's Done/Failed, a
 * lost thread, or — whatever the step reported — its abort.
 */
import { sha256Hex } from '../../core/hash.js';
import { checkedErrorInfo, FromWorker, type DoneMessage, type FailedMessage, type AbortReason } from './protocol.js';
import type { Profile, Slot } from './pool-host.js';
import { abortResult, failedResult, systemLogLine, type StepResult, type StepTask, type TaskMeta } from './pool-types.js';
import type { ResolvedPlugin } from '../plugins/plugins.js';

export interface Entry {
  readonly id: number;
  readonly meta: TaskMeta;
  readonly plugin: ResolvedPlugin;
  /** The host key (tenant + profile) it runs under. */
  readonly key: string;
  readonly profile: Profile;
  readonly task: StepTask;
  readonly resolve: (r: StepResult) => void;
  state: 'queued' | 'running' | 'done';
  slot: Slot<Entry> | null;
  logs: string;
  abortReason: AbortReason | null;
  timer?: NodeJS.Timeout;
  graceTimer?: NodeJS.Timeout;
}

/**
 * The result of a Done or Failed message (an aborted step takes its abort's outcome). The host
 * checked sizes already; the server checks them again, since a host is only as trustworthy as
 * the sandbox around the code it runs.
 */
export function endedResult(e: Entry, m: DoneMessage | FailedMessage, limits: { maxOutputBytes: number; maxLogBytes: number }): StepResult {
  const logs = capLog(e.logs + m.logs, limits.maxLogBytes);
  if (e.abortReason) return abortResult(e.abortReason, e.task.timeoutMs, logs);
  if (m.cmd === FromWorker.Failed) return { status: 'failed', error: checkedErrorInfo(m.error), logs };
  if (typeof m.outputsJson !== 'string' || Buffer.byteLength(m.outputsJson) > limits.maxOutputBytes) {
    return failedResult('OUTPUTS_TOO_LARGE', `outputs exceed ${limits.maxOutputBytes} bytes of canonical JSON`, false, logs);
  }
  const outputs = parseOutputs(m.outputsJson);
  if (!outputs || m.outputsHash !== sha256Hex(m.outputsJson)) {
    return failedResult('OUTPUTS_INVALID', 'outputs are not a JSON object with their hash', false, logs);
  }
  return { status: 'completed', outputs, outputsJson: m.outputsJson, outputsHash: m.outputsHash, logs };
}

/** The outputs object of a Done message, or null when the (forgeable) text is not one. */
function parseOutputs(json: string): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(json);
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** Appends a log batch from a host, never past the attempt's cap (plus room for the engine's own last lines). */
export function capLog(logs: string, maxLogBytes: number): string {
  const limit = maxLogBytes + 64 * 1024;
  return logs.length > limit ? logs.slice(0, limit) : logs;
}

/** The result of a step whose thread is gone: WORKER_LOST (retryable), or its abort's outcome. */
export function lostResult(e: Entry, why: string): StepResult {
  const logs = e.logs + systemLogLine(why);
  return e.abortReason ? abortResult(e.abortReason, e.task.timeoutMs, logs) : failedResult('WORKER_LOST', why, true, logs);
}
