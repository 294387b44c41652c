import type { z } from 'zod';
import { ApiError, parseJsonBounded } from '../core/index.js';

/**
 * Reads a request body up to `limit` bytes, whether or not it declares Content-Length
 * (chunked bodies are counted as they stream and cut off at the limit).
 *
 * A body that declares its length (within the limit) is read whole with `arrayBuffer()`: on
 * the Node adapter that reads the socket's chunks directly, without building a full Request and
 * a web stream over the incoming message (`body.getReader()` did: ≈ 0.5 ms of a `POST /runs`,
 * issue #20). Node's parser never delivers more than the declared length.
 */
export async function readBodyLimited(req: Request, limit: number): Promise<Uint8Array> {
  const tooLarge = () => new ApiError('PAYLOAD_TOO_LARGE', `request body exceeds ${limit} bytes`, { limit });
  const declared = req.headers.get('content-length');
  if (declared !== null && Number(declared) > limit) throw tooLarge();
  if (declared !== null) {
    const bytes = new Uint8Array(await req.arrayBuffer());
    if (bytes.byteLength > limit) throw tooLarge();
    return bytes;
  }
  if (!req.body) return new Uint8Array();
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await reader.cancel().catch(() => {});
      throw tooLarge();
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Parses a JSON body: media type, UTF-8, depth bound, then the route's schema. */
export function parseJsonBody<B>(
  bytes: Uint8Array,
  contentType: string | undefined,
  schema: z.ZodType<B>,
  maxDepth: number,
): B {
  let value: unknown = {};
  if (bytes.byteLength > 0) {
    const mt = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
    if (mt !== 'application/json' && !mt.endsWith('+json')) {
      throw new ApiError('UNSUPPORTED_MEDIA_TYPE', 'request body must be application/json');
    }
    let text: string;
    try {
      text = utf8.decode(bytes);
    } catch {
      throw new ApiError('VALIDATION_FAILED', 'request body is not valid UTF-8', { field: 'body' });
    }
    value = parseJsonBounded(text, maxDepth);
  }
  return validate(schema, value, 'body');
}

/** Validates with zod; failures are 400 VALIDATION_FAILED naming the field. */
export function validate<T>(schema: z.ZodType<T>, value: unknown, where: 'body' | 'query' | 'path' | 'header'): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issues = r.error.issues.slice(0, 20).map((i) => ({
    field: [where, ...i.path.map(String)].join('.'),
    message: i.message,
  }));
  throw new ApiError('VALIDATION_FAILED', `invalid ${where}: ${issues[0]!.field}: ${issues[0]!.message}`, {
    field: issues[0]!.field,
    issues,
  });
}
