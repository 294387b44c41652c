/**
 * Offline bundles (CONTRACT §8): a deterministic, signed `.tgz` of DAG documents, schedule
 * documents and plugin folders; verified completely before anything is installed; installed all or nothing.
 * See docs/BUNDLES.md.
 */
export { BundleError, BUNDLE_REASONS } from './errors.js';
export type { BundleReason } from './errors.js';
export { DEFAULT_BUNDLE_LIMITS, bundleLimits } from './limits.js';
export type { BundleLimits } from './limits.js';
export {
  BUNDLE_FORMAT,
  BUNDLE_PAYLOAD_TYPE,
  MANIFEST_PATH,
  SIGNATURE_PATH,
  BUNDLE_FORMAT_V1,
  buildManifest,
  bundleTenants,
  classifyPath,
  dagPath,
  schedulePath,
  manifestBytes,
  parseManifest,
  rootHashOf,
} from './manifest.js';
export type { BundleManifest, ManifestEntry } from './manifest.js';
export { createBundle, DEFAULT_CREATED_BY } from './create.js';
export type { CreateBundleInput, CreatedBundle } from './create.js';
export { verifyBundle } from './verify.js';
export type { VerifiedBundle, VerifiedDag, VerifyOptions } from './verify.js';
export { importBundle } from './import.js';
export type { ImportOptions, ImportReport, InstalledPlugin, ScheduleInstaller } from './import.js';
export type { VerifiedBundleSchedule } from './schedules.js';
export { readPluginDir, checkPlugin } from './plugins.js';
export type { BundlePlugin, PluginFile } from './plugins.js';
export { readTar, writeTar, encodeHeader, decodeHeader, tarPadding, TAR_END } from './tar.js';
export { gzipDeterministic, gunzipStrict, gzipStream, checkGzipHeader } from './gzip.js';
export { checkBundlePath, comparePaths } from './paths.js';
