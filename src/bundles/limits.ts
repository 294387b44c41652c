/**
 * Limits applied while reading a bundle (zip-bomb and resource guards). Every one is checked
 * before the memory it protects is allocated: the gzip stream is inflated with a hard output
 * cap, so a small archive that expands past `maxUnpackedBytes` is refused without ever
 * holding more than that many bytes.
 */
export interface BundleLimits {
  /** The `.tgz` file itself. */
  maxBundleBytes: number;
  /** The decompressed tar stream (headers, data and padding). */
  maxUnpackedBytes: number;
  /** Archive entries (files and folders). */
  maxEntries: number;
  /** One file. */
  maxFileBytes: number;
  /** Bytes of a path (ustar allows at most 255: 155 prefix + "/" + 100 name; less if unsplittable). */
  maxPathBytes: number;
  /** Path segments. */
  maxPathDepth: number;
}

export const MiB = 1024 * 1024;

export const DEFAULT_BUNDLE_LIMITS: Readonly<BundleLimits> = Object.freeze({
  maxBundleBytes: 256 * MiB,
  maxUnpackedBytes: 256 * MiB,
  maxEntries: 10_000,
  maxFileBytes: 64 * MiB,
  maxPathBytes: 255,
  maxPathDepth: 16,
});

/** The defaults with some overridden. */
export function bundleLimits(overrides: Partial<BundleLimits> = {}): BundleLimits {
  return { ...DEFAULT_BUNDLE_LIMITS, ...overrides };
}
