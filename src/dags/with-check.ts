/**
 * Publish-time checks of a step's `with` against its plugin's `inputsSchema` (docs/DAGS.md
 * "Checks at publish"), with the same ajv validator (and time budget) that checks run inputs.
 *
 * - Every value written in the DAG is checked: unknown keys (where the schema closes the
 *   object, as every built-in does), wrong types, missing required keys.
 * - A string holding a `${{ }}` reference is known only at run time: nothing is reported at or
 *   below it, nor a keyword of an enclosing value whose result depends on it (`enum`, `const`,
 *   `uniqueItems`, `contains`, `anyOf`, `oneOf`, `not`, `if`…). A key is never a reference, so a
 *   missing required key is always reported.
 * - A plugin without an `inputsSchema`, or whose schema does not compile, is not checked (a
 *   warning says so for the latter).
 *
 * Problems name the field as `steps.<stepId>.with.<key>…` (array items by index).
 *
 * @example
 * withProblems(doc, (ref) => registry.resolve(ref)?.inputsSchema)
 * // [{ code: 'WITH_INVALID', stepId: 'build', field: 'steps.build.with.program', message: '…' }]
 */
import type { ErrorObject } from 'ajv';
import { resolveAllowedProgram } from './exec-policy.js';
import { compileSchema, INPUTS_VALIDATION_BUDGET_MS, withinBudget } from './inputs.js';
import { hasRef } from './refs.js';
import type { DagDocument } from './model.js';

/** A `with` problem: `field` is `steps.<stepId>.with…`. */
export interface WithProblem {
  code: 'WITH_INVALID';
  message: string;
  stepId: string;
  field: string;
  plugin: string;
  [extra: string]: unknown;
}

/** Something publish lets through but the publisher should know (logged, printed by `dag check`). */
export interface DagWarning {
  code: 'EXEC_NOT_ALLOWED' | 'WITH_UNDECLARED_KEY' | 'PLUGIN_SCHEMA_INVALID';
  message: string;
  stepId: string;
  field?: string;
  plugin: string;
}

/** The `inputsSchema` of a plugin reference as the publishing tenant resolves it. */
export type SchemaOf = (pluginRef: string) => Record<string, unknown> | undefined;

/** Keywords whose result depends on the values inside: unknowable while one is a reference. */
const VALUE_KEYWORDS = new Set([
  'enum', 'const', 'uniqueItems', 'contains', 'minContains', 'maxContains', 'anyOf', 'oneOf', 'not', 'if',
  'dependentSchemas', 'dependencies', 'unevaluatedItems', 'unevaluatedProperties',
]);

/** JSON Pointers of every string value holding a reference. */
function refPointers(value: unknown): string[] {
  const out: string[] = [];
  const stack: Array<[unknown, string]> = [[value, '']];
  while (stack.length) {
    const [v, ptr] = stack.pop()!;
    if (typeof v === 'string') {
      if (hasRef(v)) out.push(ptr);
    } else if (v !== null && typeof v === 'object') {
      for (const [k, child] of Object.entries(v)) stack.push([child, `${ptr}/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`]);
    }
  }
  return out;
}

const within = (ptr: string, base: string) => ptr === base || ptr.startsWith(`${base}/`);

/** The instance location an error is about (a missing or unknown key named in it). */
function errorPointer(e: ErrorObject): string {
  const p = e.params as { missingProperty?: string; additionalProperty?: string };
  const key = e.keyword === 'required' ? p.missingProperty : e.keyword === 'additionalProperties' ? p.additionalProperty : undefined;
  return key === undefined ? e.instancePath : `${e.instancePath}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`;
}

/** `steps.<id>.with` plus the pointer's segments, dot-separated. */
function fieldOf(stepId: string, pointer: string): string {
  const segs = pointer === '' ? [] : pointer.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  return ['steps', stepId, 'with', ...segs].join('.');
}

function describe(e: ErrorObject, plugin: string): string {
  if (e.keyword === 'required') return `is required by plugin ${plugin}`;
  if (e.keyword === 'additionalProperties') return `is not an input of plugin ${plugin}`;
  return e.message ?? e.keyword;
}

/** Whether an ajv error is settled by the values written in the DAG (not by a reference). */
function knownAtPublish(e: ErrorObject, refs: readonly string[]): boolean {
  const at = errorPointer(e);
  if (refs.some((r) => within(at, r))) return false;
  return !(VALUE_KEYWORDS.has(e.keyword) && refs.some((r) => within(r, e.instancePath)));
}

/**
 * Every `with` problem of a DAG's steps (first occurrence of each step id only; duplicates are
 * reported by the graph checks).
 */
export function withProblems(doc: DagDocument, schemaOf: SchemaOf): WithProblem[] {
  const problems: WithProblem[] = [];
  const seen = new Set<string>();
  for (const step of doc.steps) {
    if (seen.has(step.id)) continue;
    seen.add(step.id);
    const schema = schemaOf(step.plugin);
    if (!schema) continue;
    let validate;
    try {
      validate = compileSchema(schema);
    } catch {
      continue; // reported as a warning by withWarnings
    }
    const value = step.with ?? {};
    let ok: boolean;
    try {
      ok = withinBudget(() => validate(value), INPUTS_VALIDATION_BUDGET_MS);
    } catch (err) {
      if ((err as { code?: unknown }).code !== 'ERR_SCRIPT_EXECUTION_TIMEOUT') throw err;
      const field = fieldOf(step.id, '');
      problems.push({ code: 'WITH_INVALID', stepId: step.id, field, plugin: step.plugin, message: `step "${step.id}": ${field}: checking it against plugin ${step.plugin}'s inputsSchema exceeded ${INPUTS_VALIDATION_BUDGET_MS} ms` });
      continue;
    }
    if (ok) continue;
    const refs = refPointers(value);
    const fields = new Set<string>();
    for (const e of validate.errors ?? []) {
      if (!knownAtPublish(e, refs)) continue;
      const field = fieldOf(step.id, errorPointer(e));
      const message = `step "${step.id}": ${field} ${describe(e, step.plugin)}`;
      if (fields.has(message)) continue;
      fields.add(message);
      problems.push({ code: 'WITH_INVALID', stepId: step.id, field, plugin: step.plugin, message, keyword: e.keyword });
    }
  }
  return problems;
}

/** What {@link withWarnings} needs besides the schemas. */
export interface WarningOptions {
  /** The server's `--exec-allow` list; undefined = unknown (no allow-list warning). */
  execAllow?: readonly string[];
}

/**
 * Warnings of a valid DAG: an `exec` step whose fixed `program` is not on the allow-list; a
 * key a plugin's open schema does not declare (a likely typo); a plugin schema that does not
 * compile (its steps' `with` cannot be checked).
 *
 * @example
 * withWarnings(doc, schemaOf, { execAllow: ['/usr/bin/make'] })
 * // [{ code: 'EXEC_NOT_ALLOWED', stepId: 'build', field: 'steps.build.with.program', … }]
 */
export function withWarnings(doc: DagDocument, schemaOf: SchemaOf, opts: WarningOptions = {}): DagWarning[] {
  const warnings: DagWarning[] = [];
  for (const step of doc.steps) {
    const w = (step.with ?? {}) as Record<string, unknown>;
    const { plugin } = step;
    const schema = schemaOf(plugin);
    if (schema) {
      try {
        compileSchema(schema);
        const props = schema.properties;
        const open = !('additionalProperties' in schema) && !('patternProperties' in schema) && !('unevaluatedProperties' in schema);
        if (open && props !== null && typeof props === 'object') {
          for (const key of Object.keys(w)) {
            if (Object.hasOwn(props, key)) continue;
            const field = `steps.${step.id}.with.${key}`;
            warnings.push({ code: 'WITH_UNDECLARED_KEY', stepId: step.id, field, plugin, message: `${field} is not declared by plugin ${plugin}'s inputsSchema (a typo?)` });
          }
        }
      } catch (err) {
        warnings.push({ code: 'PLUGIN_SCHEMA_INVALID', stepId: step.id, plugin, message: `plugin ${plugin}'s inputsSchema does not compile (${(err as Error).message}); step "${step.id}" with is not checked` });
      }
    }
    const isExec = plugin === 'exec' || plugin.startsWith('exec@');
    const program = w.program;
    if (isExec && opts.execAllow && typeof program === 'string' && program !== '' && !hasRef(program)) {
      if (resolveAllowedProgram(program, opts.execAllow) === null) {
        const field = `steps.${step.id}.with.program`;
        warnings.push({ code: 'EXEC_NOT_ALLOWED', stepId: step.id, field, plugin, message: `${field}: ${program} is not on this server's exec allow-list (--exec-allow); the step will fail EXEC_NOT_ALLOWED until an operator allows it` });
      }
    }
  }
  return warnings;
}
