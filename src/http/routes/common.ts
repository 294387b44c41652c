import { z } from 'zod';
import { ID_RE, UUID_V7_RE } from '../../core/index.js';
import { pathParam } from '../route.js';

export const Id = z.string().regex(ID_RE, 'must match ^[a-z0-9][a-z0-9._-]{0,127}$');
/** A run id: a lowercase UUIDv7. */
export const RunId = z.string().regex(UUID_V7_RE, 'must be a lowercase UUIDv7');

/** Path parameters, each with the 404 message of a value that does not fit it. */
export const RunIdParam = pathParam(RunId.clone(), 'run not found');
export const StepIdParam = pathParam(Id.clone(), 'step not found');
export const ScheduleIdParam = pathParam(Id.clone(), 'schedule not found');
export const BoolParam = z
  .enum(['true', 'false'])
  .transform((v) => v === 'true');
/** The query of a paged list (CONTRACT §4; the tokens are src/http/pagination.ts's). */
export const PageQuery = z.object({
  page_size: z.coerce.number().int().min(1).max(500).default(50),
  page_token: z.string().max(2048).optional(),
});
export const ListOf = (item: z.ZodType) =>
  z.strictObject({
    items: z.array(item),
    next_page_token: z.string().optional().meta({ description: 'Absent on the last page; pass as page_token for the next one' }),
  });
export const NDJSON = { mediaType: 'application/x-ndjson', description: 'NDJSON export with a manifest line' };
