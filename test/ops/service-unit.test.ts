/** docs/ops/orchestrator.service: a valid systemd unit whose settings are real serve flags. */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { envName } from '../../src/cli/args.js';
import { SERVE_FLAGS } from '../../src/cli/config.js';
import { haveTool } from '../helpers/tools.js';

const unit = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'ops', 'orchestrator.service'), 'utf8');
const tmp = mkdtempSync(join(tmpdir(), 'orch-unit-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

test('every ORCH_* variable of the unit is a serve flag; reload is SIGHUP, stop is SIGTERM with time to drain', () => {
  const known = new Set(SERVE_FLAGS.filter((f) => f.env !== false).map((f) => envName(f.name)));
  const vars = [...unit.matchAll(/\b(ORCH_[A-Z_]+)=/g)].map((m) => m[1]!);
  assert.ok(vars.length >= 3);
  for (const v of vars) assert.ok(known.has(v), `${v} is not a serve flag`);
  const settings = unit.split('\n').filter((l) => !l.startsWith('#')).join('\n');
  assert.doesNotMatch(settings, /\s--dev\b|ORCH_DEV/, 'never dev mode');
  assert.match(unit, /^ExecReload=\/bin\/kill -HUP \$MAINPID$/m);
  assert.match(unit, /^ExecStart=\/usr\/local\/bin\/orchestrator serve$/m);
  const stopSec = Number(/^TimeoutStopSec=(\d+)$/m.exec(unit)?.[1]);
  const drain = Number(SERVE_FLAGS.find((f) => f.name === 'drain-timeout')!.default);
  assert.ok(stopSec > drain, `TimeoutStopSec (${stopSec}) leaves the ${drain} s drain time to finish`);
});

test('`systemd-analyze verify` accepts the unit', (ctx) => {
  if (!haveTool(ctx, 'systemd-analyze', 'systemd')) return;
  // The executable is not installed here: point ExecStart at one that exists.
  const file = join(tmp, 'orchestrator.service');
  writeFileSync(file, unit.replaceAll('/usr/local/bin/orchestrator', process.execPath));
  const r = spawnSync('systemd-analyze', ['verify', file], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr.trim(), '', r.stderr);
});
