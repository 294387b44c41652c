import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import semver from 'semver';
import { compareSemver, isSemver, semverKey } from './semver.js';

const byKey = (a: string, b: string) => {
  const ka = semverKey(a);
  const kb = semverKey(b);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
};

// SemVer 2.0 §11 example, in ascending precedence.
const SPEC_ORDER = [
  '1.0.0-alpha',
  '1.0.0-alpha.1',
  '1.0.0-alpha.beta',
  '1.0.0-beta',
  '1.0.0-beta.2',
  '1.0.0-beta.11',
  '1.0.0-rc.1',
  '1.0.0',
  '1.0.1',
  '1.2.0',
  '1.10.0',
  '2.0.0',
  '10.0.0',
];

test('isSemver accepts canonical SemVer 2.0 only', () => {
  for (const v of ['0.0.0', '1.2.3-rc.1', '1.2.3+build.007', '1.2.3-0.a-b.3+x-y', '1.0.0-x.7.z.92']) assert.ok(isSemver(v), v);
  for (const v of ['v1.2.3', '=1.2.3', ' 1.2.3', '1.2', '01.2.3', '1.2.3-01', '1.2.3-', '1.2.3+', '1.2.3-a..b', '', 1, null]) {
    assert.equal(isSemver(v), false, String(v));
  }
});

test('the spec example sorts the same by compareSemver and by semverKey', () => {
  const shuffled = [...SPEC_ORDER].reverse();
  assert.deepEqual([...shuffled].sort(compareSemver), SPEC_ORDER);
  assert.deepEqual([...shuffled].sort(byKey), SPEC_ORDER);
  assert.deepEqual(
    shuffled.map(semverKey).sort(),
    SPEC_ORDER.map(semverKey),
    'plain string sort of keys (SQLite BINARY order)',
  );
});

test('build metadata: equal precedence, distinct versions ordered by full string', () => {
  const vs = ['1.0.0+b', '1.0.0', '1.0.0+a.10', '1.0.0+a.9', '1.0.0-rc.1+z', '1.0.0-rc.1'];
  const want = ['1.0.0-rc.1', '1.0.0-rc.1+z', '1.0.0', '1.0.0+a.10', '1.0.0+a.9', '1.0.0+b'];
  assert.deepEqual([...vs].sort(compareSemver), want);
  assert.deepEqual([...vs].sort(byKey), want);
  assert.equal(semver.compare('1.0.0+a', '1.0.0+b'), 0);
});

test('numbers of any length compare numerically (pre-release identifiers)', () => {
  const big = '1.0.0-rc.123456789012345678901234567890';
  const bigger = '1.0.0-rc.123456789012345678901234567891';
  assert.equal(compareSemver(big, bigger), -1);
  assert.ok(semverKey(big) < semverKey(bigger));
  assert.ok(semverKey('1.0.0-rc.99') < semverKey(big));
  assert.ok(semverKey(bigger) < semverKey('1.0.0-rc.a'), 'numeric below alphanumeric');
  assert.ok(semverKey('9007199254740991.0.0') > semverKey('999.0.0'));
  assert.throws(() => semverKey('v1.0.0'), TypeError);
});

// Arbitraries: small alphabets so that collisions, prefixes and ties are frequent.
const num = fc.oneof(fc.constantFrom('0', '1', '2', '9', '10', '11', '99', '100'), fc.nat({ max: 2 ** 40 }).map(String));
const alnum = fc.oneof(
  fc.constantFrom('a', 'b', 'ab', 'alpha', 'beta', 'rc', 'A', 'Z', '-', 'a-1', '0a', '1-', 'x9'),
  fc.stringMatching(/^[0-9A-Za-z-]{1,6}$/).filter((s) => !/^[0-9]+$/.test(s)),
);
const ident = fc.oneof(num, alnum);
const build = fc.array(fc.stringMatching(/^[0-9A-Za-z-]{1,4}$/), { minLength: 1, maxLength: 3 });
const version = fc
  .record({
    major: num,
    minor: fc.constantFrom('0', '1', '10'),
    patch: fc.constantFrom('0', '2'),
    pre: fc.option(fc.array(ident, { minLength: 1, maxLength: 4 }), { nil: undefined }),
    build: fc.option(build, { nil: undefined }),
  })
  .map(
    ({ major, minor, patch, pre, build: b }) =>
      `${major}.${minor}.${patch}${pre ? `-${pre.join('.')}` : ''}${b ? `+${b.join('.')}` : ''}`,
  );

test('property: generated versions are valid per the semver package', () => {
  fc.assert(fc.property(version, (v) => isSemver(v) && semver.valid(v) !== null));
});

test('property: compareSemver agrees with semver.compare, tie-broken by the full string', () => {
  fc.assert(
    fc.property(version, version, (a, b) => {
      const c = compareSemver(a, b);
      const s = semver.compare(a, b);
      if (s !== 0) return c === s;
      return c === (a < b ? -1 : a > b ? 1 : 0);
    }),
    { numRuns: 5000 },
  );
});

test('property: key order equals compareSemver order (pairs and whole sorts)', () => {
  fc.assert(
    fc.property(version, version, (a, b) => Math.sign(byKey(a, b)) === Math.sign(compareSemver(a, b))),
    { numRuns: 5000 },
  );
  fc.assert(
    fc.property(fc.array(version, { maxLength: 40 }), (vs) => {
      const byCompare = [...vs].sort(compareSemver);
      const keys = vs.map((v) => [semverKey(v), v] as const).sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
      assert.deepEqual(
        keys.map((k) => k[1]),
        byCompare,
      );
      // Keys are injective: equal keys only for equal versions.
      return new Set(vs.map(semverKey)).size === new Set(vs).size;
    }),
    { numRuns: 1000 },
  );
});

test('property: keys are printable ASCII (safe for SQLite BINARY / byte order)', () => {
  fc.assert(fc.property(version, (v) => /^[\x21-\x7e]+$/.test(semverKey(v))));
});
