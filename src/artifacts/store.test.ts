import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fsp from 'node:fs/promises';
import { mkdtempSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ArtifactStore, normalizeArtifactHash, type StoreFs } from './index.js';
import { ApiError, toApiError } from '../core/errors.js';
import { sha256Hex } from '../core/hash.js';

function tempRoot(): string {
  return join(mkdtempSync(join(tmpdir(), 'stella-art-')), 'artifacts');
}

function listAll(root: string): string[] {
  const out: string[] = [];
  for (const d of readdirSync(root)) for (const f of readdirSync(join(root, d))) out.push(`${d}/${f}`);
  return out.sort();
}

test('put/get/has/stat round trip in the ab/cdef… layout, idempotent', async () => {
  const root = tempRoot();
  const store = new ArtifactStore(root);
  const r1 = await store.put('hello');
  assert.equal(r1.hash, sha256Hex('hello'));
  assert.equal(r1.size, 5);
  assert.equal(r1.created, true);
  const r2 = await store.put(new TextEncoder().encode('hello'));
  assert.deepEqual(r2, { hash: r1.hash, size: 5, created: false });
  assert.deepEqual(listAll(root), [`${r1.hash.slice(0, 2)}/${r1.hash.slice(2)}`]);
  assert.equal((await store.get(r1.hash))?.toString(), 'hello');
  assert.equal(await store.has(r1.hash), true);
  assert.deepEqual(await store.stat(r1.hash), { hash: r1.hash, size: 5 });
  const empty = await store.put('');
  assert.equal(empty.hash, sha256Hex(''));
  assert.equal((await store.get(empty.hash))?.length, 0);
  const missing = 'f'.repeat(64);
  assert.equal(await store.get(missing), null);
  assert.equal(await store.has(missing), false);
  assert.equal(await store.stat(missing), null);
  assert.equal(await store.stream(missing), null);
});

test('malformed hashes are NOT_FOUND before any filesystem call', async () => {
  const touched: string[] = [];
  const spy = new Proxy(fsp, {
    get(target, prop) {
      touched.push(String(prop));
      return Reflect.get(target, prop);
    },
  }) as unknown as StoreFs;
  const store = new ArtifactStore('/nonexistent-root', { fs: spy });
  const bad = ['../../etc/passwd', 'A'.repeat(64), 'a'.repeat(63), 'a'.repeat(65), `sha256:${'a'.repeat(64)}`, 'a'.repeat(63) + '\0', ''];
  for (const h of bad) {
    for (const op of [() => store.get(h), () => store.has(h), () => store.stat(h), () => store.stream(h)]) {
      await assert.rejects(op, (e) => e instanceof ApiError && e.code === 'NOT_FOUND');
    }
    assert.throws(() => store.pathOf(h), (e) => e instanceof ApiError && e.code === 'NOT_FOUND');
  }
  assert.deepEqual(touched, []);
  assert.equal(normalizeArtifactHash(`sha256:${'a'.repeat(64)}`), 'a'.repeat(64));
  assert.throws(() => normalizeArtifactHash('sha256:xyz'), ApiError);
  assert.throws(() => normalizeArtifactHash(42), ApiError);
});

test('expectedHash mismatch is refused and writes nothing', async () => {
  const root = tempRoot();
  const store = new ArtifactStore(root);
  await assert.rejects(store.put('abc', 'b'.repeat(64)), (e) => e instanceof ApiError && e.code === 'VALIDATION_FAILED');
  assert.equal(existsSync(root), false);
  const ok = await store.put('abc', `sha256:${sha256Hex('abc')}`);
  assert.equal(ok.created, true);
});

test('stream serves a large object; a truncated object is rewritten by put', async () => {
  const root = tempRoot();
  const store = new ArtifactStore(root);
  const big = Buffer.alloc(3 * 1024 * 1024 + 17, 7);
  const { hash } = await store.put(big);
  const s = await store.stream(hash);
  assert.ok(s);
  assert.equal(s.size, big.length);
  const chunks: Buffer[] = [];
  for await (const c of s.stream) chunks.push(c as Buffer);
  assert.ok(Buffer.concat(chunks).equals(big));
  writeFileSync(store.pathOf(hash), 'short'); // simulated damage
  const again = await store.put(big);
  assert.equal(again.created, true);
  assert.ok((await store.get(hash))?.equals(big));
});

test('concurrent puts of the same bytes leave one object and no temp files', async () => {
  const root = tempRoot();
  const store = new ArtifactStore(root);
  const results = await Promise.all(Array.from({ length: 20 }, () => store.put('same')));
  assert.ok(results.every((r) => r.hash === sha256Hex('same')));
  assert.deepEqual(listAll(root).length, 1);
});

test('sweepTemp removes leftovers of interrupted writes and keeps objects', async () => {
  const root = tempRoot();
  const store = new ArtifactStore(root);
  const { hash } = await store.put('keep');
  const shard = join(root, hash.slice(0, 2));
  writeFileSync(join(shard, '.tmp-abc-123'), 'partial');
  writeFileSync(join(root, '.tmp-stray'), 'partial');
  assert.equal(await store.sweepTemp(), 2);
  assert.deepEqual(listAll(root), [`${hash.slice(0, 2)}/${hash.slice(2)}`]);
  assert.equal(await new ArtifactStore(join(root, 'absent')).sweepTemp(), 0);
});

test('a failing fsync (ENOSPC) surfaces its code and leaves no half-written file', async () => {
  const root = tempRoot();
  const failing: StoreFs = {
    ...fsp,
    open: (async (path: string, flags?: string, mode?: number) => {
      const fh = await fsp.open(path, flags, mode);
      if (flags === 'wx') {
        fh.sync = async () => {
          throw Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
        };
      }
      return fh;
    }) as StoreFs['open'],
  };
  const store = new ArtifactStore(root, { fs: failing });
  await assert.rejects(store.put('data'), (e) => (e as { code?: string }).code === 'ENOSPC');
  assert.deepEqual(listAll(root), []);
  await assert.rejects(store.put('data'), (e) => toApiError(e).code === 'INSUFFICIENT_STORAGE');
  assert.equal(await new ArtifactStore(root).has(sha256Hex('data')), false);
});

test('a real full disk (small tmpfs) gives ENOSPC and no visible partial object', async (t) => {
  const mnt = mkdtempSync(join(tmpdir(), 'stella-full-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mnt], { stdio: 'ignore' });
  } catch {
    rmSync(mnt, { recursive: true, force: true });
    t.skip('cannot mount a tmpfs here (not root)');
    return;
  }
  try {
    const store = new ArtifactStore(join(mnt, 'artifacts'));
    await store.put('small fits');
    await assert.rejects(store.put(Buffer.alloc(256 * 1024, 1)), (e) => (e as { code?: string }).code === 'ENOSPC');
    const names = listAll(join(mnt, 'artifacts'));
    assert.equal(names.length, 1);
    assert.ok(!names.some((n) => n.includes('.tmp-')));
  } finally {
    execFileSync('umount', [mnt], { stdio: 'ignore' });
    rmSync(mnt, { recursive: true, force: true });
  }
});

test('writer(): streamed chunks land as one object under their hash; an existing object is not rewritten; abort leaves nothing', async () => {
  const root = tempRoot();
  const store = new ArtifactStore(root);
  const w = await store.writer();
  const parts = [Buffer.from('hello '), Buffer.alloc(300_000, 7), Buffer.from('world')];
  await Promise.all(parts.map((p) => w.write(p))); // overlapping calls keep their order
  const all = Buffer.concat(parts);
  assert.deepEqual(await w.commit(), { hash: sha256Hex(all), size: all.length, created: true });
  assert.deepEqual(await store.get(sha256Hex(all)), all);
  await assert.rejects(w.write(Buffer.from('late')), /ended/);
  const again = await store.writer();
  await again.write(all);
  assert.deepEqual(await again.commit(), { hash: sha256Hex(all), size: all.length, created: false });
  const dropped = await store.writer();
  await dropped.write(Buffer.from('never stored'));
  await dropped.abort();
  assert.equal(await store.has(sha256Hex('never stored')), false);
  assert.deepEqual(readdirSync(root).filter((f) => f.startsWith('.tmp-')), [], 'no temp file left');
  assert.equal(listAll(root).length, 1);
});

test('remove asks an asynchronous stillUnused (a store port read), and a put of the hash waits for its answer', async () => {
  const store = new ArtifactStore(tempRoot());
  const { hash } = await store.put('kept or not');
  assert.equal(await store.remove(hash, async () => false), null, 'kept when the answer is no');
  assert.equal(await store.has(hash), true);
  let answer!: (v: boolean) => void;
  const removing = store.remove(hash, () => new Promise<boolean>((r) => (answer = r)));
  await new Promise((r) => setTimeout(r, 10));
  // A put of the same bytes while the question is open runs after the removal: the object is written anew.
  const putting = store.put('kept or not');
  answer(true);
  assert.equal(await removing, 'kept or not'.length);
  assert.equal((await putting).created, true);
  assert.equal((await store.get(hash))?.toString(), 'kept or not');
});
