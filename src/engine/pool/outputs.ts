/**
 * Step outputs checking (CONTRACT §9: a JSON object, ≤ 1 MiB canonical). Runs in the worker so
 * canonicalisation and hashing stay off the main thread.
 */
import { canonicalJson, sha256Hex } from '../../core/hash.js';
import { StepError } from './protocol.js';

export const DEFAULT_MAX_OUTPUT_BYTES = 1024 * 1024;
export const MAX_OUTPUT_DEPTH = 64;
const MAX_NODES = 1_000_000;

function invalid(message: string): never {
  throw new StepError('OUTPUTS_INVALID', message, { retryable: false });
}

function tooLarge(maxBytes: number): never {
  throw new StepError('OUTPUTS_TOO_LARGE', `outputs exceed ${maxBytes} bytes of canonical JSON; store large data as an artifact`, {
    retryable: false,
  });
}

function isPlainObject(v: object): boolean {
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/**
 * Checks that `value` is a plain JSON object (finite numbers, no functions, class instances,
 * `undefined` array items, cycles or nesting deeper than 64; `undefined` properties are
 * dropped as JSON does) and at most `maxBytes` as canonical JSON. `undefined` (a plugin that
 * returns nothing) counts as `{}`.
 *
 * @example encodeOutputs({ b: 1, a: 2 }) // { json: '{"a":2,"b":1}', hash: '…' }
 * @throws StepError OUTPUTS_INVALID | OUTPUTS_TOO_LARGE (not retryable)
 */
export function encodeOutputs(
  value: unknown,
  maxBytes: number = DEFAULT_MAX_OUTPUT_BYTES,
): { json: string; hash: string } {
  const root = value === undefined ? {} : value;
  if (root === null || typeof root !== 'object' || Array.isArray(root) || !isPlainObject(root)) {
    invalid('outputs must be a plain JSON object');
  }
  // Iterative walk: a cycle shows up as depth > 64, a shared-subtree blow-up as too many nodes.
  const stack: Array<[unknown, number, string]> = [[root, 1, 'outputs']];
  let nodes = 0;
  let approxBytes = 0;
  while (stack.length > 0) {
    const [v, depth, path] = stack.pop()!;
    if (++nodes > MAX_NODES) tooLarge(maxBytes);
    switch (typeof v) {
      case 'string':
        approxBytes += v.length;
        if (approxBytes > maxBytes) tooLarge(maxBytes);
        continue;
      case 'boolean':
        continue;
      case 'number':
        if (!Number.isFinite(v)) invalid(`${path} is not a finite number`);
        continue;
      case 'object':
        break;
      default:
        invalid(`${path} is a ${typeof v}, not a JSON value`);
    }
    if (v === null) continue;
    if (depth > MAX_OUTPUT_DEPTH) invalid(`outputs nest deeper than ${MAX_OUTPUT_DEPTH} levels (or contain a cycle)`);
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        if (v[i] === undefined) invalid(`${path}[${i}] is undefined`);
        stack.push([v[i], depth + 1, `${path}[${i}]`]);
      }
    } else if (isPlainObject(v)) {
      for (const k of Object.keys(v)) {
        const child = (v as Record<string, unknown>)[k];
        approxBytes += k.length;
        if (child !== undefined) stack.push([child, depth + 1, `${path}.${k}`]);
      }
    } else {
      invalid(`${path} is a ${(v as object).constructor?.name ?? 'non-plain object'}, not a plain JSON object`);
    }
  }
  if (approxBytes > maxBytes) tooLarge(maxBytes);
  const json = canonicalJson(root);
  if (json.length > maxBytes || Buffer.byteLength(json, 'utf8') > maxBytes) tooLarge(maxBytes);
  return { json, hash: sha256Hex(json) };
}
