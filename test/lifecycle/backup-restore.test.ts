/**
 * Online backup and restore, end to end with the real command line: a backup taken by another
 * process during a burst of 500 run starts restores into a folder whose exports are the
 * source's at the snapshot (dags equal, the event log a byte-for-byte prefix of the source's,
 * every run ended at the snapshot equal to the source's record, and runs and events consistent
 * with each other); every artifact the restored runs name is there; the restored folder
 * serves. Tampered, truncated, re-packed, unsigned and foreign backups are refused with nothing
 * installed; a non-empty target is refused.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { startTestServer, FIXTURES, type TestServer } from '../helpers/server.js';
import { publish, waitForRun } from '../runs/helpers.js';
import { gzipDeterministic } from '../../src/bundles/index.js';
import { namedHashes } from '../../src/artifacts/index.js';
import { integrityCheck } from '../hostile/support.js';
import { createBackup, restoreBackup, verifyBackup } from '../../src/lifecycle/index.js';
import { generateSigningKeyPair, TrustStore } from '../../src/dags/signature.js';
import { cli } from './support.js';
import { ERROR_STATUS } from '../../src/http/errors.js';

let t: TestServer;
let work = '';
let source = '';
let backup = '';
let restored = '';

const lines = (text: string) => text.trimEnd().split('\n');
const body = (text: string) => lines(text).slice(0, -1); // without the manifest line

async function exportOf(dataDir: string, kind: 'runs' | 'dags' | 'events'): Promise<string> {
  const r = await cli(['export', kind, '--data-dir', dataDir, '--tenant', 'a']);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
}

function leftovers(dir: string, name: string): string[] {
  return readdirSync(dir).filter((n) => n.startsWith(`.${name}.`) || n === name);
}

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'orch-backup-'));
  t = await startTestServer(['--allow-unsigned', '--max-queued-runs', '1000', '--rate-limit', '1000']);
  source = t.dataDir;
  backup = join(work, 'source.tar.gz');
  restored = join(work, 'restored');
  await publish(t, {
    dagId: 'burst',
    steps: [{ id: 'a', plugin: 'noop' }, { id: 'put', plugin: 'artifact', with: { content: 'run ${{ inputs.n }}' } }],
    edges: [{ from: 'a', to: 'put' }],
  });
});
after(async () => {
  await t.server.close();
  rmSync(source, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
});

describe('backup during a burst of 500 run starts, then restore', () => {
  test('the restored folder exports what the source held at the snapshot', async () => {
    const starts: Array<Promise<{ status: number; body: any }>> = [];
    let backupDone: Promise<Awaited<ReturnType<typeof cli>>> | undefined;
    for (let n = 0; n < 500; n++) {
      starts.push(t.req('POST', '/runs', { body: { dagId: 'burst', inputs: { n } } }));
      if (n % 50 === 49) await Promise.all(starts.slice(-50));
      if (n === 149) backupDone = cli(['backup', '--data-dir', source, '--out', backup]);
    }
    const started = await Promise.all(starts);
    for (const s of started) assert.equal(s.status, 201);
    const b = await backupDone!;
    assert.equal(b.code, 0, b.stderr);
    assert.equal(b.json.file, backup);
    assert.ok(b.json.artifacts > 0 && b.json.entries > b.json.artifacts, JSON.stringify(b.json));
    assert.match(b.stderr, /^backup: /m, 'progress lines on stderr (plain: not a terminal)');
    assert.doesNotMatch(b.stderr, /\r|\x1b\[/, 'no terminal control codes when piped');
    for (const s of started) await waitForRun(t, s.body.runId, { timeoutMs: 120_000 });
    await t.server.close();

    const v = await cli(['backup', 'verify', backup]);
    assert.equal(v.code, 0, v.stderr);
    assert.equal(v.json.ok, true);
    assert.equal(v.json.integrity, 'ok');
    assert.equal(v.json.entries, b.json.entries);

    const r = await cli(['restore', backup, '--data-dir', restored]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json.dataDir, restored);
    assert.equal(integrityCheck(restored), 'ok');
    assert.deepEqual(leftovers(work, 'restored'), ['restored'], 'no staging folder left');

    const [srcDags, dstDags] = [await exportOf(source, 'dags'), await exportOf(restored, 'dags')];
    assert.equal(dstDags, srcDags, 'export dags: byte for byte');

    const [srcEvents, dstEvents] = [body(await exportOf(source, 'events')), body(await exportOf(restored, 'events'))];
    assert.ok(dstEvents.length > 0, 'the snapshot holds events');
    assert.deepEqual(dstEvents, srcEvents.slice(0, dstEvents.length), 'export events: a byte-for-byte prefix of the source\'s log');

    const srcRuns = new Map(body(await exportOf(source, 'runs')).map((l) => [JSON.parse(l).runId as string, l]));
    const dstRuns = body(await exportOf(restored, 'runs'));
    const startedInSnapshot = new Set(dstEvents.map((l) => JSON.parse(l)).filter((e) => e.type === 'run.started').map((e) => e.runId));
    assert.deepEqual(new Set(dstRuns.map((l) => JSON.parse(l).runId)), startedInSnapshot, 'runs and events of one instant');
    let ended = 0;
    let artifactsChecked = 0;
    for (const l of dstRuns) {
      const run = JSON.parse(l);
      assert.ok(srcRuns.has(run.runId));
      if (['completed', 'failed', 'cancelled'].includes(run.status)) {
        ended++;
        assert.equal(l, srcRuns.get(run.runId), `export runs: ended run ${run.runId} byte for byte`);
      }
      for (const h of namedHashes(l)) {
        const file = join(restored, 'artifacts', h.slice(0, 2), h.slice(2));
        if (!existsSync(join(source, 'artifacts', h.slice(0, 2), h.slice(2)))) continue;
        assert.equal(createHash('sha256').update(readFileSync(file)).digest('hex'), h, `artifact ${h} restored whole`);
        artifactsChecked++;
      }
    }
    // Both loops above assert only on what they meet: they must have met something.
    assert.ok(ended > 0, `ended runs compared byte for byte: ${ended}`);
    assert.ok(artifactsChecked > 0, `restored artifacts checked: ${artifactsChecked}`);
    console.log(`backup: ${dstRuns.length} of 500 runs in the snapshot (${ended} ended), ${dstEvents.length} of ${srcEvents.length} events; ${b.json.entries} files, ${(b.json.bytes / 1024).toFixed(0)} KiB`);

    // The restored folder serves.
    const r2 = await startTestServer(['--allow-unsigned'], {}, undefined, restored);
    try {
      const list = await r2.req('GET', '/runs?page_size=500');
      assert.equal(list.status, 200);
      assert.equal(list.body.items.length, dstRuns.length);
    } finally {
      await r2.server.close();
    }
  });

  test('a non-empty target is refused', async () => {
    const target = join(work, 'busy');
    mkdirSync(target);
    writeFileSync(join(target, 'keep.txt'), 'mine');
    const r = await cli(['restore', backup, '--data-dir', target]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /not empty/);
    assert.deepEqual(readdirSync(target), ['keep.txt']);
  });

  test('tampered, truncated and re-packed backups are refused by verify and restore, with nothing installed', async () => {
    const bytes = readFileSync(backup);
    const raw = gunzipSync(bytes);
    // Re-packed: one byte of an artifact changed, the archive otherwise well-formed (valid gzip).
    const at = raw.indexOf(Buffer.from('run 1'));
    assert.ok(at > 0, 'an artifact is in the archive');
    const repacked = Buffer.from(raw);
    repacked[at] = 'R'.charCodeAt(0);
    const cases: Record<string, Buffer> = {
      flipped: Buffer.from(bytes).fill(0x55, bytes.length >> 1, (bytes.length >> 1) + 1),
      truncated: bytes.subarray(0, bytes.length >> 1),
      'cut at the end': bytes.subarray(0, bytes.length - 9),
      repacked: gzipDeterministic(repacked),
      'trailing data': Buffer.concat([bytes, Buffer.from('extra')]),
      empty: Buffer.alloc(0),
    };
    for (const [name, data] of Object.entries(cases)) {
      const file = join(work, `bad-${name.replace(/ /g, '-')}.tar.gz`);
      writeFileSync(file, data);
      await assert.rejects(verifyBackup(file), (e: any) => ERROR_STATUS[e.code as keyof typeof ERROR_STATUS] === 400, `${name}: verify refuses`);
      const target = join(work, `from-${name.replace(/ /g, '-')}`);
      await assert.rejects(restoreBackup(file, target), (e: any) => ERROR_STATUS[e.code as keyof typeof ERROR_STATUS] === 400, `${name}: restore refuses`);
      assert.ok(!existsSync(target), `${name}: nothing installed`);
      assert.deepEqual(leftovers(work, `from-${name.replace(/ /g, '-')}`), [], `${name}: no staging folder left`);
    }
    // The command line says so and exits 1.
    const v = await cli(['backup', 'verify', join(work, 'bad-repacked.tar.gz')]);
    assert.equal(v.code, 1);
    assert.match(v.stderr, /SHA-256 does not match/);
    const r = await cli(['restore', join(work, 'bad-truncated.tar.gz'), '--data-dir', join(work, 'from-cli')]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /truncated|damaged|runs past/);
    assert.ok(!existsSync(join(work, 'from-cli')));

  });

  test('a signed backup verifies against its trusted key and is refused without a signature or with another key', async () => {
    const signed = join(work, 'signed.tar.gz');
    const b = await cli(['backup', '--data-dir', restored, '--out', signed, '--key', join(FIXTURES, 'keys', 'dev-signing.key'), '--quiet']);
    assert.equal(b.code, 0, b.stderr);
    assert.equal(b.stderr, '', '--quiet: no progress');
    const trust = join(FIXTURES, 'keys', 'trust');
    const ok = await cli(['backup', 'verify', signed, '--trust-dir', trust]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.json.signedBy.length, 1);
    const trusted = new TrustStore().addDir(trust);
    await assert.rejects(verifyBackup(backup, { trust: trusted }), /not signed/);
    const other = new TrustStore();
    other.add(generateSigningKeyPair('ed25519').publicKeyPem);
    await assert.rejects(restoreBackup(signed, join(work, 'foreign'), { trust: other }), (e: any) => e.code === 'SIGNATURE_INVALID');
    assert.ok(!existsSync(join(work, 'foreign')));
    // A backup never overwrites a file.
    const size = statSync(signed).size;
    await assert.rejects(createBackup({ dataDir: restored, out: signed }), /exists already/);
    assert.equal(statSync(signed).size, size);
  });
});
