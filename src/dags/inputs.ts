/**
 * Run inputs against a DAG's `inputsSchema` (JSON Schema, compiled with ajv).
 *
 * - Draft: `$schema` selects draft 2020-12 or 2019-09; absent (or draft-07) means draft-07.
 *   An unknown `$schema` makes the schema invalid.
 * - Every distinct schema gets its own ajv instance: an `$id` of one tenant's schema can never
 *   collide with, or be `$ref`erenced by, another's; nothing is ever fetched (`$ref` to an
 *   unknown URI is an invalid schema).
 * - `strict: false`, `allErrors: true`, formats are annotations only (no ajv-formats), and
 *   `default` is never applied: inputs are validated, not changed.
 * - Compiled validators are cached by the canonical hash of the schema (LRU, 512 entries).
 * - Validation runs under a time budget ({@link INPUTS_VALIDATION_BUDGET_MS}): a `pattern` that
 *   backtracks catastrophically on hostile inputs (`^([a-z0-9]+[-._]?)+$` against 30 characters
 *   takes minutes), or `uniqueItems` over a huge array, would otherwise freeze the whole server
 *   for every tenant. Past the budget the inputs are refused (INPUTS_INVALID). A `vm` timeout is
 *   the one way to interrupt a running regular expression on the main thread.
 */
import { createRequire } from 'node:module';
import { Script, createContext } from 'node:vm';
import type { Ajv, ErrorObject, ValidateFunction } from 'ajv';
import type { Ajv2019 } from 'ajv/dist/2019.js';
import type { Ajv2020 } from 'ajv/dist/2020.js';
import { ApiError } from '../core/errors.js';
import { canonicalHash } from '../core/hash.js';
import { Lru } from './lru.js';

const cache = new Lru<string, ValidateFunction>(512);
const options = { strict: false, allErrors: true, logger: false, validateFormats: false } as const;

/** At most this many ajv errors are listed in `details.errors`. */
export const MAX_INPUT_ERRORS = 100;

type Draft = '07' | '2019' | '2020';

function draftOf(schema: Record<string, unknown>): Draft {
  const uri = typeof schema.$schema === 'string' ? schema.$schema : '';
  if (uri.includes('json-schema.org/draft/2020-12/')) return '2020';
  if (uri.includes('json-schema.org/draft/2019-09/')) return '2019';
  return '07';
}

declare const __STELLA_BUNDLED__: boolean | undefined;

interface AjvClasses {
  Ajv: typeof Ajv;
  Ajv2019: typeof Ajv2019;
  Ajv2020: typeof Ajv2020;
}
let ajvClasses: AjvClasses | undefined;

/**
 * ajv (≈ 320 KB with fast-uri) is evaluated when the first schema is compiled, not at every
 * start (issue #20). These are CommonJS packages: the bundle's `require` (esbuild keeps them
 * inside the one file and evaluates them on this call); from source, Node's own.
 */
function ajv(): AjvClasses {
  if (!ajvClasses) {
    const bundled = typeof __STELLA_BUNDLED__ !== 'undefined' && __STELLA_BUNDLED__ === true;
    const [a, b, c] = bundled
      ? [require('ajv'), require('ajv/dist/2019.js'), require('ajv/dist/2020.js')]
      : ((r: NodeJS.Require) => [r('ajv'), r('ajv/dist/2019.js'), r('ajv/dist/2020.js')])(createRequire(import.meta.url));
    ajvClasses = { Ajv: a.Ajv, Ajv2019: b.Ajv2019, Ajv2020: c.Ajv2020 };
  }
  return ajvClasses;
}

function newAjv(draft: Draft, o: typeof options & { validateSchema?: boolean }): Ajv {
  const { Ajv, Ajv2019, Ajv2020 } = ajv();
  return draft === '2020' ? new Ajv2020(o) : draft === '2019' ? new Ajv2019(o) : new Ajv(o);
}

/**
 * One instance per draft that only checks schemas against their meta-schema. Ajv compiles the
 * meta-schema once per instance (≈ 30 ms each), so checking every schema in the instance that
 * compiles it cost that much for every distinct schema: most of the server's start-up, which
 * compiles the built-in plugins' and preloaded DAGs' schemas. Checking a schema never adds it
 * to the instance, so no `$id` is shared.
 */
const metaCheckers = new Map<Draft, Ajv>();

function checkAgainstMeta(draft: Draft, schema: Record<string, unknown>): void {
  let meta = metaCheckers.get(draft);
  if (!meta) metaCheckers.set(draft, (meta = newAjv(draft, options)));
  meta.validateSchema(schema, true); // throws "schema is invalid: …" as compile() would
}

/**
 * Compiles a JSON Schema (cached by its canonical hash). Throws the ajv error when the schema is
 * invalid.
 *
 * @example
 * compileSchema({ type: 'object' })({}) // true
 */
export function compileSchema(schema: Record<string, unknown>): ValidateFunction {
  const key = canonicalHash(schema);
  let fn = cache.get(key);
  if (!fn) {
    const draft = draftOf(schema);
    checkAgainstMeta(draft, schema);
    fn = newAjv(draft, { ...options, validateSchema: false }).compile(structuredClone(schema));
    cache.set(key, fn);
  }
  return fn;
}

/**
 * ajv errors as `{path, message}` (JSON Pointer); a missing required property is named in the
 * path. At most {@link MAX_INPUT_ERRORS}.
 *
 * @example
 * formatAjvErrors(validate.errors) // [{ path: '/image', message: "must have required property 'image'" }]
 */
export function formatAjvErrors(
  errors: readonly ErrorObject[] | null | undefined,
): Array<{ path: string; message: string }> {
  return (errors ?? []).slice(0, MAX_INPUT_ERRORS).map((e) => {
    const params = e.params as { missingProperty?: string };
    const missing = e.keyword === 'required' ? params.missingProperty : undefined;
    const pointer = missing?.replace(/~/g, '~0').replace(/\//g, '~1');
    const path = pointer === undefined ? e.instancePath : `${e.instancePath}/${pointer}`;
    return { path: path || '/', message: e.message ?? e.keyword };
  });
}

/** The most time one validation of run inputs may take. */
export const INPUTS_VALIDATION_BUDGET_MS = 250;

const guardContext = createContext({ call: (): boolean => false });
const guardScript = new Script('call()');

function runGuarded(fn: () => boolean, budgetMs: number): boolean {
  (guardContext as { call: () => boolean }).call = fn;
  try {
    return guardScript.runInContext(guardContext, { timeout: budgetMs }) as boolean;
  } finally {
    (guardContext as { call: () => boolean }).call = () => false;
  }
}

/** CPU time of the process (every thread) in ms. */
const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/**
 * Runs `fn` with a time budget; throws an error with code ERR_SCRIPT_EXECUTION_TIMEOUT when it
 * is exceeded (a backtracking `pattern` cannot freeze the server). The budget is meant as work,
 * but V8's watchdog counts wall time: on a starved machine a cheap check can be descheduled past
 * it. So a timeout during which the process used less CPU than the budget is tried once more;
 * a pattern that backtracks burns the CPU and is refused.
 *
 * @example
 * withinBudget(() => validate(value), INPUTS_VALIDATION_BUDGET_MS)
 */
export function withinBudget(fn: () => boolean, budgetMs: number): boolean {
  const cpu0 = cpuMs();
  try {
    return runGuarded(fn, budgetMs);
  } catch (err) {
    if ((err as { code?: unknown }).code !== 'ERR_SCRIPT_EXECUTION_TIMEOUT' || cpuMs() - cpu0 >= budgetMs) throw err;
    return runGuarded(fn, budgetMs);
  }
}

/**
 * A validator for run inputs. Without a schema every input is accepted. Missing inputs
 * (`undefined`) are validated as `{}`. Throws `ApiError('INPUTS_INVALID', …, { errors:
 * [{path, message}] })` (paths are JSON Pointers), or `ApiError('DAG_INVALID')` if the schema
 * itself does not compile (a published DAG was checked, so this means a corrupt store).
 *
 * @example
 * const check = compileInputsValidator({ type: 'object', required: ['image'] });
 * check({ image: 'alpine:3' }); // ok
 * check({}); // throws INPUTS_INVALID, errors: [{ path: '/image', message: "must have required property 'image'" }]
 */
export function compileInputsValidator(
  inputsSchema: Record<string, unknown> | undefined,
  budgetMs: number = INPUTS_VALIDATION_BUDGET_MS,
): (inputs: unknown) => void {
  if (inputsSchema === undefined) return () => {};
  let fn: ValidateFunction;
  try {
    fn = compileSchema(inputsSchema);
  } catch (err) {
    throw new ApiError('DAG_INVALID', `inputsSchema is not a valid JSON Schema: ${(err as Error).message}`);
  }
  return (inputs: unknown) => {
    let ok: boolean;
    try {
      ok = withinBudget(() => fn(inputs === undefined ? {} : inputs), budgetMs);
    } catch (err) {
      if ((err as { code?: unknown }).code !== 'ERR_SCRIPT_EXECUTION_TIMEOUT') throw err;
      throw new ApiError('INPUTS_INVALID', `inputs validation exceeded its time budget of ${budgetMs} ms (a pattern of the inputsSchema backtracks on these inputs)`, {
        errors: [{ path: '/', message: `validation exceeded ${budgetMs} ms` }],
      });
    }
    if (ok) return;
    const errors = formatAjvErrors(fn.errors);
    const first = errors[0];
    const msg = first ? `inputs ${first.path}: ${first.message}` : 'inputs do not match the inputsSchema';
    throw new ApiError('INPUTS_INVALID', msg, { errors });
  };
}

/**
 * Empties the validator cache (tests).
 *
 * @example
 * clearInputsValidatorCache();
 */
export function clearInputsValidatorCache(): void {
  cache.clear();
}
