/**
 * Cron expressions: the 5-field form `minute hour day-of-month month day-of-week` with lists,
 * ranges, steps and names, plus `@hourly @daily @weekly @monthly @yearly` (and the aliases
 * `@midnight`, `@annually`). Parsing is strict and every error names the cron field.
 * The grammar and the decisions (Vixie cron's day rule, `7` = Sunday, …) are in
 * docs/SCHEDULES.md.
 *
 * @example
 * const r = parseCron('30 2 * * MON-FRI');
 * if (r.ok) r.value.hours; // [2]
 */
import { CRON_FIELDS, fail, ok, type CronField, type Result } from './issues.js';

/** A parsed cron expression: the sets it matches and the flags evaluation needs. */
export interface Cron {
  /** The expression as given, trimmed. */
  readonly source: string;
  /** The 5-field form (macros expanded, whitespace normalised). */
  readonly fields: string;
  readonly minutes: readonly number[];
  readonly hours: readonly number[];
  readonly daysOfMonth: readonly number[];
  readonly months: readonly number[];
  /** 0 = Sunday … 6 = Saturday (`7` in the text is folded onto 0). */
  readonly daysOfWeek: readonly number[];
  /** Vixie cron: the day-of-month / day-of-week text starts with `*` (then both must match). */
  readonly domStar: boolean;
  readonly dowStar: boolean;
  /** The hour field has a wildcard or a step: the expression follows elapsed time. */
  readonly hourElapsed: boolean;
  /** `minuteNext[m]`: the smallest allowed minute ≥ m, or -1 (m in 0…60). */
  readonly minuteNext: Int8Array;
  /** `hourNext[h]`: the smallest allowed hour ≥ h, or -1 (h in 0…24). */
  readonly hourNext: Int8Array;
  /** Bit d (1…31) set when day-of-month d is allowed. */
  readonly domMask: number;
  /** Bit m (1…12) set when month m is allowed. */
  readonly monthMask: number;
  /** Bit w (0…6) set when day-of-week w is allowed. */
  readonly dowMask: number;
}

/** Longest expression accepted (bounds parsing work on untrusted input). */
export const MAX_CRON_LENGTH = 256;

export const CRON_MACROS: Readonly<Record<string, string>> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

const MONTH_NAMES = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DOW_NAMES = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];
/** The longest month each month can be (February: 29). */
const MAX_MONTH_DAYS = [0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

interface FieldSpec {
  name: CronField;
  min: number;
  max: number;
  names?: readonly string[];
  /** Offset added to a name's index (months are 1-based). */
  nameBase?: number;
}

const SPECS: readonly FieldSpec[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day-of-month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: MONTH_NAMES, nameBase: 1 },
  { name: 'day-of-week', min: 0, max: 7, names: DOW_NAMES, nameBase: 0 },
];

type FieldResult = { ok: true; values: number[] } | { ok: false; message: string };

function parseValue(text: string, spec: FieldSpec): number | string {
  if (/^[0-9]{1,4}$/.test(text)) {
    const v = Number(text);
    if (v < spec.min || v > spec.max) return `${text} is out of range ${spec.min}-${spec.max}`;
    return v;
  }
  const i = spec.names?.indexOf(text.toUpperCase()) ?? -1;
  if (i >= 0) return i + spec.nameBase!;
  if (text === '?') return '"?" is not supported (Quartz syntax); use "*"';
  if (/^(L|LW|[0-9]{1,2}[LW]|[A-Z]{3}L|[0-9A-Z]{1,3}#[0-9])$/i.test(text)) {
    return `"${text}" is not supported (Quartz syntax)`;
  }
  if (text === '') return 'empty value';
  return spec.names
    ? `"${text}" is not a number ${spec.min}-${spec.max} or a name (${spec.names.slice(0, 3).join(', ')}, …)`
    : `"${text}" is not a number ${spec.min}-${spec.max}`;
}

/** One comma-separated item: `*`, `v`, `a-b`, each with an optional `/step`; `v/step` = `v-max/step`. */
function parseItem(item: string, spec: FieldSpec, out: Set<number>): string | undefined {
  const slash = item.split('/');
  if (slash.length > 2) return `"${item}" has more than one "/"`;
  const [rangeText, stepText] = slash as [string, string | undefined];
  let step = 1;
  if (stepText !== undefined) {
    if (!/^[0-9]{1,4}$/.test(stepText)) return `step "${stepText}" in "${item}" is not a positive number`;
    step = Number(stepText);
    const span = spec.max - spec.min + 1;
    if (step < 1 || step > span) return `step ${stepText} in "${item}" is out of range 1-${span}`;
  }
  let lo: number;
  let hi: number;
  if (rangeText === '*') {
    lo = spec.min;
    hi = spec.name === 'day-of-week' ? 6 : spec.max;
  } else {
    const dash = rangeText.split('-');
    if (dash.length > 2) return `"${rangeText}" is not a range a-b`;
    const a = parseValue(dash[0]!, spec);
    if (typeof a === 'string') return a;
    lo = a;
    if (dash.length === 2) {
      let b = parseValue(dash[1]!, spec);
      if (typeof b === 'string') return b;
      // `MON-SUN`: a range from Monday on that ends on Sunday's name ends at 7, as `1-7` does.
      if (spec.name === 'day-of-week' && b === 0 && a > 0 && /^SUN$/i.test(dash[1]!)) b = 7;
      if (b < a) return `range "${rangeText}" runs backwards`;
      hi = b;
    } else {
      hi = stepText !== undefined ? spec.max : a;
    }
  }
  for (let v = lo; v <= hi; v += step) out.add(spec.name === 'day-of-week' && v === 7 ? 0 : v);
  return undefined;
}

function parseField(text: string, spec: FieldSpec): FieldResult {
  const out = new Set<number>();
  for (const item of text.split(',')) {
    if (item === '') return { ok: false, message: `empty list item in "${text}"` };
    const err = parseItem(item, spec, out);
    if (err !== undefined) return { ok: false, message: err };
  }
  return { ok: true, values: [...out].sort((a, b) => a - b) };
}

function nextTable(values: readonly number[], size: number): Int8Array {
  const t = new Int8Array(size + 1).fill(-1);
  const allowed = new Set(values);
  let next = -1;
  for (let i = size - 1; i >= 0; i--) {
    if (allowed.has(i)) next = i;
    t[i] = next;
  }
  return t;
}

const mask = (values: readonly number[]): number => values.reduce((m, v) => m | (1 << v), 0);

/**
 * Parses and validates a cron expression. Errors are `{field: 'cron', code: 'CRON_INVALID' |
 * 'CRON_NEVER_FIRES', message, cronField?}`.
 *
 * @example
 * parseCron('*\/15 9-17 * * MON-FRI'); // ok
 * parseCron('0 24 * * *');            // issue: "cron: hour: 24 is out of range 0-23"
 */
export function parseCron(input: unknown, field = 'cron'): Result<Cron> {
  if (typeof input !== 'string') return fail(field, 'CRON_INVALID', 'must be a string');
  if (input.length > MAX_CRON_LENGTH) return fail(field, 'CRON_INVALID', `longer than ${MAX_CRON_LENGTH} characters`);
  const source = input.trim();
  let text = source;
  if (text.startsWith('@')) {
    const macro = CRON_MACROS[text.toLowerCase()];
    if (macro === undefined) {
      const known = Object.keys(CRON_MACROS).join(' ');
      return fail(field, 'CRON_INVALID', `unknown macro "${text}" (known: ${known})`);
    }
    text = macro;
  }
  const parts = text === '' ? [] : text.split(/[ \t]+/);
  if (parts.length !== 5) {
    return fail(field, 'CRON_INVALID', `needs 5 fields (${CRON_FIELDS.join(' ')}), got ${parts.length}`);
  }
  const sets: number[][] = [];
  for (let i = 0; i < 5; i++) {
    const spec = SPECS[i]!;
    const r = parseField(parts[i]!, spec);
    if (!r.ok) return fail(field, 'CRON_INVALID', `${spec.name}: ${r.message}`, spec.name);
    sets.push(r.values);
  }
  const [minutes, hours, doms, months, dows] = sets as [number[], number[], number[], number[], number[]];
  const domStar = parts[2]!.startsWith('*');
  const dowStar = parts[4]!.startsWith('*');
  // With a day-of-week restriction under the OR rule, some day always matches; otherwise a
  // day-of-month must exist in one of the months (31 in February never comes).
  const dayDecidesAlone = !domStar && !dowStar;
  if (!dayDecidesAlone && !months.some((m) => doms.some((d) => d <= MAX_MONTH_DAYS[m]!))) {
    return fail(
      field,
      'CRON_NEVER_FIRES',
      `never fires: day-of-month ${parts[2]} does not occur in month ${parts[3]}`,
      'day-of-month',
    );
  }
  return ok({
    source,
    fields: parts.join(' '),
    minutes,
    hours,
    daysOfMonth: doms,
    months,
    daysOfWeek: dows,
    domStar,
    dowStar,
    hourElapsed: /[*/]/.test(parts[1]!),
    minuteNext: nextTable(minutes, 60),
    hourNext: nextTable(hours, 24),
    domMask: mask(doms),
    monthMask: mask(months),
    dowMask: mask(dows),
  });
}
