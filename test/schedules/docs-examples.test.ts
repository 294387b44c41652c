/**
 * The worked examples of docs/SCHEDULES.md are true: the test reads the table between the
 * `examples` markers and recomputes every row.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { checkTimeZone, formatLocal, nextFires, parseCron } from '../../src/schedules/index.js';

const doc = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'SCHEDULES.md'), 'utf8');
const table = /<!-- examples:start -->\n([\s\S]*?)<!-- examples:end -->/.exec(doc)?.[1] ?? '';
const rows = table
  .split('\n')
  .filter((l) => l.startsWith('| ') && !l.startsWith('| zone') && !l.startsWith('|---'))
  .map((l) => l.split('|').slice(1, -1).map((c) => c.trim()));

test('the worked examples cover Berlin, New York, Lord Howe, a zone without DST, and a midnight change', () => {
  const zones = new Set(rows.map((r) => r[0]));
  for (const z of ['Europe/Berlin', 'America/New_York', 'Australia/Lord_Howe', 'Asia/Tokyo', 'America/Santiago']) assert.ok(zones.has(z), z);
  assert.ok(rows.length >= 12, `${rows.length} rows`);
});

for (const [zone, cronCell, after, firesCell] of rows) {
  test(`docs example: ${cronCell} in ${zone} after ${after}`, () => {
    assert.ok(checkTimeZone(zone).ok, zone);
    const cron = parseCron(cronCell!.replace(/`/g, ''));
    assert.ok(cron.ok, cronCell);
    const want = firesCell!.split(',').map((f) => f.trim().replace(/`/g, ''));
    const got = nextFires(cron.value, zone!, Date.parse(after!.replace('Z', ':00Z')), want.length).map((t) =>
      formatLocal(t, zone!).replace(':00.000', ''),
    );
    assert.deepEqual(got, want);
  });
}
