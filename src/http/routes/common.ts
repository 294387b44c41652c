import { z } from 'zod';
import { ID_RE } from '../../core/index.js';

export const Id = z.string().regex(ID_RE, 'must match ^[a-z0-9][a-z0-9._-]{0,127}$');
export const BoolParam = z
  .enum(['true', 'false'])
  .transform((v) => v === 'true');
/** A loose object schema for documented responses. */
export const Obj = z.object({}).catchall(z.unknown());
export const ListOf = (item: z.ZodType) =>
  z.object({ items: z.array(item), next_page_token: z.string().optional() });
export const NDJSON = { mediaType: 'application/x-ndjson', description: 'NDJSON export with a manifest line' };
