/** Content-addressed artifact store (public face of `src/artifacts/`). */
export {
  ArtifactStore,
  normalizeArtifactHash,
  type ArtifactStat,
  type PutResult,
  type StoreFs,
} from './store.js';
export { namedHashes } from './refs.js';
export { ArtifactWriter } from './writer.js';
export type { TenantArtifactReader } from './tenant.js';
