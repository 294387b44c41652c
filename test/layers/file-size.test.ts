/**
 * "Files under ~300 lines" (docs/ARCHITECTURE.md) as a test: no source file under `src/` is
 * longer than {@link MAX_LINES} lines. A file that grows past it is split by concern (a piece
 * with a name and a reason), never cut in arbitrary halves, and never excused here.
 * Tests beside the code (`*.test.ts` under `src/`) are not counted: a test file is one
 * scenario's table of cases, read top to bottom, not a unit of the design.
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';

const SRC = join(import.meta.dirname, '..', '..', 'src');
const MAX_LINES = 300;
const CODE = /\.(ts|mts|cts|tsx|js|mjs|cjs)$/;

function sources(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) sources(p, out);
    else if (CODE.test(name) && !/\.test\.[cm]?[jt]sx?$/.test(name)) out.push(p);
  }
  return out;
}

/** Lines as `wc -l` counts them (a last line without a newline counts too). */
function lineCount(text: string): number {
  if (text === '') return 0;
  const n = text.split('\n').length;
  return text.endsWith('\n') ? n - 1 : n;
}

test(`no source file under src/ is longer than ${MAX_LINES} lines (tests excluded)`, () => {
  const files = sources(SRC);
  assert.ok(files.length > 200, `read only ${files.length} files under src/`);
  const long = files
    .map((f) => ({ file: relative(join(SRC, '..'), f), lines: lineCount(readFileSync(f, 'utf8')) }))
    .filter((f) => f.lines > MAX_LINES)
    .map((f) => `${f.file}: ${f.lines} lines`);
  assert.deepEqual(long, [], `split these by concern (docs/ARCHITECTURE.md)`);
});

test('the line count is the one wc -l gives', () => {
  assert.equal(lineCount(''), 0);
  assert.equal(lineCount('a\n'), 1);
  assert.equal(lineCount('a\nb'), 2);
  assert.equal(lineCount('a\nb\n'), 2);
});
