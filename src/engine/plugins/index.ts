/**
 * Public face of the plugin registry: loading operator and tenant plugin folders, their
 * manifests, and the content hash that pins a plugin's files. Only what other folders use.
 *
 * @example
 * import { loadPlugins, hashPluginDir } from './plugins/index.js';
 * const registry = loadPlugins(['plugins']);
 * const hash = hashPluginDir('plugins/digest-manifest');
 */
export { loadPlugins, reloadablePlugins, installationPlugins, PluginManifestSchema, type PluginManifest } from './plugins.js';
export { hashPluginDir, hashPluginFiles, readPluginDir, type PluginFile } from './files.js';
