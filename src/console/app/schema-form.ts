/**
 * A run form generated from a DAG's `inputsSchema` (JSON Schema): one field per top-level
 * property (text, number, whole number, checkbox, choice, or JSON for objects and arrays),
 * marked required as the schema says. A schema that is not an object with properties gets one
 * JSON field for all inputs. The server validates the inputs again (422 INPUTS_INVALID).
 *
 * @example
 * const form = formOf({ type: 'object', properties: { name: { type: 'string' } } });
 * toInputs(form, { name: 'world' }); // { inputs: { name: 'world' }, errors: {} }
 */
export type FieldKind = 'string' | 'number' | 'integer' | 'boolean' | 'enum' | 'json';

export interface Field {
  name: string;
  kind: FieldKind;
  required: boolean;
  description?: string;
  options?: unknown[];
  defaultValue?: unknown;
}

export interface Form {
  fields: Field[];
  /** True when the schema gives no properties: one JSON object field named `inputs`. */
  freeform: boolean;
}

type Schema = Record<string, unknown>;

const isObj = (v: unknown): v is Schema => v !== null && typeof v === 'object' && !Array.isArray(v);

function kindOf(s: Schema): FieldKind {
  if (Array.isArray(s.enum) && s.enum.length > 0 && s.enum.every((v) => ['string', 'number', 'boolean'].includes(typeof v))) return 'enum';
  const t = Array.isArray(s.type) ? s.type.find((x) => x !== 'null') : s.type;
  if (t === 'string' || t === 'number' || t === 'integer' || t === 'boolean') return t;
  return 'json';
}

export function formOf(schema: unknown): Form {
  if (!isObj(schema) || !isObj(schema.properties) || Object.keys(schema.properties).length === 0) {
    return { fields: [{ name: 'inputs', kind: 'json', required: false, description: 'All inputs, as one JSON object' }], freeform: true };
  }
  const required = new Set(Array.isArray(schema.required) ? schema.required.filter((r): r is string => typeof r === 'string') : []);
  const fields = Object.entries(schema.properties).map(([name, raw]): Field => {
    const s = isObj(raw) ? raw : {};
    const f: Field = { name, kind: kindOf(s), required: required.has(name) };
    if (typeof s.description === 'string') f.description = s.description;
    else if (typeof s.title === 'string') f.description = s.title;
    if (f.kind === 'enum') f.options = s.enum as unknown[];
    if ('default' in s) f.defaultValue = s.default;
    return f;
  });
  return { fields, freeform: false };
}

/** The form's initial raw values (strings for text fields, booleans for checkboxes). */
export function initialValues(form: Form): Record<string, string | boolean> {
  const v: Record<string, string | boolean> = {};
  for (const f of form.fields) {
    const d = f.defaultValue;
    if (f.kind === 'boolean') v[f.name] = d === true;
    else if (d === undefined) v[f.name] = '';
    else v[f.name] = f.kind === 'json' ? JSON.stringify(d, null, 2) : f.kind === 'enum' ? JSON.stringify(d) : String(d);
  }
  return v;
}

/** Raw form values → the run's `inputs`; errors by field name for what cannot be read. */
export function toInputs(form: Form, values: Record<string, string | boolean>): { inputs: Record<string, unknown>; errors: Record<string, string> } {
  const inputs: Record<string, unknown> = {};
  const errors: Record<string, string> = {};
  for (const f of form.fields) {
    const raw = values[f.name];
    if (f.kind === 'boolean') {
      inputs[f.name] = raw === true;
      continue;
    }
    const text = typeof raw === 'string' ? raw : '';
    if (text.trim() === '') {
      if (f.required) errors[f.name] = 'required';
      continue;
    }
    if (f.kind === 'string') inputs[f.name] = text;
    else if (f.kind === 'number' || f.kind === 'integer') {
      const n = Number(text);
      if (!Number.isFinite(n)) errors[f.name] = 'not a number';
      else if (f.kind === 'integer' && !Number.isInteger(n)) errors[f.name] = 'not a whole number';
      else inputs[f.name] = n;
    } else if (f.kind === 'enum') inputs[f.name] = JSON.parse(text) as unknown;
    else {
      try {
        inputs[f.name] = JSON.parse(text) as unknown;
      } catch {
        errors[f.name] = 'not valid JSON';
      }
    }
  }
  if (form.freeform) {
    const all = inputs.inputs;
    if (all === undefined) return { inputs: {}, errors };
    if (!isObj(all)) return { inputs: {}, errors: { inputs: 'must be a JSON object' } };
    return { inputs: all, errors };
  }
  return { inputs, errors };
}
