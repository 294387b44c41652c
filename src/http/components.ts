/**
 * Named schemas of the API: each becomes one entry of the OpenAPI document's
 * `components/schemas`, and every request or response schema that contains it refers to it
 * there instead of repeating it. Name a schema where it is defined, with {@link component}.
 *
 * @example
 * export const RunSchema = component('Run', z.strictObject({ runId: RunId, … }));
 */
import { z } from 'zod';
import { ERROR_STATUS } from './errors.js';

const named = new Map<z.ZodType, string>();

/** Names `schema` (a name is given once) and returns it unchanged. */
export function component<T extends z.ZodType>(name: string, schema: T): T {
  const existing = named.get(schema);
  if (existing !== undefined && existing !== name) throw new Error(`schema already named ${existing}, not ${name}`);
  if ([...named.values()].includes(name) && existing === undefined) throw new Error(`two schemas named ${name}`);
  named.set(schema, name);
  return schema;
}

/** Every named schema, as [name, schema]. */
export function namedComponents(): Array<[string, z.ZodType]> {
  return [...named].map(([s, n]) => [n, s]);
}

/** The name of `schema`, if it has one. */
export function componentName(schema: z.ZodType): string | undefined {
  return named.get(schema);
}

/** The error envelope of every error answer (CONTRACT §1). */
export const ErrorSchema = component(
  'Error',
  z.strictObject({
    error: z.strictObject({
      code: z.enum(Object.keys(ERROR_STATUS) as [keyof typeof ERROR_STATUS, ...Array<keyof typeof ERROR_STATUS>]),
      message: z.string(),
      trace_id: z.string().regex(/^[0-9a-f]{32}$/),
      details: z.record(z.string(), z.unknown()).optional(),
    }),
  }),
);
