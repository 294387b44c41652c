/**
 * A minimal POSIX ustar writer and a strict reader: regular files and folders only.
 *
 * Writer: entries sorted by path (byte order), a folder entry for every parent folder, mode
 * 0644 (files) / 0755 (folders), uid/gid 0, empty uname/gname, mtime 0, no pax/GNU
 * extensions (paths over 100 bytes use the ustar `prefix` field), then two zero blocks and
 * no record padding. The same files always give the same bytes.
 *
 * Reader: refuses anything the writer would not produce in substance: a bad header checksum,
 * a magic other than `ustar\0` + `00`, an entry type other than file (`0`, or NUL) or folder
 * (`5`) — symlinks, hardlinks, devices, FIFOs, pax and GNU headers are refused by name —,
 * unsafe or duplicate paths, a path used as both file and folder, non-octal numbers, data past
 * the end, non-zero bytes after the end-of-archive marker, and anything over the limits.
 * Modes, owners and times are ignored (the installer sets its own).
 */
import { BundleError } from './errors.js';
import type { BundleLimits } from './limits.js';
import { checkBundlePath, comparePaths, parentsOf } from './paths.js';

const BLOCK = 512;

export interface TarFile {
  path: string;
  data: Buffer;
}

export interface TarEntry {
  path: string;
  type: 'file' | 'dir';
  /** Empty for a folder. */
  data: Buffer;
}

/** One raw header, for tests that need archives the writer refuses to make. @internal */
export interface RawTarEntry {
  /** Written as is (split into prefix/name when longer than 100 bytes). */
  name: string;
  /** `'0'` file, `'5'` folder, `'2'` symlink, `'1'` hardlink, … */
  typeflag: string;
  data?: Buffer;
  linkname?: string;
  mode?: number;
}

function writeString(block: Buffer, offset: number, length: number, value: string): void {
  const bytes = Buffer.from(value, 'utf8');
  if (bytes.length > length) throw new Error(`tar field too long: ${value}`);
  bytes.copy(block, offset);
}

function writeOctal(block: Buffer, offset: number, length: number, value: number): void {
  // length-1 octal digits, zero padded, then NUL.
  const digits = value.toString(8).padStart(length - 1, '0');
  if (digits.length > length - 1) throw new Error(`tar number too large: ${value}`);
  block.write(digits + '\0', offset, length, 'ascii');
}

/** Splits a path into ustar (prefix, name): name ≤ 100 bytes, prefix ≤ 155 bytes. */
function splitName(path: string): { prefix: string; name: string } {
  if (Buffer.byteLength(path) <= 100) return { prefix: '', name: path };
  // The longest prefix that fits, so the split is unique and deterministic.
  for (let i = Math.min(path.length - 1, 155); i > 0; i--) {
    if (path[i] !== '/') continue;
    const prefix = path.slice(0, i);
    const name = path.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(name) <= 100 && name.length > 0) return { prefix, name };
  }
  throw new BundleError('UNSAFE_PATH', `path cannot be stored in a ustar header (a name part over 100 bytes): ${path}`, { path });
}

/** Encodes one header block (plus data and padding). @internal */
export function encodeEntry(e: RawTarEntry): Buffer {
  const data = e.data ?? Buffer.alloc(0);
  const pad = (BLOCK - (data.length % BLOCK)) % BLOCK;
  return Buffer.concat([encodeHeader(e, data.length), data, Buffer.alloc(pad)]);
}

/**
 * The 512-byte header of an entry of `size` bytes, as the writer makes it (for writers that
 * stream the data themselves, then pad it to a whole block with {@link tarPadding}).
 */
export function encodeHeader(e: Omit<RawTarEntry, 'data'>, size: number): Buffer {
  const h = Buffer.alloc(BLOCK);
  const { prefix, name } = splitName(e.name);
  writeString(h, 0, 100, name);
  writeOctal(h, 100, 8, e.mode ?? (e.typeflag === '5' ? 0o755 : 0o644));
  writeOctal(h, 108, 8, 0); // uid
  writeOctal(h, 116, 8, 0); // gid
  writeOctal(h, 124, 12, size);
  writeOctal(h, 136, 12, 0); // mtime
  h.fill(0x20, 148, 156); // checksum placeholder: 8 spaces
  writeString(h, 156, 1, e.typeflag);
  writeString(h, 157, 100, e.linkname ?? '');
  writeString(h, 257, 6, 'ustar\0');
  writeString(h, 263, 2, '00');
  // uname (265, 32) and gname (297, 32) stay empty.
  writeOctal(h, 329, 8, 0); // devmajor
  writeOctal(h, 337, 8, 0); // devminor
  writeString(h, 345, 155, prefix);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'ascii');
  return h;
}

/** Zero bytes that pad `size` bytes of entry data to a whole block. */
export function tarPadding(size: number): Buffer {
  return Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK);
}

/** The end-of-archive marker: two zero blocks. */
export const TAR_END = Buffer.alloc(2 * BLOCK);

/**
 * A deterministic ustar archive of `files` (plus their parent folders), sorted by path.
 * Throws on an unsafe or duplicate path.
 *
 * @example
 * writeTar([{ path: 'a/b.txt', data: Buffer.from('hi') }]) // folder 'a/', then 'a/b.txt', then the end marker
 */
export function writeTar(files: readonly TarFile[], limits: Pick<BundleLimits, 'maxPathBytes' | 'maxPathDepth'>): Buffer {
  const entries = new Map<string, TarEntry>();
  const lower = new Set<string>();
  const add = (e: TarEntry) => {
    const existing = entries.get(e.path);
    if (existing) {
      if (existing.type === 'dir' && e.type === 'dir') return;
      throw new BundleError('DUPLICATE_PATH', `duplicate path ${e.path}`, { path: e.path });
    }
    if (lower.has(e.path.toLowerCase())) throw new BundleError('DUPLICATE_PATH', `path ${e.path} differs from another only in letter case`, { path: e.path });
    lower.add(e.path.toLowerCase());
    entries.set(e.path, e);
  };
  for (const f of files) {
    checkBundlePath(f.path, limits);
    for (const p of parentsOf(f.path)) add({ path: p, type: 'dir', data: Buffer.alloc(0) });
    add({ path: f.path, type: 'file', data: f.data });
  }
  const sorted = [...entries.values()]
    .map((e) => ({ key: e.type === 'dir' ? `${e.path}/` : e.path, e }))
    .sort((a, b) => comparePaths(a.key, b.key));
  const chunks = sorted.map(({ key, e }) => encodeEntry({ name: key, typeflag: e.type === 'dir' ? '5' : '0', data: e.data }));
  return Buffer.concat([...chunks, TAR_END]);
}

/** Writes raw entries (no checks, no sorting) followed by the end marker. @internal (tests) */
export function writeRawTar(entries: readonly RawTarEntry[]): Buffer {
  return Buffer.concat([...entries.map(encodeEntry), TAR_END]);
}

function invalid(message: string, details: Record<string, unknown> = {}): BundleError {
  return new BundleError('ARCHIVE_INVALID', message, details);
}

/** A NUL-terminated field: the bytes up to the first NUL, which must be followed only by NULs. */
function readString(h: Buffer, offset: number, length: number, field: string): string {
  const raw = h.subarray(offset, offset + length);
  const nul = raw.indexOf(0);
  const end = nul === -1 ? length : nul;
  for (let i = end; i < length; i++) if (raw[i] !== 0) throw invalid(`tar header field ${field} has bytes after its terminator`);
  const bytes = raw.subarray(0, end);
  for (const b of bytes) if (b < 0x20 || b > 0x7e) throw invalid(`tar header field ${field} has a non-printable or non-ASCII byte`);
  return bytes.toString('ascii');
}

/** An octal number field (leading spaces/zeros, digits, then NULs/spaces). */
function readOctal(h: Buffer, offset: number, length: number, field: string): number {
  const raw = h.subarray(offset, offset + length).toString('latin1');
  const m = /^ *([0-7]+)[ \0]*$/.exec(raw);
  if (!m) throw invalid(`tar header field ${field} is not an octal number`);
  const n = parseInt(m[1]!, 8);
  if (!Number.isSafeInteger(n)) throw invalid(`tar header field ${field} is too large`);
  return n;
}

const TYPE_NAMES: Record<string, string> = {
  '1': 'hardlink',
  '2': 'symlink',
  '3': 'character device',
  '4': 'block device',
  '6': 'FIFO',
  '7': 'contiguous file',
  x: 'pax extended header',
  g: 'pax global header',
  L: 'GNU long name',
  K: 'GNU long link',
};

function isZero(buf: Buffer, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (buf[i] !== 0) return false;
  return true;
}

/**
 * Reads a whole ustar archive held in memory, strictly (see the module comment). Entries come
 * back in archive order; folder paths have no trailing slash.
 *
 * @example
 * readTar(writeTar(files, limits), limits).filter((e) => e.type === 'file')
 */
export function readTar(buf: Buffer, limits: BundleLimits): TarEntry[] {
  const entries: TarEntry[] = [];
  const types = new Map<string, 'file' | 'dir'>();
  const lower = new Set<string>();
  let off = 0;
  for (;;) {
    if (off + BLOCK > buf.length) throw invalid('tar archive is truncated (no end-of-archive marker)');
    if (isZero(buf, off, off + BLOCK)) {
      if (off + 2 * BLOCK > buf.length || !isZero(buf, off + BLOCK, off + 2 * BLOCK)) throw invalid('tar archive has a lone zero block');
      if (!isZero(buf, off + 2 * BLOCK, buf.length)) throw invalid('tar archive has data after its end-of-archive marker');
      break;
    }
    if (entries.length >= limits.maxEntries) {
      throw new BundleError('LIMIT_EXCEEDED', `bundle has more than ${limits.maxEntries} entries`, { limit: 'maxEntries' });
    }
    const { path, type, size } = decodeHeader(buf.subarray(off, off + BLOCK), off, limits);
    const start = off + BLOCK;
    const end = start + size;
    if (end > buf.length) throw invalid(`${path}: data runs past the end of the archive`, { path });
    if (types.has(path) || lower.has(path.toLowerCase())) {
      throw new BundleError('DUPLICATE_PATH', `${path}: appears more than once (letter case ignored)`, { path });
    }
    types.set(path, type);
    lower.add(path.toLowerCase());
    entries.push({ path, type, data: type === 'file' ? buf.subarray(start, end) : Buffer.alloc(0) });
    off = start + Math.ceil(size / BLOCK) * BLOCK;
  }
  for (const e of entries) {
    for (const p of parentsOf(e.path)) {
      if (types.get(p) === 'file') throw new BundleError('DUPLICATE_PATH', `${p} is both a file and a folder`, { path: p });
    }
  }
  return entries;
}

/**
 * Decodes and checks one header block (found at byte `off`, for messages) the way
 * {@link readTar} does: checksum, ustar magic, entry type (file or folder only), octal fields,
 * a safe path within the limits, a file size within `maxFileBytes`.
 *
 * @example
 * const { path, type, size } = decodeHeader(block, 0, limits);
 */
export function decodeHeader(h: Buffer, off: number, limits: BundleLimits): { path: string; type: 'file' | 'dir'; size: number } {
  const stored = readOctal(h, 148, 8, 'chksum');
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i]!;
  if (sum !== stored) throw invalid(`tar header checksum mismatch at offset ${off}`, { offset: off });
  if (h.toString('latin1', 257, 263) !== 'ustar\0' || h.toString('latin1', 263, 265) !== '00') {
    throw invalid(`tar entry at offset ${off} is not a POSIX ustar header`, { offset: off });
  }
  const name = readString(h, 0, 100, 'name');
  const prefix = readString(h, 345, 155, 'prefix');
  const rawPath = prefix ? `${prefix}/${name}` : name;
  const flag = String.fromCharCode(h[156]!);
  let type: 'file' | 'dir';
  if (flag === '0' || h[156] === 0) type = 'file';
  else if (flag === '5') type = 'dir';
  else {
    const what = TYPE_NAMES[flag] ?? `entry type ${JSON.stringify(flag)}`;
    throw new BundleError('UNSUPPORTED_ENTRY', `${rawPath}: ${what} entries are not allowed (only files and folders)`, { path: rawPath, typeflag: flag });
  }
  const size = readOctal(h, 124, 12, 'size');
  if (type === 'dir' && size !== 0) throw invalid(`${rawPath}: folder entry with a size`, { path: rawPath });
  if (size > limits.maxFileBytes) {
    throw new BundleError('LIMIT_EXCEEDED', `${rawPath}: file larger than ${limits.maxFileBytes} bytes`, { path: rawPath, limit: 'maxFileBytes' });
  }
  let path = rawPath;
  if (type === 'dir' && path.endsWith('/')) path = path.slice(0, -1);
  checkBundlePath(path, limits);
  return { path, type, size };
}

