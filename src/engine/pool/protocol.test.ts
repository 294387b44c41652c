import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalJson, sha256Hex } from '../../core/hash.js';
import { encodeOutputs } from './outputs.js';
import { formatLogLine, normalizeErrorCode, StepError, toStepErrorInfo } from './protocol.js';
import { decodeBytes, encodeBytes, FromHost, messagesOf, ToHost } from './host-protocol.js';

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof StepError);
    assert.equal(e.retryable, false);
    return e.code;
  }
  assert.fail('did not throw');
}

test('encodeOutputs: canonical JSON + hash, strict plain JSON, 1 MiB bound', () => {
  const v = { b: 1, a: [true, null, 'x', 1.5], c: undefined };
  assert.deepEqual(encodeOutputs(v), { json: '{"a":[true,null,"x",1.5],"b":1}', hash: sha256Hex('{"a":[true,null,"x",1.5],"b":1}') });
  assert.equal(encodeOutputs(undefined).json, '{}');
  assert.equal(encodeOutputs(Object.create(null) as object).json, '{}');
  for (const bad of [null, [], 'x', 1, { a: [undefined] }, { a: 1n }, { a: Infinity }, { a: new Map() }, { a: Symbol('s') }, { a: () => 1 }, new (class X {})()]) {
    assert.equal(codeOf(() => encodeOutputs(bad)), 'OUTPUTS_INVALID', String(canonicalJsonSafe(bad)));
  }
  const cyc: Record<string, unknown> = {};
  cyc.self = cyc;
  assert.equal(codeOf(() => encodeOutputs(cyc)), 'OUTPUTS_INVALID');
  // Exactly at the limit passes; one byte more fails (UTF-8 bytes, not string length).
  const at = { s: 'x'.repeat(100 - '{"s":""}'.length) };
  assert.equal(encodeOutputs(at, 100).json.length, 100);
  assert.equal(codeOf(() => encodeOutputs({ s: 'é'.repeat(50) }, 100)), 'OUTPUTS_TOO_LARGE');
  // A shared subtree that doubles at every level is refused without expanding it.
  let node: unknown = 'leaf';
  for (let i = 0; i < 40; i++) node = [node, node];
  assert.equal(codeOf(() => encodeOutputs({ node })), 'OUTPUTS_TOO_LARGE');
});

function canonicalJsonSafe(v: unknown): string {
  try {
    return canonicalJson(v);
  } catch {
    return typeof v;
  }
}

test('toStepErrorInfo: codes kept from StepError-likes, everything else STEP_FAILED, no stacks', () => {
  assert.deepEqual(toStepErrorInfo(new StepError('X_Y', 'm', { retryable: false })), { code: 'X_Y', message: 'm', retryable: false });
  assert.deepEqual(toStepErrorInfo(new Error('e')), { code: 'STEP_FAILED', message: 'e', retryable: true });
  assert.deepEqual(toStepErrorInfo(Object.assign(new Error('fs'), { code: 'ENOENT' })), { code: 'STEP_FAILED', message: 'fs', retryable: true });
  assert.equal(toStepErrorInfo('s').message, 's');
  assert.equal(toStepErrorInfo(undefined).message, 'non-Error thrown: undefined');
  assert.equal(toStepErrorInfo({ a: 1 }).message, 'non-Error thrown: {"a":1}');
  const circ: Record<string, unknown> = {};
  circ.c = circ;
  assert.equal(toStepErrorInfo(circ).message, 'non-Error thrown: [object Object]');
  assert.equal(toStepErrorInfo(10n).message, 'non-Error thrown: [object BigInt]');
  assert.ok(toStepErrorInfo(new Error('x'.repeat(5000))).message.length <= 2001);
});

test('normalizeErrorCode and formatLogLine', () => {
  assert.equal(normalizeErrorCode('EXIT_3'), 'EXIT_3');
  assert.equal(normalizeErrorCode('bad-code here'), 'BAD_CODE_HERE');
  assert.equal(normalizeErrorCode('123'), 'STEP_FAILED');
  assert.equal(normalizeErrorCode(7), 'STEP_FAILED');
  assert.equal(new StepError('not ok').code, 'NOT_OK');
  const line = formatLogLine('info', 'hi', { ts: 'no', level: 'no', msg: 'no', k: 1 }, 0);
  assert.equal(line, '{"ts":"1970-01-01T00:00:00.000Z","level":"info","msg":"hi","k":1}\n');
});

test('host wire: artifact bytes cross the JSON channel as base64 and come back as an owned Uint8Array; other messages pass untouched', () => {
  const bytes = new Uint8Array([0, 1, 2, 250, 255]);
  const msg = { cmd: FromHost.Worker, w: 1, m: { cmd: 5, reqId: 1, taskId: 2, bytes, mediaType: 'application/octet-stream' } };
  const wire = JSON.parse(JSON.stringify(encodeBytes(msg)));
  assert.equal(wire.m.bytes, undefined);
  assert.equal(wire.m.b64, 'AAEC+v8=');
  const back = decodeBytes(wire) as typeof msg;
  assert.ok(back.m.bytes instanceof Uint8Array);
  assert.deepEqual([...back.m.bytes], [...bytes]);
  assert.equal(back.m.bytes.byteOffset, 0);
  assert.equal(back.m.bytes.byteLength, back.m.bytes.buffer.byteLength, 'owns its buffer: transferable to the thread');
  const plain = { cmd: ToHost.Spawn, w: 3 };
  assert.equal(encodeBytes(plain), plain);
  assert.equal(decodeBytes(plain), plain);
  // An envelope from an untrusted host that is not one yields no messages instead of throwing.
  for (const bad of [null, 1, 'x', {}, { b: 'x' }, { b: null }]) assert.deepEqual(messagesOf(bad), []);
  assert.deepEqual(messagesOf({ b: [plain] }), [plain]);
});
