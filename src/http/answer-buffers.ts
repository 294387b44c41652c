/**
 * Reused buffers for the answers the plain path writes from parts (json-parts.ts): an answer's
 * bytes are copied into a buffer taken here, and the buffer comes back once node has handed the
 * whole answer to the kernel (the response's `finish`). A buffer of an answer that never
 * finished (the client went away mid-write) is left to the garbage collector, never reused.
 *
 * Sizes go by powers of two from 64 KiB to 1 MiB (a page of 50 runs is ≈ 33 KB, of 500 ≈ 330 KB);
 * a larger answer gets a buffer of its own. At most {@link KEEP_BYTES} are kept free, so the
 * pool holds what the busiest moment needed, up to that bound, and nothing before the first
 * page is answered (idle RSS).
 *
 * @example
 * const out = answerBuffers.take(parts.byteLength);
 * const n = parts.copyTo(out);
 * res.once('finish', () => answerBuffers.give(out));
 * res.end(out.subarray(0, n));
 */
const MIN_BITS = 16;
const MAX_BITS = 20;
/** The free bytes kept at most, over every size. */
const KEEP_BYTES = 8 * 1024 * 1024;

export class AnswerBuffers {
  private readonly free: Buffer[][] = [];
  private freeBytes = 0;

  constructor(private readonly keepBytes = KEEP_BYTES) {
    for (let b = MIN_BITS; b <= MAX_BITS; b++) this.free[b] = [];
  }

  /** A buffer of at least `length` bytes, not used by any other answer until {@link give}n back. */
  take(length: number): Buffer {
    const bits = Math.max(MIN_BITS, Math.ceil(Math.log2(Math.max(1, length))));
    if (bits > MAX_BITS) return Buffer.allocUnsafeSlow(length);
    const kept = this.free[bits]!.pop();
    if (kept === undefined) return Buffer.allocUnsafeSlow(1 << bits);
    this.freeBytes -= kept.byteLength;
    return kept;
  }

  /** Gives back a buffer {@link take} gave, once nothing reads it any more. */
  give(buffer: Buffer): void {
    const bits = Math.log2(buffer.byteLength);
    if (!Number.isInteger(bits) || bits < MIN_BITS || bits > MAX_BITS || this.freeBytes + buffer.byteLength > this.keepBytes) return;
    this.free[bits]!.push(buffer);
    this.freeBytes += buffer.byteLength;
  }

  /** The bytes kept free now. */
  get keptBytes(): number {
    return this.freeBytes;
  }
}
