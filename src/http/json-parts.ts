/**
 * JSON text kept as the byte parts it is made of (a page of runs: `{"items":[`, each run's kept
 * item, the commas, the page token), so that the plain path (http/plain.ts) copies the parts
 * straight into a reused answer buffer (answer-buffers.ts) instead of joining them into a fresh
 * one per answer. A fresh 33 KB buffer per page of 50 runs is external memory V8 counts, and it
 * started a mark-compact every ≈ 2,000 pages: the page's p99 (issue #20, BENCHMARKS.md). Every
 * other writer (the Hono path, the conformance check) takes the joined bytes, which are the same.
 *
 * @example
 * const body = JsonParts.of([Buffer.from('{"items":['), item, Buffer.from(']}')]);
 * body.join().equals(Buffer.from(`{"items":[${item}]}`)); // true
 */
export class JsonParts {
  private constructor(
    readonly parts: readonly Uint8Array[],
    /** The length of the JSON text in bytes (the parts' lengths added). */
    readonly byteLength: number,
  ) {}

  static of(parts: readonly Uint8Array[]): JsonParts {
    let length = 0;
    for (const p of parts) length += p.byteLength;
    return new JsonParts(parts, length);
  }

  /** The bytes in one new buffer. */
  join(): Buffer {
    return Buffer.concat(this.parts, this.byteLength);
  }

  /** Copies the bytes to the start of `target` (at least {@link byteLength} long); returns their length. */
  copyTo(target: Uint8Array): number {
    let at = 0;
    for (const p of this.parts) {
      target.set(p, at);
      at += p.byteLength;
    }
    return at;
  }

  /** The JSON text. */
  text(): string {
    return this.join().toString('utf8');
  }
}
