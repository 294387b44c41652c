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
import { ARROWS, DRIVER_PACKAGES, FOLDERS, HANDLE_RE, HTTP_EDGE, type Folder } from './rule.js';

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

/** The HTTP classes a file constructs (`new Response(…)`, `new Headers(…)`), comments and strings aside. */
function httpAnswers(file: string, text: string): string[] {
  if (!/\bnew (Response|Headers)\b/.test(text)) return [];
  const found = new Set<string>();
  const visit = (n: ts.Node): void => {
    if (ts.isNewExpression(n) && ts.isIdentifier(n.expression) && /^(Response|Headers)$/.test(n.expression.text)) found.add(n.expression.text);
    ts.forEachChild(n, visit);
  };
  visit(ts.createSourceFile(file, text, ts.ScriptTarget.Latest, false));
  return [...found];
}

interface Break {
  file: string;
  reaches: string;
  detail: string;
}

/** What the scan read: files, the folder arrows it saw (allowed or not), and every break of the rule. */
function scan(): { files: number; arrows: Set<string>; breaks: Break[] } {
  const out = new Map<string, Break>();
  const arrows = new Set<string>();
  const add = (b: Break): void => {
    if (!out.has(`${b.file} ${b.reaches}`)) out.set(`${b.file} ${b.reaches}`, b);
  };
  const paths = walk(SRC);
  for (const path of paths) {
    const file = relative(SRC, path).split(sep).join('/');
    const from = folderOf(file) as Folder;
    assert.ok(FOLDERS.includes(from), `src/${file}: its folder ${from} has no place in test/layers/rule.ts (add it to FOLDERS and ARROWS)`);
    const text = readFileSync(path, 'utf8');
    for (const { fileName: spec } of ts.preProcessFile(text, true, true).importedFiles) {
      if (spec.startsWith('.')) {
        const target = relative(SRC, resolve(dirname(path), spec)).split(sep).join('/');
        if (target.startsWith('..')) continue; // outside src/ (test helpers, the bundler's config)
        const to = folderOf(target);
        if (to === from) continue;
        arrows.add(`${from} → ${to}`);
        if (!ARROWS[from].includes(to as Folder)) add({ file, reaches: to, detail: `imports ${to} (${spec}): ${from} may import ${ARROWS[from].join(', ') || 'no folder'}` });
      } else if (from !== 'store' && (DRIVER_PACKAGES as readonly string[]).includes(packageOf(spec))) {
        add({ file, reaches: packageOf(spec), detail: `imports ${spec}: only store/ imports ${DRIVER_PACKAGES.join(' or ')}` });
      }
    }
    if (from !== 'store') {
      for (const m of text.matchAll(HANDLE_RE)) add({ file, reaches: m[0].slice(1), detail: `reaches the raw database handle ${m[0]}: only store/ does` });
    }
    if (!HTTP_EDGE.includes(from)) {
      for (const what of httpAnswers(file, text)) add({ file, reaches: what, detail: `builds an HTTP answer (new ${what}): only ${HTTP_EDGE.join(' and ')} do; return what happened and let http/ answer` });
    }
  }
  return { files: paths.length, arrows, breaks: [...out.values()] };
}

test('every arrow between the folders of src/ is allowed (no exceptions)', () => {
  const { files, arrows, breaks } = scan();
  // The scan itself must have seen the graph: a walk or a resolution that found nothing would pass.
  assert.ok(files > 200, `read only ${files} files under src/`);
  for (const known of ['http → runs', 'runs → engine', 'engine → store', 'cli → http']) assert.ok(arrows.has(known), `the scan did not see ${known}`);
  assert.deepEqual(breaks.map((b) => `src/${b.file} ${b.detail}`), [], 'the layer rule (test/layers/rule.ts, docs/ARCHITECTURE.md)');
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
