import { randomFillSync } from 'node:crypto';

const POOL_SIZE = 8192;
const pool = Buffer.allocUnsafe(POOL_SIZE);
let poolOffset = POOL_SIZE;

/**
 * `n` cryptographically random bytes, copied out of a pool refilled 8 KiB at a time (one
 * `randomFillSync` per ~300 ids instead of one per id: ids are made on every request).
 */
export function randomBytesPooled(n: number): Buffer {
  if (n > POOL_SIZE) throw new RangeError('too many bytes');
  if (poolOffset + n > POOL_SIZE) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const out = Buffer.from(pool.subarray(poolOffset, poolOffset + n));
  poolOffset += n;
  return out;
}

/** `n` random bytes as lowercase hex. */
export function randomHex(n: number): string {
  if (poolOffset + n > POOL_SIZE) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const s = pool.toString('hex', poolOffset, poolOffset + n);
  poolOffset += n;
  return s;
}

let lastMs = 0;
let seq = 0;

/**
 * A lowercase UUIDv7 (RFC 9562): 48-bit ms timestamp, then a 12-bit counter so that ids made
 * in the same millisecond still sort in creation order, then random bits.
 *
 * @example uuidv7() // '0193a3c4-5b6e-7f00-8a1b-2c3d4e5f6a7b'
 */
export function uuidv7(now: number = Date.now()): string {
  if (now <= lastMs) {
    seq++;
    if (seq > 0xfff) {
      lastMs++;
      seq = 0;
    }
    now = lastMs;
  } else {
    lastMs = now;
    seq = 0;
  }
  const b = randomBytesPooled(16);
  b[0] = (now / 2 ** 40) & 0xff;
  b[1] = (now / 2 ** 32) & 0xff;
  b[2] = (now >>> 24) & 0xff;
  b[3] = (now >>> 16) & 0xff;
  b[4] = (now >>> 8) & 0xff;
  b[5] = now & 0xff;
  b[6] = 0x70 | ((seq >>> 8) & 0x0f);
  b[7] = seq & 0xff;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export const UUID_V7_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
export const ID_RE = /^[a-z0-9][a-z0-9._-]{0,127}$/;
export const TENANT_RE = /^[a-z0-9][a-z0-9._-]{0,63}$/;
export const HASH_RE = /^[0-9a-f]{64}$/;
