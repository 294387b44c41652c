/**
 * Public face of the plugin registry: loading operator and tenant plugin folders, their
 * manifests, and the content hash that pins a plugin's files.
 *
 * @example
 * import { loadPlugins, hashPluginDir } from './plugins/index.js';
 * const registry = loadPlugins(['plugins']);
 * const hash = hashPluginDir('plugins/digest-manifest');
 */
export {
  loadPlugins,
  reloadablePlugins,
  installationPlugins,
  TENANT_PLUGINS_DIR,
  type ReloadableRegistry,
  PluginLoadError,
  PluginManifestSchema,
  type PluginManifest,
  type PluginRegistry,
  type PluginSources,
  type PinCheck,
  type ResolvedPlugin,
} from './plugins.js';
export { hashPluginDir, hashPluginFiles, readPluginDir, type PluginFile } from './files.js';
