/**
 * The `${{ … }}` reference language of step `with` values.
 *
 * Grammar (whitespace allowed just inside the braces):
 *   `${{ inputs }}` | `${{ inputs.<seg>(.<seg>)* }}`
 *   `${{ steps.<stepId>.outputs }}` | `${{ steps.<stepId>.outputs.<seg>(.<seg>)* }}`
 * where `<seg>` is `[A-Za-z0-9_-]+` (a numeric segment indexes an array). Step ids may contain
 * dots: the step id is the shortest prefix followed by a `.outputs` segment. Any other root
 * (`env`, `secrets`, …) is `UNKNOWN_REFERENCE_ROOT`; anything else malformed, an unterminated
 * `${{`, or an empty expression is `BAD_REFERENCE`. There is no escape: `${{` always opens an
 * expression. Only string values are scanned, never object keys. An expression body is at most
 * 1,024 characters.
 */

export interface InputsRef {
  root: 'inputs';
  path: string[];
  /** The expression as written, braces included. */
  text: string;
}
export interface StepRef {
  root: 'steps';
  stepId: string;
  path: string[];
  text: string;
}
export type Ref = InputsRef | StepRef;

export interface RefProblem {
  code: 'BAD_REFERENCE' | 'UNKNOWN_REFERENCE_ROOT';
  expression: string;
  message: string;
}

export interface Template {
  /** Literal text and references, in order. */
  parts: Array<string | Ref>;
  problems: RefProblem[];
}

/** Longest expression body accepted (bounds regex work on hostile input). */
export const MAX_EXPRESSION_LENGTH = 1024;

const OPEN = '${{';
const CLOSE = '}}';
const ROOT_RE = /^[A-Za-z_][A-Za-z0-9_-]*/;
const INPUTS_RE = /^inputs((?:\.[A-Za-z0-9_-]+)*)$/;
const STEPS_RE = /^steps\.([a-z0-9][a-z0-9._-]{0,127}?)\.outputs((?:\.[A-Za-z0-9_-]+)*)$/;

function pathOf(tail: string | undefined): string[] {
  return tail ? tail.slice(1).split('.') : [];
}

/** Parses one expression body (between the braces). */
function parseExpr(body: string, text: string): Ref | RefProblem {
  if (body.length > MAX_EXPRESSION_LENGTH) {
    const message = `expression longer than ${MAX_EXPRESSION_LENGTH} characters`;
    return { code: 'BAD_REFERENCE', expression: `${text.slice(0, 40)}…`, message };
  }
  const expr = body.trim();
  const root = ROOT_RE.exec(expr)?.[0];
  if (root === 'inputs') {
    const m = INPUTS_RE.exec(expr);
    if (m) return { root: 'inputs', path: pathOf(m[1]), text };
  } else if (root === 'steps') {
    const m = STEPS_RE.exec(expr);
    if (m) return { root: 'steps', stepId: m[1]!, path: pathOf(m[2]), text };
  } else if (root !== undefined && (expr.length === root.length || expr[root.length] === '.')) {
    return {
      code: 'UNKNOWN_REFERENCE_ROOT',
      expression: text,
      message: `unknown reference root "${root}" (allowed: inputs, steps)`,
    };
  }
  return {
    code: 'BAD_REFERENCE',
    expression: text,
    message: 'malformed reference (expected inputs[.path] or steps.<id>.outputs[.path])',
  };
}

/**
 * Splits a string into literal text and references.
 *
 * @example
 * parseTemplate('scan ${{ inputs.image }}').parts // ['scan ', { root: 'inputs', path: ['image'], text: '${{ inputs.image }}' }]
 */
export function parseTemplate(s: string): Template {
  const parts: Array<string | Ref> = [];
  const problems: RefProblem[] = [];
  let pos = 0;
  while (pos < s.length) {
    const open = s.indexOf(OPEN, pos);
    if (open < 0) break;
    const close = s.indexOf(CLOSE, open + OPEN.length);
    if (close < 0) {
      const text = s.slice(open, open + 40);
      problems.push({ code: 'BAD_REFERENCE', expression: text, message: 'unterminated "${{"' });
      break;
    }
    if (open > pos) parts.push(s.slice(pos, open));
    const text = s.slice(open, close + CLOSE.length);
    const r = parseExpr(s.slice(open + OPEN.length, close), text);
    if ('code' in r) problems.push(r);
    else parts.push(r);
    pos = close + CLOSE.length;
  }
  if (pos < s.length) parts.push(s.slice(pos));
  return { parts, problems };
}

/**
 * True when a string may contain a reference (cheap pre-check).
 *
 * @example
 * hasRef('plain text') // false
 */
export function hasRef(s: string): boolean {
  return s.includes(OPEN);
}

/**
 * Calls `visit` for every string value inside a JSON value, with its dotted path (iterative,
 * so depth cannot overflow the stack).
 *
 * @example
 * forEachString({ a: ['x'] }, 'with', (s, p) => console.log(p, s)) // with.a.0 x
 */
export function forEachString(value: unknown, base: string, visit: (s: string, path: string) => void): void {
  const stack: Array<[unknown, string]> = [[value, base]];
  while (stack.length) {
    const [v, path] = stack.pop()!;
    if (typeof v === 'string') visit(v, path);
    else if (v !== null && typeof v === 'object') {
      const entries = Array.isArray(v) ? v.map((x, i) => [String(i), x] as const) : Object.entries(v);
      for (let i = entries.length - 1; i >= 0; i--) {
        const [k, child] = entries[i]!;
        stack.push([child, `${path}.${k}`]);
      }
    }
  }
}

/** A reference or problem found in a `with` value, with the field it sits in. */
export type Located<T> = T & { field: string };

/**
 * Every reference and every reference problem in a step's `with`.
 *
 * @example
 * collectRefs({ image: '${{ steps.resolve.outputs.image }}' }).refs[0].stepId // 'resolve'
 */
export function collectRefs(withValue: unknown): { refs: Located<Ref>[]; problems: Located<RefProblem>[] } {
  const refs: Located<Ref>[] = [];
  const problems: Located<RefProblem>[] = [];
  if (withValue === undefined) return { refs, problems };
  forEachString(withValue, 'with', (s, field) => {
    if (!hasRef(s)) return;
    const t = parseTemplate(s);
    for (const p of t.parts) if (typeof p !== 'string') refs.push({ ...p, field });
    for (const p of t.problems) problems.push({ ...p, field });
  });
  return { refs, problems };
}
