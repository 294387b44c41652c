// Sample plugin (plain ESM so it runs from source, as a bundle and in the single executable).
//
// with.artifacts: string[]            artifact hashes (or sha256:<hex>), read through ctx
// with.files:     {name: content}     inline UTF-8 files
// → stores {"entries":[{name,sha256,size}…],"manifestHash":…} (canonical JSON) as an artifact
//   and returns {manifestHash, count, artifact}. manifestHash is the SHA-256 of the canonical
//   JSON of {"entries":[…]}; entries are sorted by name (artifacts are named by their hash).
import { createHash } from 'node:crypto';

const HASH_RE = /^(?:sha256:)?([0-9a-f]{64})$/;

const sha256 = (data) => createHash('sha256').update(data).digest('hex');

/** For these shapes (string names, hex strings, integers, keys already in order), JSON.stringify is RFC 8785. */
const canonical = (entries) =>
  JSON.stringify({ entries: entries.map((e) => ({ name: e.name, sha256: e.sha256, size: e.size })) });

export default async function digestManifest(ctx) {
  const { artifacts = [], files = {} } = ctx.inputs;
  const invalid = (message) => ctx.fail('INPUTS_INVALID', message, { retryable: false });
  if (!Array.isArray(artifacts)) invalid('with.artifacts must be an array of artifact hashes');
  if (files === null || typeof files !== 'object' || Array.isArray(files)) invalid('with.files must be an object');
  if (artifacts.length + Object.keys(files).length === 0) invalid('give with.artifacts and/or with.files');

  const entries = [];
  const names = new Set();
  const add = (name, bytes) => {
    if (names.has(name)) ctx.fail('DUPLICATE_ENTRY', `two entries are named ${JSON.stringify(name)}`, { retryable: false });
    names.add(name);
    entries.push({ name, sha256: sha256(bytes), size: bytes.byteLength });
  };

  for (const ref of artifacts) {
    const m = typeof ref === 'string' ? HASH_RE.exec(ref) : null;
    if (!m) invalid(`not an artifact hash: ${JSON.stringify(ref)}`);
    if (ctx.signal.aborted) throw ctx.signal.reason;
    const bytes = await ctx.readArtifact(m[1]);
    if (sha256(bytes) !== m[1]) ctx.fail('ARTIFACT_CORRUPT', `artifact ${m[1]} does not match its hash`, { retryable: false });
    add(m[1], bytes);
  }
  for (const [name, content] of Object.entries(files)) {
    if (typeof content !== 'string') invalid(`with.files.${name} must be a string`);
    add(name, Buffer.from(content, 'utf8'));
  }

  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const manifestHash = sha256(canonical(entries));
  const document = `${canonical(entries).slice(0, -1)},"manifestHash":${JSON.stringify(manifestHash)}}`;
  const artifact = await ctx.writeArtifact(document, 'application/json');
  ctx.log('digest manifest written', { count: entries.length, manifestHash });
  return { manifestHash, count: entries.length, artifact };
}
