/**
 * Deterministic gzip and a strict, bounded gunzip.
 *
 * Node's `gzipSync` writes a 10-byte header with MTIME 0, no name, and an OS byte of the
 * platform it runs on (3 on Linux, 19 on macOS, …); the deflate data depends only on the
 * input, the options and the zlib build (Node bundles Chromium's zlib). We pin the options
 * (level 9, windowBits 15, memLevel 8, default strategy) and overwrite the OS byte with 255
 * ("unknown", RFC 1952), so a given Node release produces the same bytes on every platform.
 * Nothing the verifier checks depends on the compressed bytes: the signed manifest covers the
 * content, so a bundle made by another Node release verifies just the same.
 *
 * The reader accepts exactly one gzip member with FLG 0 (no name, comment, extra field or
 * header CRC), MTIME 0 and OS 255, inflates it with a hard output cap (zip-bomb guard), and
 * checks that the file's last 8 bytes are the CRC-32 and length of everything inflated, which
 * rules out trailing data and concatenated members.
 */
import { Transform } from 'node:stream';
import { constants, crc32, createGzip, gunzipSync, gzipSync } from 'node:zlib';
import { BundleError } from './errors.js';

export const GZIP_OS_UNKNOWN = 0xff;

const GZIP_OPTIONS = { level: 9, windowBits: 15, memLevel: 8, strategy: constants.Z_DEFAULT_STRATEGY } as const;

/**
 * The gzip stream of `data`, byte-for-byte reproducible.
 *
 * @example
 * gzipDeterministic(tar).equals(gzipDeterministic(tar)) // true
 */
export function gzipDeterministic(data: Buffer): Buffer {
  const out = gzipSync(data, GZIP_OPTIONS);
  if (out[0] !== 0x1f || out[1] !== 0x8b || out[3] !== 0 || out.readUInt32LE(4) !== 0) {
    throw new Error('unexpected gzip header from node:zlib');
  }
  out[9] = GZIP_OS_UNKNOWN;
  return out;
}

function invalid(message: string): BundleError {
  return new BundleError('ARCHIVE_INVALID', message);
}

/**
 * Inflates a bundle's gzip stream, at most `maxOutputBytes`. Throws
 * `BundleError('ARCHIVE_INVALID')` for anything but one well-formed member as written by
 * {@link gzipDeterministic}, `BundleError('LIMIT_EXCEEDED')` past the cap.
 *
 * @example
 * const tar = gunzipStrict(bytes, 256 * 1024 * 1024);
 */
export function gunzipStrict(bytes: Uint8Array, maxOutputBytes: number): Buffer {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < 18) throw invalid('not a gzip file');
  checkGzipHeader(buf);
  let out: Buffer;
  try {
    out = gunzipSync(buf, { maxOutputLength: maxOutputBytes });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError) {
      throw new BundleError('LIMIT_EXCEEDED', `bundle unpacks to more than ${maxOutputBytes} bytes`, { limit: 'maxUnpackedBytes' });
    }
    throw invalid(`corrupt gzip stream (${err.code ?? err.message})`);
  }
  const crc = buf.readUInt32LE(buf.length - 8);
  const isize = buf.readUInt32LE(buf.length - 4);
  if (crc !== crc32(out) || isize !== out.length % 2 ** 32) {
    throw invalid('gzip stream has trailing data or more than one member');
  }
  return out;
}

/**
 * Checks the first 10 bytes of a gzip stream are the header {@link gzipDeterministic} writes
 * (deflate, no flags, MTIME 0, OS 255); throws `BundleError('ARCHIVE_INVALID')` otherwise.
 */
export function checkGzipHeader(buf: Buffer): void {
  if (buf.length < 10 || buf[0] !== 0x1f || buf[1] !== 0x8b) throw invalid('not a gzip file');
  if (buf[2] !== 8) throw invalid('gzip compression method is not deflate');
  if (buf[3] !== 0) throw invalid('gzip header has flags set (name, comment, extra field or header CRC): not written by bundle create');
  if (buf.readUInt32LE(4) !== 0) throw invalid('gzip header has a modification time: not written by bundle create');
  if (buf[8] !== 0 && buf[8] !== 2 && buf[8] !== 4) throw invalid('gzip header has an invalid XFL byte');
  if (buf[9] !== GZIP_OS_UNKNOWN) throw invalid('gzip header OS byte is not 255: not written by bundle create');
}

/**
 * A streaming gzip with the header of {@link gzipDeterministic} (MTIME 0, OS 255), for data
 * too large to hold in memory: the compressor and the header fix, to put in a pipeline in
 * that order. `level` trades speed for size (the other options are pinned).
 *
 * @example
 * await pipeline(tarStream, ...gzipStream(1), createWriteStream(file));
 */
export function gzipStream(level: number = GZIP_OPTIONS.level): [Transform, Transform] {
  let seen = 0;
  const patch = new Transform({
    transform(chunk: Buffer, _enc, done) {
      if (seen <= 9 && seen + chunk.length > 9) chunk[9 - seen] = GZIP_OS_UNKNOWN;
      seen += chunk.length;
      done(null, chunk);
    },
  });
  return [createGzip({ ...GZIP_OPTIONS, level }), patch];
}
