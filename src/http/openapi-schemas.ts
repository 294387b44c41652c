/**
 * JSON Schemas of the OpenAPI document's `components/schemas`, converted from zod. Every named
 * schema ({@link component}) and every request/response schema of the route table becomes one
 * component; a schema inside another is a `$ref` to it, never a `$defs` of its own (which would
 * resolve against the document root, where nothing is). Shared subschemas zod extracts without a
 * name (recursive JSON values) are hoisted as components too.
 *
 * Requests are described in zod's input form and responses in its output form; a component whose
 * two forms differ is emitted twice (`Name` for responses, `NameInput` for requests).
 */
import { z } from 'zod';
import { canonicalJson } from '../core/index.js';
import { namedComponents } from './components.js';

type Json = Record<string, unknown>;
export const REF = '#/components/schemas/';

/** Rewrites every `$ref` string inside `value` with `map` (returns a new value). */
export function mapRefs(value: unknown, map: (ref: string) => string): unknown {
  if (Array.isArray(value)) return value.map((v) => mapRefs(v, map));
  if (value === null || typeof value !== 'object') return value;
  const out: Json = {};
  for (const [k, v] of Object.entries(value)) out[k] = k === '$ref' && typeof v === 'string' ? map(v) : mapRefs(v, map);
  return out;
}

function refsOf(value: unknown, into = new Set<string>()): Set<string> {
  mapRefs(value, (r) => {
    if (r.startsWith(REF)) into.add(r.slice(REF.length));
    return r;
  });
  return into;
}

const SHARED = /^#\/components\/schemas\/__shared#\/\$defs\/(.+)$/;

/** The canonical content of `z.json()` with its reference to itself written `#self`. */
const JSON_VALUE = (() => {
  const reg = z.registry<{ id: string }>();
  reg.add(z.json(), { id: 'self' });
  const { schemas } = z.toJSONSchema(reg, { target: 'draft-2020-12', uri: (id) => REF + id }) as { schemas: Record<string, Json> };
  const { $schema: _s, $id: _i, ...rest } = schemas.self!;
  return canonicalJson(mapRefs(rest, (r) => (r === `${REF}self` ? '#self' : r)));
})();

/**
 * One io form of all components: zod's conversion, with `$schema`/`$id` dropped and zod's
 * unnamed shared subschemas hoisted under names of their own (identical ones merged).
 */
function convert(reg: z.core.$ZodRegistry<{ id: string }>, io: 'input' | 'output'): Record<string, Json> {
  const { schemas } = z.toJSONSchema(reg, {
    io,
    target: 'draft-2020-12',
    unrepresentable: 'any',
    uri: (id) => REF + id,
  }) as { schemas: Record<string, Json> };
  const out: Record<string, Json> = {};
  for (const [id, s] of Object.entries(schemas)) {
    if (id === '__shared') continue;
    const { $schema: _s, $id: _i, ...rest } = s;
    out[id] = rest;
  }
  const shared = (schemas.__shared?.$defs ?? {}) as Record<string, Json>;
  // Name each shared subschema by its content: the same content, wherever zod met it, is one
  // component; a JSON value (z.json(), the only recursive one today) is `JsonValue`.
  const names = new Map<string, string>();
  const byContent = new Map<string, string>([[JSON_VALUE, 'JsonValue']]);
  for (const [def, s] of Object.entries(shared)) {
    const content = canonicalJson(mapRefs(s, (r) => (r === `${REF}__shared#/$defs/${def}` ? '#self' : r)));
    if (!byContent.has(content)) byContent.set(content, `Shared${byContent.size}`);
    names.set(def, byContent.get(content)!);
  }
  const fix = (r: string) => {
    const m = SHARED.exec(r);
    return m ? REF + names.get(m[1]!)! : r;
  };
  for (const [def, s] of Object.entries(shared)) out[names.get(def)!] ??= mapRefs(s, fix) as Json;
  for (const id of Object.keys(out)) out[id] = mapRefs(out[id], fix) as Json;
  return out;
}

export interface Components {
  /** The `$ref` of `schema` in requests (input) or responses (output). */
  ref(schema: z.ZodType, io: 'input' | 'output'): string;
  /** `components/schemas`, only those the document refers to (given its paths). */
  schemas(paths: unknown): Record<string, Json>;
}

/**
 * Converts the named components plus `extra` (route schemas without a name of their own, named
 * here) in both io forms.
 */
export function buildComponents(extra: ReadonlyArray<[string, z.ZodType]>): Components {
  const reg = z.registry<{ id: string }>();
  const ids = new Map<z.ZodType, string>();
  for (const [id, s] of [...namedComponents(), ...extra]) {
    if (ids.has(s)) continue;
    reg.add(s, { id });
    ids.set(s, id);
  }
  const output = convert(reg, 'output');
  const input = convert(reg, 'input');
  // A component differs as input when its JSON differs or it refers to one that does.
  const differs = new Set(Object.keys(input).filter((id) => canonicalJson(input[id]) !== canonicalJson(output[id] ?? null)));
  for (let grew = true; grew; ) {
    grew = false;
    for (const id of Object.keys(input)) {
      if (!differs.has(id) && [...refsOf(input[id])].some((r) => differs.has(r))) {
        differs.add(id);
        grew = true;
      }
    }
  }
  const inputName = (id: string) => (differs.has(id) ? `${id}Input` : id);
  const all: Record<string, Json> = { ...output };
  for (const id of differs) all[inputName(id)] = mapRefs(input[id], (r) => (r.startsWith(REF) ? REF + inputName(r.slice(REF.length)) : r)) as Json;
  return {
    ref(schema, io) {
      const id = ids.get(schema);
      if (!id) throw new Error('schema is not a component');
      return REF + (io === 'input' ? inputName(id) : id);
    },
    schemas(paths) {
      const keep = new Set<string>();
      const visit = (id: string) => {
        if (keep.has(id) || !all[id]) return;
        keep.add(id);
        for (const r of refsOf(all[id])) visit(r);
      };
      for (const r of refsOf(paths)) visit(r);
      return Object.fromEntries([...keep].sort().map((id) => [id, all[id]!]));
    },
  };
}
