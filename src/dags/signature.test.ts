import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { ApiError } from '../core/errors.js';
import { dagCanonicalJson, dagContent, dagHash } from './canonical.js';
import { generateSigningKeyPair, keyIdOf, TrustStore } from './keys.js';
import { parseDag, type DagDocument } from './model.js';
import {
  DAG_PAYLOAD_TYPE,
  decodeBase64Strict,
  dsseSign,
  dsseVerify,
  pae,
  signDag,
  verifyDagSignature,
} from './signature.js';

const ed = generateSigningKeyPair('ed25519');
const p256 = generateSigningKeyPair('p256');
const stranger = generateSigningKeyPair('ed25519');
const trust = new TrustStore();
trust.add(ed.publicKeyPem);
trust.add(p256.publicKeyPem);

const doc = (): DagDocument =>
  parseDag({
    dagId: 'policy-refresh',
    version: '1.4.0',
    metadata: { description: 'é ✓' },
    steps: [{ id: 'fetch', plugin: 'noop', with: { n: 1.5, s: '${{ inputs.image }}' } }],
    edges: [],
  });

function rejects(fn: () => unknown, pattern?: RegExp): ApiError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ApiError, String(e));
    assert.equal(e.code, 'SIGNATURE_INVALID');
    if (pattern) assert.match(e.message, pattern);
    return e;
  }
  assert.fail('expected SIGNATURE_INVALID');
}

test('PAE matches the DSSE spec', () => {
  assert.equal(pae('http://example.com/HelloWorld', Buffer.from('hello world')).toString(), 'DSSEv1 29 http://example.com/HelloWorld 11 hello world');
  assert.equal(pae('tÿpe', Buffer.from('')).toString('latin1'), Buffer.from('DSSEv1 5 tÿpe 0 ', 'utf8').toString('latin1'));
});

test('key ids are the SHA-256 of the SPKI DER', () => {
  const der = Buffer.from(ed.publicKeyPem.replace(/-----[A-Z ]+-----|\s/g, ''), 'base64');
  assert.equal(ed.keyid, createHash('sha256').update(der).digest('hex'));
  assert.equal(keyIdOf(ed.privateKeyPem), ed.keyid);
  assert.match(p256.keyid, /^[0-9a-f]{64}$/);
  assert.deepEqual(trust.keyIds(), [ed.keyid, p256.keyid].sort());
});

test('Ed25519 and P-256 signatures both verify; content = document as sent without signature', () => {
  for (const kp of [ed, p256]) {
    const signed = signDag(doc(), kp.privateKeyPem);
    assert.deepEqual(verifyDagSignature(signed, trust, { allowUnsigned: false }), [kp.keyid]);
    assert.equal(Buffer.from(signed.signature!.payload, 'base64').toString('utf8'), dagCanonicalJson(doc()));
    assert.equal(dagHash(signed), dagHash(doc()));
    assert.deepEqual(dagContent(signed), doc());
  }
  const both = signDag(doc(), [ed.privateKeyPem, p256.privateKeyPem, stranger.privateKeyPem]);
  assert.deepEqual(verifyDagSignature(both, trust, { allowUnsigned: false }), [ed.keyid, p256.keyid].sort());
});

test('a P-256 signature is ASN.1 DER (sigstore form)', () => {
  const env = dsseSign('t', 'x', p256.privateKeyPem);
  const sig = Buffer.from(env.signatures[0]!.sig, 'base64');
  assert.equal(sig[0], 0x30); // DER SEQUENCE
  assert.equal(sig[1], sig.length - 2);
});

test('changed body: the document no longer matches its signed payload', () => {
  const signed = signDag(doc(), ed.privateKeyPem);
  const changed = { ...signed, version: '1.4.1' };
  rejects(() => verifyDagSignature(changed, trust, { allowUnsigned: false }), /differs from its signed payload/);
  const reordered = parseDag(JSON.parse(JSON.stringify({ edges: [], ...signed })));
  assert.deepEqual(verifyDagSignature(reordered, trust, { allowUnsigned: false }), [ed.keyid]); // key order is irrelevant
});

test('changed payload: signature does not verify', () => {
  const signed = signDag(doc(), ed.privateKeyPem);
  const other = signDag({ ...doc(), version: '9.9.9' }, ed.privateKeyPem);
  const swapped = { ...other, signature: { ...other.signature!, signatures: signed.signature!.signatures } };
  const e = rejects(() => verifyDagSignature(swapped, trust, { allowUnsigned: false }), /does not verify/);
  assert.deepEqual(e.details?.reasons, [{ keyid: ed.keyid, reason: 'signature does not verify' }]);
});

test('wrong key, unknown keyid, forged keyid', () => {
  const byStranger = signDag(doc(), stranger.privateKeyPem);
  rejects(() => verifyDagSignature(byStranger, trust, { allowUnsigned: false }), /unknown keyid/);
  const forged = structuredClone(byStranger);
  forged.signature!.signatures[0]!.keyid = ed.keyid; // claims a trusted key
  rejects(() => verifyDagSignature(forged, trust, { allowUnsigned: false }), /does not verify/);
  const noKeyid = structuredClone(signDag(doc(), p256.privateKeyPem));
  delete noKeyid.signature!.signatures[0]!.keyid; // keyid is only a hint: every trusted key is tried
  assert.deepEqual(verifyDagSignature(noKeyid, trust, { allowUnsigned: false }), [p256.keyid]);
});

test('wrong payloadType, bad base64, malformed envelopes', () => {
  const content = dagCanonicalJson(doc());
  const wrongType = { ...doc(), signature: dsseSign('application/json', content, ed.privateKeyPem) };
  rejects(() => verifyDagSignature(wrongType, trust, { allowUnsigned: false }), /payloadType/);
  const signed = signDag(doc(), ed.privateKeyPem);
  const badPayload = { ...signed, signature: { ...signed.signature!, payload: signed.signature!.payload + '*' } };
  rejects(() => verifyDagSignature(badPayload, trust, { allowUnsigned: false }), /base64/);
  const badSig = structuredClone(signed);
  badSig.signature!.signatures[0]!.sig = 'not base64!';
  rejects(() => verifyDagSignature(badSig, trust, { allowUnsigned: false }), /base64/);
  const none = { ...signed, signature: { ...signed.signature!, signatures: [] } };
  rejects(() => verifyDagSignature(none, trust, { allowUnsigned: false }), /no signatures/);
  rejects(() => dsseVerify({ payloadType: DAG_PAYLOAD_TYPE }, trust, DAG_PAYLOAD_TYPE), /malformed/);
  rejects(() => dsseVerify('x', trust, DAG_PAYLOAD_TYPE), /malformed/);
});

test('unsigned documents: refused unless allowed; a present signature is always checked', () => {
  rejects(() => verifyDagSignature(doc(), trust, { allowUnsigned: false }), /not signed/);
  assert.deepEqual(verifyDagSignature(doc(), trust, { allowUnsigned: true }), []);
  const bad = { ...signDag(doc(), stranger.privateKeyPem) };
  rejects(() => verifyDagSignature(bad, trust, { allowUnsigned: true }));
});

test('URL-safe and unpadded base64 are accepted (DSSE); non-canonical base64 is not', () => {
  const payload = Buffer.from([0xfb, 0xff, 0xbf, 0x01]);
  const env = dsseSign('t', payload, ed.privateKeyPem);
  const urlSafe = {
    ...env,
    payload: payload.toString('base64url'),
    signatures: env.signatures.map((s) => ({ ...s, sig: Buffer.from(s.sig, 'base64').toString('base64url') })),
  };
  assert.deepEqual(dsseVerify(urlSafe, trust, 't').payload, payload);
  assert.deepEqual(decodeBase64Strict('aGk'), Buffer.from('hi'));
  assert.deepEqual(decodeBase64Strict(''), Buffer.alloc(0));
  for (const bad of ['aGl=', 'aGk==', 'aGk=a', 'a', 'aG k=', 'a+_b', 'aGk===']) assert.equal(decodeBase64Strict(bad), null, bad);
});

test('TrustStore.fromDir loads *.pem and *.pub, ignores other files, refuses private keys', () => {
  const dir = mkdtempSync(join(tmpdir(), 'trust-'));
  try {
    writeFileSync(join(dir, 'a.pem'), ed.publicKeyPem);
    writeFileSync(join(dir, 'b.pub'), p256.publicKeyPem);
    writeFileSync(join(dir, 'README.md'), 'not a key');
    writeFileSync(join(dir, 'c.pem.bak'), stranger.publicKeyPem);
    mkdirSync(join(dir, 'sub.pem')); // a tenant's sub-folder (empty), not a key file
    const store = TrustStore.fromDir(dir);
    assert.deepEqual(store.keyIds(), [ed.keyid, p256.keyid].sort());
    writeFileSync(join(dir, 'oops.pem'), stranger.privateKeyPem);
    assert.throws(() => TrustStore.fromDir(dir), /oops\.pem: a private key/);
    writeFileSync(join(dir, 'oops.pem'), stranger.publicKeyPem + ed.publicKeyPem);
    assert.throws(() => TrustStore.fromDir(dir), /oops\.pem: expected exactly one/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('trust sub-folders named after a tenant hold keys trusted only for that tenant', () => {
  const dir = mkdtempSync(join(tmpdir(), 'trust-'));
  try {
    writeFileSync(join(dir, 'global.pem'), ed.publicKeyPem);
    mkdirSync(join(dir, 'acme'));
    writeFileSync(join(dir, 'acme', 'acme.pem'), p256.publicKeyPem);
    mkdirSync(join(dir, '.git'));
    writeFileSync(join(dir, '.git', 'x.pem'), stranger.privateKeyPem);
    const store = TrustStore.fromDir(dir);
    assert.deepEqual(store.keyIds(), [ed.keyid], 'the store itself: installation-wide keys only');
    assert.deepEqual(store.forTenant('acme').keyIds(), [ed.keyid, p256.keyid].sort());
    assert.deepEqual(store.forTenant('other').keyIds(), [ed.keyid]);
    assert.deepEqual(store.anyTenant().keyIds(), [ed.keyid, p256.keyid].sort());
    assert.deepEqual(store.tenants(), ['acme']);
    const env = dsseSign('t', Buffer.from('x'), p256.privateKeyPem);
    assert.deepEqual(dsseVerify(env, store.forTenant('acme'), 't').signedBy, [p256.keyid]);
    assert.throws(() => dsseVerify(env, store.forTenant('other'), 't'), /no signature verifies/);
    assert.throws(() => dsseVerify(env, store, 't'), /no signature verifies/);
    mkdirSync(join(dir, 'Bad Name'));
    assert.throws(() => TrustStore.fromDir(dir), /Bad Name: a sub-folder must be named after a tenant/);
    rmSync(join(dir, 'Bad Name'), { recursive: true });
    mkdirSync(join(dir, 'acme', 'deeper'));
    assert.throws(() => TrustStore.fromDir(dir), /deeper: a sub-folder must be named after a tenant .* and hold keys only/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('only Ed25519 and P-256 keys are supported', async () => {
  const { generateKeyPairSync } = await import('node:crypto');
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
  assert.throws(() => new TrustStore().add(rsa.publicKey), /unsupported key type rsa/);
  assert.throws(() => dsseSign('t', 'x', rsa.privateKey), /unsupported key type rsa/);
  const k1 = generateKeyPairSync('ec', { namedCurve: 'secp256k1', publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
  assert.throws(() => new TrustStore().add(k1.publicKey), /secp256k1/);
});

test('the committed sample DAGs are signed by the dev key and are up to date', async () => {
  const { readFileSync, readdirSync } = await import('node:fs');
  const root = new URL('../../fixtures/', import.meta.url);
  const devTrust = TrustStore.fromDir(fileURLToPath(new URL('keys/trust', root)));
  const names = readdirSync(new URL('dags/_src', root)).filter((n) => n.endsWith('.json')).sort();
  assert.deepEqual(names, ['hello.json', 'image-scan.json', 'policy-refresh.json']);
  for (const name of names) {
    const signed = parseDag(JSON.parse(readFileSync(new URL(`dags/demo/${name}`, root), 'utf8')));
    const source = parseDag(JSON.parse(readFileSync(new URL(`dags/_src/${name}`, root), 'utf8')));
    assert.deepEqual(verifyDagSignature(signed, devTrust, { allowUnsigned: false }), devTrust.keyIds());
    assert.equal(dagHash(signed), dagHash(source), `${name} is stale: run npx tsx scripts/sign-fixtures.ts`);
  }
});
