/**
 * Generators for the input fuzzing of the hostile suite: JSON bodies derived from a route's zod
 * schema (through `z.toJSONSchema`), then mutated with hostile values (wrong types, huge and
 * malformed strings, deep nesting, unicode edge cases, prototype keys, extra fields, numbers at
 * the limits written as raw JSON text); query strings with hostile and malformed encodings.
 */
import fc from 'fast-check';
import { z } from 'zod';

/** JSON text inserted verbatim (numbers JSON.stringify cannot write: 1e309, -0, 9007199254740993). */
export class Raw {
  constructor(readonly text: string) {}
  /** Short form in fast-check's counterexamples (some are 40 KB). */
  [fc.toStringMethod](): string {
    return `Raw(${this.text.length > 80 ? `${this.text.slice(0, 40)}…[${this.text.length} chars]` : this.text})`;
  }
}

export type J = null | boolean | number | string | Raw | J[] | { [k: string]: J };

/** Serializes a J tree; object keys are kept in insertion order, duplicates impossible here. */
export function toJsonText(v: J): string {
  if (v instanceof Raw) return v.text;
  if (Array.isArray(v)) return `[${v.map(toJsonText).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    return `{${Object.entries(v).map(([k, x]) => `${JSON.stringify(k)}:${toJsonText(x)}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

type Schema = Record<string, any>;

const SEMVER = fc.oneof(
  fc.tuple(fc.nat(20), fc.nat(20), fc.nat(20)).map(([a, b, c]) => `${a}.${b}.${c}`),
  fc.constantFrom('1.0.0', '1.0.0-rc.1', '2.0.0+build.5', '01.0.0', 'v1.0.0', '1.0', '9999999999999999999.0.0'),
);
const PLUGIN = fc.constantFrom('noop', 'echo', 'sleep', 'fail', 'artifact', 'exec', 'echo@1.0.0', 'missing', 'noop@x');

/** An arbitrary of values that (mostly) satisfy a JSON Schema produced by z.toJSONSchema. */
export function fromSchema(schema: Schema, root: Schema = schema, depth = 0): fc.Arbitrary<J> {
  if (schema.$ref) {
    const name = String(schema.$ref).replace('#/$defs/', '');
    return depth > 3 ? fc.constant('leaf') : fromSchema(root.$defs[name], root, depth + 1);
  }
  if (schema.anyOf) return fc.oneof(...(schema.anyOf as Schema[]).map((s) => fromSchema(s, root, depth + 1)));
  if (schema.enum) return fc.constantFrom(...(schema.enum as J[]));
  const desc = String(schema.description ?? '');
  switch (schema.type) {
    case 'object': {
      const props = (schema.properties ?? {}) as Record<string, Schema>;
      const required = new Set<string>(schema.required ?? []);
      const rec: Record<string, fc.Arbitrary<J>> = {};
      for (const [k, s] of Object.entries(props)) rec[k] = fromSchema(s, root, depth + 1);
      const fixed = fc.record(rec, { requiredKeys: [...required].filter((k) => k in rec) });
      if (schema.additionalProperties && typeof schema.additionalProperties === 'object') {
        const extra = fc.dictionary(fc.string({ maxLength: 8 }), fromSchema(schema.additionalProperties, root, depth + 1), { maxKeys: depth > 2 ? 0 : 3 });
        return fc.tuple(fixed, extra).map(([a, b]) => ({ ...b, ...a }) as J);
      }
      return fixed as fc.Arbitrary<J>;
    }
    case 'array': {
      const min = schema.minItems ?? 0;
      return fc.array(fromSchema(schema.items ?? {}, root, depth + 1), { minLength: min, maxLength: min + (depth > 2 ? 0 : 3) });
    }
    case 'string':
      if (/SemVer/i.test(desc)) return SEMVER;
      if (/Plugin name/i.test(desc)) return PLUGIN;
      if (schema.format === 'date-time') return fc.date({ min: new Date(0), max: new Date(4102444800000), noInvalidDate: true }).map((d) => d.toISOString());
      if (schema.pattern) return fc.stringMatching(new RegExp(schema.pattern));
      return fc.string({ maxLength: Math.min(schema.maxLength ?? 24, 24), minLength: schema.minLength ?? 0 });
    case 'integer':
      return fc.integer({ min: Math.max(schema.minimum ?? -1000, -1e6), max: Math.min(schema.maximum ?? 1000, 1e9) });
    case 'number':
      return fc.double({ min: schema.minimum ?? -1e6, max: schema.maximum ?? 1e6, noNaN: true, noDefaultInfinity: true });
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    default:
      return fc.oneof(fc.string({ maxLength: 8 }), fc.integer(), fc.boolean(), fc.constant(null));
  }
}

/** The schema of a zod body as JSON Schema (input side). */
export function jsonSchemaOf(body: z.ZodType): Schema {
  return z.toJSONSchema(body, { unrepresentable: 'any', io: 'input' }) as Schema;
}

// ---- hostile values ------------------------------------------------------------------------

/** Strings that have broken parsers, validators, loggers and file systems. */
export const NASTY_STRINGS = [
  '', ' ', '\u0000', 'a\u0000b', '\uD800', '\uDFFF', 'x\uDBFF', '\uDC00y', '\u202Eevil\u202C', '\u200F\u200E', '\uFEFF', '\uFEFFbom',
  '\uFFFF', '\uFFFE', '\u2028\u2029', '\r\n\r\nHTTP/1.1 200 OK', '🏳️‍🌈', 'Z̤͔ͧ̑̓ä͖̭̈̇lͮ̒ͫǫ̘', '../../etc/passwd', '..%2F..%2Fetc%2Fpasswd',
  '/dev/zero', 'C:\\Windows\\win.ini', "'; DROP TABLE runs; --", '" OR ""="', '${{ inputs.x }}', '${{ steps.a.outputs.b }}', '{{7*7}}',
  '<script>alert(1)</script>', '%s%n%x', '\\u0000', '__proto__', 'constructor', 'prototype', 'NaN', 'Infinity', '-0', 'null', 'true',
  '1e309', 'sha256:' + '0'.repeat(64), '0'.repeat(64), 'A'.repeat(64), '*', 'a'.repeat(129), 'a'.repeat(256),
];

/** Numbers at the limits, as raw JSON text (some are not valid JSON: they must be a 400). */
export const NASTY_NUMBERS = [
  '9007199254740992', '-9007199254740992', '9007199254740993', '18446744073709551616', '1e308', '-1e308', '1e309', '-1e309',
  '-0', '0.0', '-0.0', '5e-324', '1e-400', '2.5', '1E+2', '0.1e1', '123456789012345678901234567890',
  'NaN', 'Infinity', '-Infinity', '0x10', '01', '1.', '.5', '+1', '1_000',
].map((t) => new Raw(t));

/** Keys aimed at prototype pollution and mass assignment. */
export const NASTY_KEYS = [
  '__proto__', 'constructor', 'prototype', '__defineGetter__', 'hasOwnProperty', 'toString', 'valueOf', '',
  ' ', '\u0000', '\uD800', 'a'.repeat(5000), 'tenant', 'runId', 'status', 'hash', 'createdUtc', 'active', 'signedBy',
  'isAdmin', 'scope', 'stellaops:tenant', 'id', '$ref', '$schema',
];

export const nastyString: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...NASTY_STRINGS) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), maxLength: 20 }) },
  { weight: 1, arbitrary: fc.integer({ min: 200, max: 4000 }).map((n) => 'x'.repeat(n)) },
);

/** A huge string value (10 KB to 1.5 MiB: some bodies then pass the 1 MiB limit). */
const hugeString = fc.integer({ min: 10_000, max: 1_500_000 }).map((n) => new Raw(JSON.stringify('x'.repeat(n))));

/** A hostile JSON value of any type (bounded size). */
export const nastyValue: fc.Arbitrary<J> = fc.letrec<{ v: J }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    nastyString,
    hugeString,
    fc.constantFrom(...NASTY_NUMBERS),
    fc.double(),
    fc.array(tie('v'), { maxLength: 4 }),
    fc.dictionary(fc.oneof(fc.constantFrom(...NASTY_KEYS), fc.string({ maxLength: 6 })), tie('v'), { maxKeys: 4 }),
    // Nesting right around the limit of 64.
    fc.integer({ min: 60, max: 70 }).map((d) => new Raw('['.repeat(d) + ']'.repeat(d))),
    fc.integer({ min: 60, max: 70 }).map((d) => new Raw('{"a":'.repeat(d) + '1' + '}'.repeat(d))),
    // Very wide values.
    fc.constant(new Raw(`[${'1,'.repeat(20_000)}1]`)),
    fc.constant(new Raw(`{${Array.from({ length: 5000 }, (_, i) => `"k${i}":${i}`).join(',')}}`)),
  ),
})).v;

type Path = Array<string | number>;

function containers(v: J, path: Path = [], out: Path[] = []): Path[] {
  if (v instanceof Raw || v === null || typeof v !== 'object') return out;
  out.push(path);
  if (Array.isArray(v)) v.forEach((x, i) => containers(x, [...path, i], out));
  else for (const [k, x] of Object.entries(v)) containers(x, [...path, k], out);
  return out;
}

function leaves(v: J, path: Path = [], out: Path[] = []): Path[] {
  out.push(path);
  if (v instanceof Raw || v === null || typeof v !== 'object') return out;
  if (Array.isArray(v)) v.forEach((x, i) => leaves(x, [...path, i], out));
  else for (const [k, x] of Object.entries(v)) leaves(x, [...path, k], out);
  return out;
}

function clone(v: J): J {
  if (v instanceof Raw || v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map(clone);
  const o: Record<string, J> = {};
  for (const [k, x] of Object.entries(v)) Object.defineProperty(o, k, { value: clone(x), enumerable: true, writable: true, configurable: true });
  return o;
}

function setAt(root: J, path: Path, value: J): J {
  if (path.length === 0) return value;
  let cur: any = root;
  for (const k of path.slice(0, -1)) cur = cur[k];
  // defineProperty, so a "__proto__" key is an own property (as JSON.parse would make it).
  Object.defineProperty(cur, path[path.length - 1]!, { value, enumerable: true, writable: true, configurable: true });
  return root;
}

function deleteAt(root: J, path: Path): J {
  if (path.length === 0) return root;
  let cur: any = root;
  for (const k of path.slice(0, -1)) cur = cur[k];
  if (Array.isArray(cur)) cur.splice(Number(path[path.length - 1]), 1);
  else delete cur[path[path.length - 1]!];
  return root;
}

export type Mutation =
  | { kind: 'none' }
  | { kind: 'replace'; at: number; value: J }
  | { kind: 'extra'; at: number; key: string; value: J }
  | { kind: 'delete'; at: number }
  | { kind: 'wrap'; value: J };

export const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 1, arbitrary: fc.constant({ kind: 'none' as const }) },
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('replace' as const), at: fc.nat(), value: nastyValue }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('extra' as const), at: fc.nat(), key: fc.oneof(fc.constantFrom(...NASTY_KEYS), fc.string({ maxLength: 6 })), value: nastyValue }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const), at: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('wrap' as const), value: nastyValue }) },
);

export function applyMutation(base: J, m: Mutation): J {
  const v = clone(base);
  switch (m.kind) {
    case 'none':
      return v;
    case 'replace': {
      const ps = leaves(v);
      return setAt(v, ps[m.at % ps.length]!, m.value);
    }
    case 'extra': {
      const ps = containers(v).filter((p) => {
        let cur: any = v;
        for (const k of p) cur = cur[k];
        return !Array.isArray(cur);
      });
      if (ps.length === 0) return v;
      return setAt(v, [...ps[m.at % ps.length]!, m.key], m.value);
    }
    case 'delete': {
      const ps = leaves(v).filter((p) => p.length > 0);
      return ps.length ? deleteAt(v, ps[m.at % ps.length]!) : v;
    }
    case 'wrap':
      return m.value;
  }
}

/** Byte-level damage applied to the serialized body. */
export type Framing = 'plain' | 'bom' | 'nul-byte' | 'invalid-utf8' | 'overlong-utf8' | 'encoded-surrogate' | 'truncated' | 'trailing-garbage' | 'duplicate-key' | 'empty' | 'whitespace';

export const framing: fc.Arbitrary<Framing> = fc.oneof(
  { weight: 12, arbitrary: fc.constant('plain' as const) },
  { weight: 1, arbitrary: fc.constantFrom<Framing>('bom', 'nul-byte', 'invalid-utf8', 'overlong-utf8', 'encoded-surrogate', 'truncated', 'trailing-garbage', 'duplicate-key', 'empty', 'whitespace') },
);

export function frameBody(text: string, f: Framing): Buffer {
  const b = Buffer.from(text, 'utf8');
  switch (f) {
    case 'plain':
      return b;
    case 'bom':
      return Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), b]);
    case 'nul-byte':
      return Buffer.concat([b.subarray(0, 1), Buffer.from([0]), b.subarray(1)]);
    case 'invalid-utf8':
      return Buffer.concat([b.subarray(0, Math.max(0, b.length - 2)), Buffer.from([0xff, 0xfe]), b.subarray(Math.max(0, b.length - 2))]);
    case 'overlong-utf8':
      return Buffer.concat([Buffer.from('{"k":"'), Buffer.from([0xc0, 0xaf]), Buffer.from('"}')]);
    case 'encoded-surrogate':
      return Buffer.concat([Buffer.from('{"dagId":"'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('"}')]);
    case 'truncated':
      return b.subarray(0, Math.floor(b.length / 2));
    case 'trailing-garbage':
      return Buffer.concat([b, Buffer.from(' {"x":1}')]);
    case 'duplicate-key':
      return text.startsWith('{') && text.length > 2 ? Buffer.from(`{"dagId":"dup",${text.slice(1)}`) : b;
    case 'empty':
      return Buffer.alloc(0);
    case 'whitespace':
      return Buffer.from(` \t\r\n${text}\n\n`);
  }
}

export const contentType: fc.Arbitrary<string | undefined> = fc.oneof(
  { weight: 12, arbitrary: fc.constant('application/json') },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      'application/json; charset=utf-8', 'APPLICATION/JSON', 'application/json; charset=utf-16', 'application/merge-patch+json',
      'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml', '', 'application/json, text/plain',
      undefined,
    ),
  },
);

// ---- queries -------------------------------------------------------------------------------

/** Raw query-string values: valid-looking, hostile, and malformed percent-encodings. */
export const queryValue: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('', 'true', 'false', '0', '1', '50', '500', '501', '-1', '1e2', '0x10', '9007199254740993', '1e309', 'NaN', 'Infinity', '-0', ' 5 ', '5.5'),
  fc.constantFrom('queued', 'running', 'completed', 'failed', 'cancelled', 'skipped', 'COMPLETED'),
  fc.constantFrom('2026-11-28T17:17:31.123Z', '2026-02-30T00:00:00Z', '1970-01-01T00:00:00Z', '+275760-09-13T00:00:00.000Z', '9999-12-31T23:59:59.999+14:00', 'yesterday'),
  fc.constantFrom('%', '%Z', '%ZZ', '%00', '%ED%A0%80', '%C0%AF', '%FF%FE', '%2e%2e%2f', '%u0000', '%%%', '+', '%2B', '%26a%3D1', '%0d%0aSet-Cookie:%20x=1'),
  nastyString.map((s) => encodeURIComponent(s.replace(/[\uD800-\uDFFF]/g, '?'))),
  fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,20}$/),
  fc.integer({ min: 1, max: 3000 }).map((n) => 'p'.repeat(n)),
);

export const queryKey = (known: string[]): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 6, arbitrary: known.length ? fc.constantFrom(...known) : fc.constant('x') },
    { weight: 1, arbitrary: fc.constantFrom('__proto__', 'constructor', 'tenant', 'x-stella-tenant', '', '%00', 'page_size[]', 'a[b]') },
  );

/** A query string (without '?'): pairs joined raw, so malformed encodings reach the server. */
export function queryString(known: string[]): fc.Arbitrary<string> {
  return fc
    .array(fc.tuple(queryKey(known), queryValue, fc.boolean()), { maxLength: 5 })
    .map((pairs) => pairs.map(([k, v, eq]) => (eq || v ? `${k}=${v}` : k)).join('&'));
}

/** Hostile path-parameter values (encoded once by the caller, or sent raw). */
export const pathValue: fc.Arbitrary<{ value: string; raw: boolean }> = fc.oneof(
  fc.record({ value: nastyString, raw: fc.constant(false) }),
  fc.record({ value: fc.constantFrom('..%2F..%2Fetc%2Fpasswd', '%2e%2e', '%00', '%ED%A0%80', '%ZZ', 'a%2Fb', '%3Acancel', 'x:cancel', ':disable', '%20'), raw: fc.constant(true) }),
);
