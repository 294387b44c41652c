/**
 * The layer rule (rule.ts) over the real import graph of `src/`: every import of every file
 * (type-only, re-exports, dynamic `import()` and `require` included), read with the TypeScript
 * scanner (`ts.preProcessFile`: comments and strings are not imports).
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { test } from 'node:test';
import ts from 'typescript';
import { ARROWS, DRIVER_PACKAGES, EXCEPTIONS, FOLDERS, HANDLE_RE, type Folder } from './rule.js';

const SRC = join(import.meta.dirname, '..', '..', 'src');
const CODE = /\.(ts|mts|cts|tsx|js|mjs|cjs)$/;

function walk(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (CODE.test(name) && !name.endsWith('.d.ts') && !name.endsWith('.d.cts')) out.push(p);
  }
  return out;
}

/** The top-level folder of a path relative to `src/` (`main` for `main.ts`). */
function folderOf(rel: string): string {
  const [first, ...rest] = rel.split('/');
  return rest.length === 0 ? first!.replace(CODE, '') : first!;
}

/** The package a bare specifier names (`drizzle-orm/sqlite-core` → `drizzle-orm`). */
function packageOf(spec: string): string {
  const parts = spec.split('/');
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

interface Break {
  file: string;
  reaches: string;
  detail: string;
}

/** Every break of the rule in `src/`, one per (file, what it reaches). */
function breaks(): Break[] {
  const out = new Map<string, Break>();
  const add = (b: Break): void => {
    if (!out.has(`${b.file} ${b.reaches}`)) out.set(`${b.file} ${b.reaches}`, b);
  };
  for (const path of walk(SRC)) {
    const file = relative(SRC, path).split(sep).join('/');
    const from = folderOf(file) as Folder;
    assert.ok(FOLDERS.includes(from), `src/${file}: its folder ${from} has no place in test/layers/rule.ts (add it to FOLDERS and ARROWS)`);
    const text = readFileSync(path, 'utf8');
    for (const { fileName: spec } of ts.preProcessFile(text, true, true).importedFiles) {
      if (spec.startsWith('.')) {
        const target = relative(SRC, resolve(dirname(path), spec)).split(sep).join('/');
        if (target.startsWith('..')) continue; // outside src/ (test helpers, the bundler's config)
        const to = folderOf(target);
        if (to !== from && !ARROWS[from].includes(to as Folder)) add({ file, reaches: to, detail: `imports ${to} (${spec}): ${from} may import ${ARROWS[from].join(', ') || 'no folder'}` });
      } else if (from !== 'store' && (DRIVER_PACKAGES as readonly string[]).includes(packageOf(spec))) {
        add({ file, reaches: packageOf(spec), detail: `imports ${spec}: only store/ imports ${DRIVER_PACKAGES.join(' or ')}` });
      }
    }
    if (from !== 'store') {
      for (const m of text.matchAll(HANDLE_RE)) add({ file, reaches: m[0].slice(1), detail: `reaches the raw database handle ${m[0]}: only store/ does` });
    }
  }
  return [...out.values()];
}

test('every arrow between the folders of src/ is allowed or a listed exception, and every exception still occurs', () => {
  const found = breaks();
  const listed = new Set(EXCEPTIONS.map((e) => `${e.file} ${e.reaches}`));
  const foundKeys = new Set(found.map((b) => `${b.file} ${b.reaches}`));
  const unlisted = found.filter((b) => !listed.has(`${b.file} ${b.reaches}`)).map((b) => `src/${b.file} ${b.detail}`);
  const stale = EXCEPTIONS.filter((e) => !foundKeys.has(`${e.file} ${e.reaches}`)).map(
    (e) => `src/${e.file} no longer reaches ${e.reaches}: delete its exception from test/layers/rule.ts`,
  );
  assert.deepEqual([...unlisted, ...stale], [], 'the layer rule (test/layers/rule.ts, docs/ARCHITECTURE.md)');
});

test('the exceptions are named once each, with an owner and a reason', () => {
  const keys = EXCEPTIONS.map((e) => `${e.file} ${e.reaches}`);
  assert.deepEqual(keys.filter((k, i) => keys.indexOf(k) !== i), []);
  for (const e of EXCEPTIONS) assert.ok(e.owner !== '' && e.reason !== '', `${e.file} → ${e.reaches}`);
});

test('the allowed arrows form no loop and name only known folders', () => {
  const state = new Map<Folder, 'open' | 'done'>();
  const visit = (f: Folder, path: Folder[]): void => {
    if (state.get(f) === 'done') return;
    assert.notEqual(state.get(f), 'open', `the allowed arrows loop: ${[...path, f].join(' → ')}`);
    state.set(f, 'open');
    for (const to of ARROWS[f]) {
      assert.ok(FOLDERS.includes(to), `${f} → ${to}: unknown folder`);
      visit(to, [...path, f]);
    }
    state.set(f, 'done');
  };
  for (const f of FOLDERS) visit(f, []);
  assert.deepEqual(ARROWS.core, [], 'core is the shared kernel: it imports no folder');
  assert.deepEqual(ARROWS.store, ['core'], 'store imports only core');
});
