import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { BundleError } from '../../src/bundles/errors.js';
import { gunzipStrict, gzipDeterministic } from '../../src/bundles/gzip.js';
import { bundleLimits } from '../../src/bundles/limits.js';
import { encodeEntry, readTar, TAR_END, writeRawTar, writeTar } from '../../src/bundles/tar.js';
import { skipOutsideCi } from '../helpers/tools.js';

const limits = bundleLimits();

function refused(fn: () => unknown, reason: string, match?: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof BundleError, `expected a BundleError, got ${String(e)}`);
    assert.equal(e.reason, reason, e.message);
    if (match) assert.match(e.message, match);
    return true;
  });
}

const files = [
  { path: 'b/two.txt', data: Buffer.from('two') },
  { path: 'a.txt', data: Buffer.from('one') },
  { path: `deep/${'d'.repeat(90)}/${'f'.repeat(90)}.txt`, data: Buffer.alloc(1500, 7) },
];

test('writeTar is deterministic, sorted, with parent folders, and reads back', () => {
  const t1 = writeTar(files, limits);
  const t2 = writeTar([...files].reverse(), limits);
  assert.ok(t1.equals(t2));
  const entries = readTar(t1, limits);
  assert.deepEqual(
    entries.map((e) => `${e.type}:${e.path}`),
    ['file:a.txt', 'dir:b', 'file:b/two.txt', 'dir:deep', `dir:deep/${'d'.repeat(90)}`, `file:${files[2]!.path}`],
  );
  assert.ok(entries.find((e) => e.path === files[2]!.path)!.data.equals(files[2]!.data));
  assert.equal(t1.length % 512, 0);
  assert.ok(t1.subarray(t1.length - 1024).equals(TAR_END));
});

test('GNU tar reads the archive: modes, owners, mtime 0', (t) => {
  let version = '';
  try {
    version = execFileSync('tar', ['--version'], { encoding: 'utf8' });
  } catch {
    return skipOutsideCi(t, 'no tar on this machine');
  }
  if (!/GNU tar/.test(version)) return skipOutsideCi(t, 'not GNU tar');
  const dir = mkdtempSync(join(tmpdir(), 'orch-tar-'));
  try {
    writeFileSync(join(dir, 'x.tgz'), gzipDeterministic(writeTar(files, limits)));
    const listing = execFileSync('tar', ['--numeric-owner', '-tvzf', join(dir, 'x.tgz')], { encoding: 'utf8', env: { ...process.env, TZ: 'UTC' } });
    const lines = listing.trim().split('\n');
    assert.equal(lines.length, 6);
    assert.match(lines[0]!, /^-rw-r--r-- 0\/0 +3 1970-01-01 00:00 a\.txt$/);
    assert.match(lines[1]!, /^drwxr-xr-x 0\/0 +0 1970-01-01 00:00 b\/$/);
    execFileSync('tar', ['-xzf', join(dir, 'x.tgz'), '-C', dir]);
    assert.equal(readFileSync(join(dir, files[2]!.path)).length, 1500);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the reader refuses unsafe and unsupported entries by name', () => {
  const file = (name: string, typeflag = '0', extra: object = {}) => ({ name, typeflag, data: Buffer.from('x'), ...extra });
  refused(() => readTar(writeRawTar([file('../x')]), limits), 'UNSAFE_PATH', /"\.\." segment/);
  refused(() => readTar(writeRawTar([file('a/../../x')]), limits), 'UNSAFE_PATH');
  refused(() => readTar(writeRawTar([file('/etc/passwd')]), limits), 'UNSAFE_PATH', /absolute/);
  refused(() => readTar(writeRawTar([file('./a')]), limits), 'UNSAFE_PATH');
  refused(() => readTar(writeRawTar([file('a//b')]), limits), 'UNSAFE_PATH');
  refused(() => readTar(writeRawTar([file('a\\b')]), limits), 'UNSAFE_PATH');
  refused(() => readTar(writeRawTar([file('C:x')]), limits), 'UNSAFE_PATH');
  refused(() => readTar(writeRawTar([{ name: 'link', typeflag: '2', linkname: '/etc/passwd' }]), limits), 'UNSUPPORTED_ENTRY', /symlink/);
  refused(() => readTar(writeRawTar([file('a'), { name: 'hard', typeflag: '1', linkname: 'a' }]), limits), 'UNSUPPORTED_ENTRY', /hardlink/);
  refused(() => readTar(writeRawTar([{ name: 'dev', typeflag: '3' }]), limits), 'UNSUPPORTED_ENTRY', /device/);
  refused(() => readTar(writeRawTar([{ name: 'fifo', typeflag: '6' }]), limits), 'UNSUPPORTED_ENTRY', /FIFO/);
  refused(() => readTar(writeRawTar([file('PaxHeader', 'x'), file('a')]), limits), 'UNSUPPORTED_ENTRY', /pax/);
  refused(() => readTar(writeRawTar([file('././@LongLink', 'L')]), limits), 'UNSUPPORTED_ENTRY', /GNU/);
  refused(() => readTar(writeRawTar([file('a'), file('a')]), limits), 'DUPLICATE_PATH');
  refused(() => readTar(writeRawTar([file('Readme'), file('README')]), limits), 'DUPLICATE_PATH');
  refused(() => readTar(writeRawTar([file('a'), file('a/b')]), limits), 'DUPLICATE_PATH', /both a file and a folder/);
  refused(() => readTar(writeRawTar([file(`${'p'.repeat(155)}/${'n'.repeat(100)}`)]), limits), 'UNSAFE_PATH', /longer than 255 bytes/);
  refused(() => readTar(writeRawTar([file('x/'.repeat(20) + 'f')]), limits), 'UNSAFE_PATH', /deeper than 16/);
  refused(() => writeTar([{ path: 'a'.repeat(120), data: Buffer.from('x') }], limits), 'UNSAFE_PATH', /ustar/);
});

test('the reader refuses damaged archives', () => {
  const good = writeTar(files, limits);
  const badSum = Buffer.from(good);
  badSum[0] = badSum[0]! ^ 1; // a name byte: the header checksum no longer matches
  refused(() => readTar(badSum, limits), 'ARCHIVE_INVALID', /checksum/);
  refused(() => readTar(good.subarray(0, good.length - 1024), limits), 'ARCHIVE_INVALID', /truncated/);
  refused(() => readTar(good.subarray(0, 512 + 100), limits), 'ARCHIVE_INVALID');
  refused(() => readTar(Buffer.concat([good, Buffer.from('trailing')]), limits), 'ARCHIVE_INVALID', /after its end/);
  const loneZero = Buffer.concat([encodeEntry({ name: 'a', typeflag: '0', data: Buffer.from('x') }), Buffer.alloc(512), encodeEntry({ name: 'b', typeflag: '0' }), TAR_END]);
  refused(() => readTar(loneZero, limits), 'ARCHIVE_INVALID', /lone zero block/);
  const oldMagic = Buffer.from(good);
  oldMagic.write('ustar  \0', 257, 'latin1');
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : oldMagic[i]!;
  oldMagic.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'ascii');
  refused(() => readTar(oldMagic, limits), 'ARCHIVE_INVALID', /ustar/);
});

test('entry-count and file-size limits', () => {
  const many = Array.from({ length: 5 }, (_, i) => ({ path: `f${i}`, data: Buffer.from('x') }));
  refused(() => readTar(writeTar(many, limits), bundleLimits({ maxEntries: 4 })), 'LIMIT_EXCEEDED', /more than 4 entries/);
  refused(() => readTar(writeTar([{ path: 'big', data: Buffer.alloc(2000) }], limits), bundleLimits({ maxFileBytes: 1000 })), 'LIMIT_EXCEEDED');
});

test('gzip: deterministic header (mtime 0, OS 255) and a strict reader', () => {
  const tar = writeTar(files, limits);
  const gz = gzipDeterministic(tar);
  assert.ok(gz.equals(gzipDeterministic(tar)));
  assert.deepEqual([...gz.subarray(0, 10)], [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 255]);
  assert.ok(gunzipStrict(gz, 1 << 20).equals(tar));

  refused(() => gunzipStrict(Buffer.from('not gzip at all, not at all'), 1 << 20), 'ARCHIVE_INVALID', /not a gzip/);
  refused(() => gunzipStrict(gzipSync(tar), 1 << 20), 'ARCHIVE_INVALID', /OS byte/); // plain node gzip: platform OS byte
  const named = Buffer.from(gz);
  named[3] = 0x08; // FNAME
  refused(() => gunzipStrict(named, 1 << 20), 'ARCHIVE_INVALID', /flags/);
  const dated = Buffer.from(gz);
  dated[4] = 1;
  refused(() => gunzipStrict(dated, 1 << 20), 'ARCHIVE_INVALID', /modification time/);
  refused(() => gunzipStrict(Buffer.concat([gz, Buffer.from('junk')]), 1 << 20), 'ARCHIVE_INVALID');
  refused(() => gunzipStrict(Buffer.concat([gz, gzipDeterministic(Buffer.from('more'))]), 1 << 20), 'ARCHIVE_INVALID', /more than one member/);
  const flipped = Buffer.from(gz);
  const mid = Math.floor(gz.length / 2);
  flipped[mid] = flipped[mid]! ^ 0x01;
  refused(() => gunzipStrict(flipped, 1 << 20), 'ARCHIVE_INVALID');
  refused(() => gunzipStrict(gz.subarray(0, gz.length - 3), 1 << 20), 'ARCHIVE_INVALID');
});

test('zip-bomb guard: inflation stops at the cap', () => {
  const bomb = gzipDeterministic(Buffer.alloc(8 * 1024 * 1024)); // ~8 KiB that inflate to 8 MiB
  assert.ok(bomb.length < 64 * 1024);
  refused(() => gunzipStrict(bomb, 1024 * 1024), 'LIMIT_EXCEEDED', /more than 1048576 bytes/);
  assert.equal(gunzipStrict(bomb, 8 * 1024 * 1024).length, 8 * 1024 * 1024);
});
