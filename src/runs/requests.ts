/**
 * What a request to start a run is, and what starting or cancelling one answers (the run
 * service's vocabulary, `service.ts`), with the checks made of a request before anything is read:
 * its inputs' canonical form and size, and whether a runToken's run was the same request.
 *
 * @example
 * const inputs = runInputs({ dagId: 'hello', inputs: { n: 1 } }, 1024 * 1024); // { json: '{"n":1}', hash }
 * sameRequest(existing, req, inputs.hash); // the run, or RUN_TOKEN_CONFLICT
 */
import { ApiError, canonicalJson, sha256Hex } from '../core/index.js';
import type { LiveRun } from '../engine/index.js';
import type { RunRow, StepRow } from '../store/index.js';
import type { RunView } from './views.js';

export interface CreateRunRequest {
  dagId: string;
  version?: string;
  inputs?: Record<string, unknown>;
  runToken?: string;
}

/**
 * Where a run comes from (never from a client's body): who started it (docs/API.md "Actors":
 * a token's `sub`, `schedule:<id>` for a fire) and, for a schedule's run, the schedule and the
 * fire time.
 */
export interface RunOrigin {
  actor?: string;
  scheduleId?: string;
  scheduledMs?: number;
}

/** A new run checked and ready to store ({@link RunService.prepare}). */
export interface PreparedRun {
  row: RunRow;
  run: LiveRun;
  steps: StepRow[];
}

/** What {@link RunService.create} did: `created` false when the runToken's run already existed. */
export interface RunStarted {
  run: RunView;
  created: boolean;
}

/** What {@link RunService.cancel} did: `cancelled` false when the run was already cancelling or ended. */
export interface RunCancelled {
  run: RunView;
  cancelled: boolean;
}

/** A new run's inputs as stored: canonical JSON, and its hash. */
export interface RunInputs {
  json: string;
  hash: string;
}

/** The inputs of `req` as stored; PAYLOAD_TOO_LARGE past `maxBytes` of canonical JSON. */
export function runInputs(req: CreateRunRequest, maxBytes: number): RunInputs {
  const json = canonicalJson(req.inputs ?? {});
  if (Buffer.byteLength(json, 'utf8') > maxBytes) {
    throw new ApiError('PAYLOAD_TOO_LARGE', `run inputs exceed ${maxBytes} bytes of canonical JSON`, { limit: maxBytes, field: 'body.inputs' });
  }
  return { json, hash: sha256Hex(json) };
}

/** The run of a runToken, when it was started with the same request; RUN_TOKEN_CONFLICT otherwise. */
export function sameRequest(existing: RunRow, req: CreateRunRequest, inputsHash: string): RunRow {
  const same = existing.dagId === req.dagId && (req.version === undefined || req.version === existing.dagVersion) && existing.inputsHash === inputsHash;
  if (!same) throw new ApiError('RUN_TOKEN_CONFLICT', 'runToken was used for a run with another dagId, version or inputs');
  return existing;
}
