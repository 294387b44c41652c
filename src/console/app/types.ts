/** The API's resources as the console reads them (CONTRACT §5–7, docs/API.md). */

export interface DagSummary {
  dagId: string;
  version: string;
  hash: string;
  active: boolean;
  description: string | null;
  stepCount: number;
  createdUtc: string;
  disabledUtc: string | null;
  signedBy: string[];
}

export interface DagStep {
  id: string;
  plugin: string;
  with?: Record<string, unknown>;
  retries?: { max?: number; backoffMs?: number };
  timeoutMs?: number;
  trigger?: string;
}

export interface DagEdge {
  from: string;
  to: string;
}

export interface DagVersion extends Omit<DagSummary, 'description' | 'stepCount'> {
  metadata?: { description?: string; [k: string]: unknown };
  inputsSchema?: unknown;
  steps: DagStep[];
  edges: DagEdge[];
}

export interface Attempt {
  attempt: number;
  status: string;
  startedUtc: string;
  endedUtc: string | null;
  durationMs: number | null;
  errorCode: string | null;
  errorMessage: string | null;
  logsRef: string | null;
  outputsHash: string | null;
}

export interface StepRun {
  stepId: string;
  status: string;
  attempt: number;
  attempts: Attempt[];
  startedUtc: string | null;
  endedUtc: string | null;
  durationMs: number | null;
  inputsHash: string | null;
  outputsHash: string | null;
  outputs: Record<string, unknown> | null;
  logsRef: string | null;
  errorCode: string | null;
  errorMessage: string | null;
  retryable: boolean | null;
}

export interface Run {
  runId: string;
  tenant: string;
  dagId: string;
  dagVersion: string;
  dagHash: string;
  runToken: string | null;
  traceId: string;
  status: string;
  inputsHash: string;
  outputsHash: string | null;
  createdUtc: string;
  startedUtc: string;
  endedUtc: string | null;
  durationMs: number | null;
  steps?: StepRun[];
}

/** One line of the event stream (`GET /runs/stream`). */
export interface RunEvent {
  seq: number;
  type: string;
  tenant: string;
  dagId: string;
  runId: string;
  stepId?: string;
  status: string;
  timestamp: string;
}

export const RUN_STATUSES = ['queued', 'running', 'cancelling', 'completed', 'failed', 'cancelled'] as const;
export const TERMINAL = new Set(['completed', 'failed', 'cancelled', 'skipped']);
