import { createHash } from 'node:crypto';
import canonicalizeImport from 'canonicalize';

const canonicalizeFn = canonicalizeImport as unknown as (v: unknown) => string | undefined;

/** RFC 8785 (JCS) canonical JSON text of a value. */
export function canonicalJson(value: unknown): string {
  const s = canonicalizeFn(value);
  if (s === undefined) throw new TypeError('value cannot be canonicalized');
  return s;
}

/** SHA-256 as 64 lowercase hex characters. */
export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * {@link canonicalHash} of a flat object of strings, its JCS written out directly: keys sorted by
 * UTF-16 code unit, each key and value as `JSON.stringify` writes a string — what the library
 * writes, without its recursion and per-value checks. A surrogate anywhere (JCS refuses a lone
 * one) takes the library's path, and its error.
 *
 * @example canonicalHashOfStrings({ b: 'x', a: 'y' }) === canonicalHash({ a: 'y', b: 'x' })
 */
export function canonicalHashOfStrings(o: Readonly<Record<string, string>>): string {
  const parts: string[] = [];
  for (const k of Object.keys(o).sort()) {
    const v = o[k]!;
    if (SURROGATE.test(k) || SURROGATE.test(v)) return canonicalHash(o);
    parts.push(`${JSON.stringify(k)}:${JSON.stringify(v)}`);
  }
  return sha256Hex(`{${parts.join(',')}}`);
}
const SURROGATE = /[\ud800-\udfff]/;

/** SHA-256 of the canonical JSON of a value: the hash the contract uses for JSON. */
export function canonicalHash(value: unknown): string {
  return sha256Hex(canonicalJson(value));
}
