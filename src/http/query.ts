/**
 * Query strings, read once for every route: a parameter the route's query schema declares as a
 * scalar must be given at most once (`?since=2&since=abc` is 400 `VALIDATION_FAILED`, never "the
 * first one wins"); an array field takes every value.
 *
 * @example
 * parseQuery(z.object({ since: z.string() }), { since: ['2'] }) // { since: '2' }
 * parseQuery(z.object({ since: z.string() }), { since: ['2', 'x'] }) // throws VALIDATION_FAILED
 */
import { z } from 'zod';
import { ApiError } from '../core/index.js';

/** The schema of an object field with optional/default/nullable wrappers taken off. */
function unwrap(s: z.ZodType): z.ZodType {
  let cur = s;
  while (cur instanceof z.ZodOptional || cur instanceof z.ZodDefault || cur instanceof z.ZodNullable) {
    cur = cur.unwrap() as z.ZodType;
  }
  return cur;
}

function isArrayField(schema: z.ZodType, key: string): boolean {
  const shape = schema instanceof z.ZodObject ? (schema.shape as Record<string, z.ZodType>) : undefined;
  const field = shape?.[key];
  return field !== undefined && unwrap(field) instanceof z.ZodArray;
}

export function parseQuery(schema: z.ZodType, queries: Record<string, string[]>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [key, values] of Object.entries(queries)) {
    if (isArrayField(schema, key)) out[key] = values;
    else if (values.length === 1) out[key] = values[0]!;
    else {
      throw new ApiError('VALIDATION_FAILED', `invalid query: query.${key}: given ${values.length} times; give it once`, {
        field: `query.${key}`,
        issues: [{ field: `query.${key}`, message: `given ${values.length} times; give it once` }],
      });
    }
  }
  return out;
}
