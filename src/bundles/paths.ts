/**
 * Paths inside a bundle. A path is relative, `/`-separated, and made of segments of
 * `[A-Za-z0-9._+@-]` that are neither `.` nor `..` (so no absolute path, no traversal, no
 * backslash, drive letter, control or non-ASCII character can appear). Two paths that differ
 * only in letter case are duplicates: they would collide on a case-insensitive file system.
 */
import { BundleError } from './errors.js';
import type { BundleLimits } from './limits.js';

const SEGMENT_RE = /^[A-Za-z0-9._+@-]+$/;

/**
 * Throws `BundleError('UNSAFE_PATH')` unless `path` is a safe bundle path within the limits.
 *
 * @example
 * checkBundlePath('dags/hello/1.0.0.json', limits) // ok
 * checkBundlePath('../x', limits)                  // throws UNSAFE_PATH
 */
export function checkBundlePath(path: string, limits: Pick<BundleLimits, 'maxPathBytes' | 'maxPathDepth'>): void {
  const fail = (why: string): never => {
    throw new BundleError('UNSAFE_PATH', `unsafe path ${JSON.stringify(path)}: ${why}`, { path });
  };
  if (path.length === 0) fail('empty');
  if (path.startsWith('/')) fail('absolute');
  if (Buffer.byteLength(path, 'utf8') > limits.maxPathBytes) fail(`longer than ${limits.maxPathBytes} bytes`);
  const segments = path.split('/');
  if (segments.length > limits.maxPathDepth) fail(`deeper than ${limits.maxPathDepth} segments`);
  for (const s of segments) {
    if (s === '') fail('empty segment');
    if (s === '.' || s === '..') fail(`"${s}" segment`);
    if (!SEGMENT_RE.test(s)) fail('characters outside [A-Za-z0-9._+@-]');
  }
}

/** Byte-order comparison of two bundle paths (they are ASCII, so code-unit order is byte order). */
export function comparePaths(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The folders above a path, outermost first: `a/b/c` → `['a', 'a/b']`. */
export function parentsOf(path: string): string[] {
  const segs = path.split('/');
  const out: string[] = [];
  for (let i = 1; i < segs.length; i++) out.push(segs.slice(0, i).join('/'));
  return out;
}
