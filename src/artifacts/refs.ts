/**
 * How records name artifacts (docs/OPERATIONS.md, "what keeps an artifact"): any 64-hex
 * SHA-256 in a run's inputs, a step's outputs or a DAG definition — bare or as `sha256:<hex>`,
 * anywhere in the JSON text (a value, part of a string, a key) — names the artifact with that
 * hash if the tenant owns one. Reading the text rather than known fields keeps artifacts that a
 * plugin reports under any name (`hash`, `stdoutHash`, `report: "sha256:…"`), at the price of
 * keeping an artifact whose hash merely appears in a record (the safe side).
 *
 * @example
 * namedHashes('{"hash":"ab…(64)","x":"sha256:cd…(64)"}') // ['ab…', 'cd…']
 */
const HEX64 = /(?<![0-9a-fA-F])[0-9a-f]{64}(?![0-9a-fA-F])/g;

/** The distinct 64-hex hashes a text names (none when it is too short to hold one). */
export function namedHashes(text: string | null | undefined): string[] {
  if (!text || text.length < 64) return [];
  const found = text.match(HEX64);
  return found ? [...new Set(found)] : [];
}
