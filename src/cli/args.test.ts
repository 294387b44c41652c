import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseFlags, usage, UsageError, type FlagSpec } from './args.js';
import { parseInputs } from './client/runs-start.js';
import { formatDuration } from './client/output.js';

const SPECS: FlagSpec[] = [
  { name: 'out', short: 'o', kind: 'string', env: false, arg: 'FILE', help: 'file' },
  { name: 'output', kind: 'string', values: ['table', 'json'], help: 'format' },
  { name: 'wait', kind: 'boolean', env: false, help: 'wait' },
  { name: 'input', kind: 'list', env: false, help: 'input' },
  { name: 'server', kind: 'string', default: 'http://127.0.0.1:8080', help: 'server' },
];

test('one-letter aliases, --name=value, repeatable flags, and -- ending the flags', () => {
  const { flags, positional } = parseFlags(['get', '-o', 'x.bin', '--input=a=1', '--input', 'b:=2', '--wait', '--', '--not-a-flag', '-o'], SPECS, {});
  assert.deepEqual(flags, { out: 'x.bin', input: ['a=1', 'b:=2'], wait: true, server: 'http://127.0.0.1:8080' });
  assert.deepEqual(positional, ['get', '--not-a-flag', '-o']);
  assert.deepEqual(parseFlags(['-', '-1'], SPECS, {}).positional, ['-', '-1'], 'a lone dash and negative numbers are arguments');
});

test('allowed values are checked on flags and on their environment variables', () => {
  assert.throws(() => parseFlags(['--output', 'xml'], SPECS, {}), (e: Error) => e instanceof UsageError && /one of table, json/.test(e.message));
  assert.throws(() => parseFlags([], SPECS, { ORCH_OUTPUT: 'xml' }), UsageError);
  assert.equal(parseFlags([], SPECS, { ORCH_OUTPUT: 'json' }).flags.output, 'json');
  assert.throws(() => parseFlags(['-x'], SPECS, {}), /unknown flag -x/);
  assert.throws(() => parseFlags(['-o'], SPECS, {}), /--out needs a value/);
});

test('env: false means no environment fallback; a flag beats its variable', () => {
  const { flags } = parseFlags(['--server', 'http://b'], SPECS, { ORCH_OUT: 'f', ORCH_WAIT: '1', ORCH_SERVER: 'http://a' });
  assert.equal(flags.out, undefined);
  assert.equal(flags.wait, undefined);
  assert.equal(flags.server, 'http://b');
  const help = usage('artifacts get', 'Download.', SPECS, { args: 'HASH', examples: ['orchestrator artifacts get $HASH -o x'] });
  assert.match(help, /^usage: orchestrator artifacts get HASH \[flags\]$/m);
  assert.match(help, /^ {2}-o, --out FILE +file \[command line only\]$/m, 'no variable for env: false');
  assert.match(help, /--output table\|json +format \[ORCH_OUTPUT\]/);
  assert.match(help, /examples:\n {2}orchestrator artifacts get \$HASH -o x$/);
});

test('run inputs: KEY=VALUE is a string, KEY:=JSON a value, later flags override the file', () => {
  assert.deepEqual(parseInputs(undefined, ['name=a=b', 'n:=3', 'tags:=["x"]', 'empty=']), { name: 'a=b', n: 3, tags: ['x'], empty: '' });
  assert.deepEqual(parseInputs('-', ['n:=2'], () => '{"n":1,"m":true}'), { n: 2, m: true });
  assert.equal(parseInputs(undefined, []), undefined, 'no inputs: the field is left out');
  assert.throws(() => parseInputs(undefined, ['novalue']), /expected KEY=VALUE/);
  assert.throws(() => parseInputs(undefined, ['n:={']), /must be JSON/);
  assert.throws(() => parseInputs('-', [], () => '[1]'), /must hold a JSON object/);
  assert.throws(() => parseInputs('/nonexistent/inputs.json', []), UsageError);
});

test('durations for people', () => {
  assert.deepEqual([null, 12, 1234, 65_000, 3_726_000].map(formatDuration), ['-', '12ms', '1.23s', '1m05s', '1h02m']);
});
