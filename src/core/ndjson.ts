import { createHash } from 'node:crypto';
import { canonicalJson } from './hash.js';

/** The last line of an export: what it holds, and anything `extend` added (a signature). */
export interface ExportManifest {
  count: number;
  sha256: string;
  [extra: string]: unknown;
}

/**
 * NDJSON export lines (CONTRACT §4): one canonical JSON object per line, then
 * `{"manifest":{"count":N,"sha256":"<hex of all bytes before>"}}`. Every line ends with `\n`.
 * The same records always give the same bytes. `extend` may add fields to the manifest from
 * its count and hash (a signed export adds `signature`). The records may come from a store page
 * by page (`AsyncIterable`: a PostgreSQL read is a round trip) or from memory (`Iterable`).
 *
 * @example
 * for await (const line of ndjsonExport(rows.map(view))) out.write(line);
 */
export async function* ndjsonExport(
  records: Iterable<unknown> | AsyncIterable<unknown>,
  extend?: (m: { count: number; sha256: string }) => Record<string, unknown>,
): AsyncGenerator<string> {
  const hash = createHash('sha256');
  let count = 0;
  for await (const r of records) {
    const line = canonicalJson(r) + '\n';
    hash.update(line);
    count++;
    yield line;
  }
  const manifest = { count, sha256: hash.digest('hex') };
  yield canonicalJson({ manifest: { ...extend?.(manifest), ...manifest } }) + '\n';
}

/** Checks an export's manifest line; returns the records. Throws on any mismatch. */
export function parseNdjsonExport(text: string): unknown[] {
  return readNdjsonExport(text).records;
}

/**
 * Checks an export's manifest line (count and SHA-256 of every byte before it); returns the
 * records and the manifest (with any extra field, such as a signature, for the caller to check).
 * Throws on any mismatch.
 *
 * @example
 * const { records, manifest } = readNdjsonExport(readFileSync(file, 'utf8'));
 */
export function readNdjsonExport(text: string): { records: unknown[]; manifest: ExportManifest } {
  if (!text.endsWith('\n')) throw new Error('export does not end with a newline');
  const lines = text.slice(0, -1).split('\n');
  const last = lines.pop();
  const manifest = last ? (JSON.parse(last) as { manifest?: ExportManifest }).manifest : undefined;
  if (!manifest || typeof manifest !== 'object') throw new Error('export has no manifest line');
  const body = lines.map((l) => l + '\n').join('');
  const digest = createHash('sha256').update(body).digest('hex');
  if (digest !== manifest.sha256 || lines.length !== manifest.count) {
    throw new Error('export manifest does not match its content');
  }
  return { records: lines.map((l) => JSON.parse(l)), manifest };
}

/**
 * A whole export as one string (small exports: tests, a signed file written at once).
 *
 * @example
 * writeFileSync(file, await ndjsonText(records));
 */
export async function ndjsonText(
  records: Iterable<unknown> | AsyncIterable<unknown>,
  extend?: (m: { count: number; sha256: string }) => Record<string, unknown>,
): Promise<string> {
  let text = '';
  for await (const line of ndjsonExport(records, extend)) text += line;
  return text;
}
