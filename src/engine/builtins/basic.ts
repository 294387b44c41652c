/** The simple built-ins: noop, echo, sleep, fail, artifact (CONTRACT §9). */
import { StepError } from '../pool/protocol.js';
import type { BuiltinContext } from './types.js';

const MAX_TIMER_MS = 2_147_483_647;

/** Rejects `INPUTS_INVALID` (not retryable): bad `with` is not fixed by a retry. */
export function invalidInput(message: string): never {
  throw new StepError('INPUTS_INVALID', message, { retryable: false });
}

/** Resolves after `ms`, or rejects with `signal.reason` as soon as the signal aborts. */
export function abortableDelay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

export async function noop(): Promise<Record<string, unknown>> {
  return {};
}

export async function echo(ctx: BuiltinContext): Promise<Record<string, unknown>> {
  return ctx.inputs;
}

export async function sleep(ctx: BuiltinContext): Promise<Record<string, unknown>> {
  const ms = ctx.inputs.ms ?? 0;
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0 || ms > MAX_TIMER_MS) {
    invalidInput(`with.ms must be a number of milliseconds between 0 and ${MAX_TIMER_MS}`);
  }
  await abortableDelay(ms, ctx.signal);
  return { sleptMs: ms };
}

export async function fail(ctx: BuiltinContext): Promise<Record<string, unknown>> {
  const { code = 'STEP_FAILED', message, times, retryable = true } = ctx.inputs;
  if (typeof code !== 'string') invalidInput('with.code must be a string');
  if (message !== undefined && typeof message !== 'string') invalidInput('with.message must be a string');
  if (times !== undefined && (typeof times !== 'number' || !Number.isInteger(times) || times < 0)) {
    invalidInput('with.times must be a non-negative integer');
  }
  if (typeof retryable !== 'boolean') invalidInput('with.retryable must be a boolean');
  if (typeof times === 'number' && ctx.attempt > times) return { attempt: ctx.attempt };
  throw new StepError(code, message ?? `step failed on purpose (attempt ${ctx.attempt})`, { retryable });
}

export async function artifact(ctx: BuiltinContext): Promise<Record<string, unknown>> {
  const { content, mediaType = 'text/plain' } = ctx.inputs;
  if (typeof content !== 'string') invalidInput('with.content must be a string');
  if (typeof mediaType !== 'string' || mediaType.length === 0 || mediaType.length > 255) {
    invalidInput('with.mediaType must be a non-empty string');
  }
  const hash = await ctx.writeArtifact(content, mediaType);
  return { hash, size: Buffer.byteLength(content, 'utf8'), mediaType };
}
