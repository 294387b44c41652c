/**
 * NDJSON exports as HTTP answers: the lines of core's `ndjsonExport` (canonical records, then the
 * manifest) streamed as the response body, read from the records as the client takes them.
 */
import { ndjsonExport } from '../core/index.js';

/**
 * Streams an export as an HTTP response body, in chunks of ~64 KiB (`extend`: see core's
 * `ndjsonExport`, e.g. a signature added to the manifest).
 *
 * @example
 * return ndjsonResponse(rows.map(view), { 'content-disposition': 'attachment; filename="runs.ndjson"' });
 */
export function ndjsonResponse(
  records: Iterable<unknown> | AsyncIterable<unknown>,
  headers: Record<string, string> = {},
  extend?: (m: { count: number; sha256: string }) => Record<string, unknown>,
): Response {
  const it = ndjsonExport(records, extend);
  const enc = new TextEncoder();
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      let chunk = '';
      for (;;) {
        const n = await it.next();
        if (n.done) {
          if (chunk) controller.enqueue(enc.encode(chunk));
          controller.close();
          return;
        }
        chunk += n.value;
        if (chunk.length >= 65536) break;
      }
      controller.enqueue(enc.encode(chunk));
    },
    async cancel() {
      await it.return(undefined);
    },
  });
  return new Response(stream, {
    status: 200,
    headers: { 'content-type': 'application/x-ndjson; charset=utf-8', ...headers },
  });
}
