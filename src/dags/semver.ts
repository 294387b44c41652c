/**
 * SemVer 2.0 helpers: validity, a total order, and a sort key whose plain byte order (SQLite
 * `BINARY` collation, `ORDER BY version_key`) is that order.
 *
 * Order: SemVer precedence (build metadata ignored). Versions of equal precedence (they can only
 * differ in build metadata, e.g. `1.0.0` and `1.0.0+b1`) are distinct versions, ordered by their
 * full string in byte order as a tie-break, so the order is total: `1.0.0 < 1.0.0+a < 1.0.0+b`.
 */
import semver from 'semver';

const NUMERIC_RE = /^[0-9]+$/;

/**
 * The SemVer 2.0 grammar as a regular expression (semver.org's), for schemas and documents.
 * {@link isSemver} is the exact check (it adds the `semver` package's limits).
 */
export const SEMVER_RE =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;

/**
 * True when `v` is a SemVer 2.0 version in canonical form: no leading `v` or `=`, no
 * surrounding spaces, build metadata allowed. (Limits of the `semver` package apply: at most 256
 * characters, major/minor/patch at most 2⁵³-1.)
 *
 * @example
 * isSemver('1.4.0-rc.1+build.7') // true
 * isSemver('v1.4.0') // false
 */
export function isSemver(v: unknown): v is string {
  if (typeof v !== 'string') return false;
  const p = semver.parse(v);
  if (!p) return false;
  const canonical = p.build.length ? `${p.version}+${p.build.join('.')}` : p.version;
  return canonical === v;
}

interface Parts {
  main: [string, string, string];
  pre: string[];
  build: string;
}

function parts(v: string): Parts {
  if (!isSemver(v)) throw new TypeError(`not a SemVer 2.0 version: ${JSON.stringify(v)}`);
  const plus = v.indexOf('+');
  const build = plus < 0 ? '' : v.slice(plus);
  const head = plus < 0 ? v : v.slice(0, plus);
  const dash = head.indexOf('-');
  const core = dash < 0 ? head : head.slice(0, dash);
  const pre = dash < 0 ? [] : head.slice(dash + 1).split('.');
  const [a = '0', b = '0', c = '0'] = core.split('.');
  return { main: [a, b, c], pre, build };
}

/** Compares two digit strings without leading zeros, of any length. */
function cmpDigits(a: string, b: string): number {
  if (a.length !== b.length) return a.length < b.length ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

function cmpIdent(a: string, b: string): number {
  const an = NUMERIC_RE.test(a);
  const bn = NUMERIC_RE.test(b);
  if (an && bn) return cmpDigits(a, b);
  if (an !== bn) return an ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Total order on SemVer 2.0 versions: precedence, then (equal precedence) the full string in
 * byte order. Numbers of any length compare numerically. Throws TypeError on an invalid version.
 *
 * @example
 * ['1.0.0', '1.0.0-rc.1', '1.0.0-alpha'].sort(compareSemver) // ['1.0.0-alpha', '1.0.0-rc.1', '1.0.0']
 */
export function compareSemver(a: string, b: string): number {
  const pa = parts(a);
  const pb = parts(b);
  for (let i = 0; i < 3; i++) {
    const c = cmpDigits(pa.main[i]!, pb.main[i]!);
    if (c) return c;
  }
  if (pa.pre.length === 0 || pb.pre.length === 0) {
    if (pa.pre.length !== pb.pre.length) return pa.pre.length === 0 ? 1 : -1;
  } else {
    const n = Math.min(pa.pre.length, pb.pre.length);
    for (let i = 0; i < n; i++) {
      const c = cmpIdent(pa.pre[i]!, pb.pre[i]!);
      if (c) return c;
    }
    if (pa.pre.length !== pb.pre.length) return pa.pre.length < pb.pre.length ? -1 : 1;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * A number as an order-preserving, prefix-free string: the count of digits of the length (one
 * char), the length, then the digits. Works for numbers of any length.
 */
function numKey(digits: string): string {
  const len = String(digits.length);
  return `${len.length}${len}${digits}`;
}

/**
 * A printable-ASCII key whose byte order equals {@link compareSemver}.
 *
 * Layout: `numKey(major) numKey(minor) numKey(patch)`, then `1` for a release or `0` + the
 * pre-release identifiers + `0` for a pre-release (so a release sorts above its pre-releases),
 * then the build suffix (`+…`) as the tie-break. Each identifier is `1` + `numKey(n)` when
 * numeric (numbers sort below words and compare numerically) or `2` + the text + `!` when
 * alphanumeric (`!` sorts below every identifier character, so `a` < `ab`); the closing `0`
 * sorts below `1` and `2`, so a shorter list that is a prefix sorts first. The precedence part
 * is prefix-free, so appending the build suffix only breaks ties.
 *
 * @example
 * semverKey('1.10.0') > semverKey('1.9.0') // true
 * semverKey('1.0.0') > semverKey('1.0.0-rc.1') // true
 */
export function semverKey(v: string): string {
  const p = parts(v);
  let key = p.main.map(numKey).join('');
  if (p.pre.length === 0) key += '1';
  else {
    key += '0';
    for (const id of p.pre) key += NUMERIC_RE.test(id) ? `1${numKey(id)}` : `2${id}!`;
    key += '0';
  }
  return key + p.build;
}
