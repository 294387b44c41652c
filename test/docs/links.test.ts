/** The documentation stands on its own: it names no file outside the repository, and every file it names exists. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..', '..');
const docs = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

test('no page points outside the repository (a contract file, a shared folder)', () => {
  for (const doc of docs) {
    const text = readFileSync(join(ROOT, doc), 'utf8');
    assert.doesNotMatch(text, /CONTRACT(\.md)?\b|\bshared\/|\/work\/(?:shared|main|wt)/, `${doc} points outside the repository`);
  }
});

test('every docs/… file a page names exists', () => {
  for (const doc of docs) {
    const text = readFileSync(join(ROOT, doc), 'utf8');
    for (const [, path] of text.matchAll(/`(docs\/[\w./-]+\.(?:md|json|yml|service|conf))`/g)) {
      assert.ok(existsSync(join(ROOT, path!)), `${doc} names ${path}, which does not exist`);
    }
  }
});
