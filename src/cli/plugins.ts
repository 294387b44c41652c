/**
 * The server's plugins: the operator's folders (installation-wide) and DATA/tenant-plugins/<tenant>/,
 * where bundle imports install each tenant's own (docs/PLUGINS.md); what was loaded is logged.
 *
 * @example
 * const { registry, sources } = serverPlugins(config.dataDir, config.pluginsDirs, logger);
 */
import type { Logger } from 'pino';
import { installationPlugins, reloadablePlugins } from '../engine/index.js';

export function serverPlugins(dataDir: string, pluginsDirs: readonly string[], logger: Logger) {
  const sources = installationPlugins(dataDir, pluginsDirs);
  const registry = reloadablePlugins(sources, (problem) => logger.warn({ problem }, 'plugins: a plugin folder was skipped'));
  if (sources.legacy.length > 0) {
    logger.warn({ dir: sources.legacy[0] }, 'plugins: folders installed by bundle imports of an earlier version are installation-wide; re-import their bundles per tenant and remove them (docs/PLUGINS.md)');
  }
  // Which plugins this server runs: name@version, whose (installation or a tenant), content hash.
  const loaded = registry.list().map((p) => ({ ref: p.ref, owner: p.builtin ? 'built-in' : (p.owner ?? 'installation'), hash: p.hash.slice(0, 12), ...(p.dir ? { dir: p.dir } : {}) }));
  logger.info({ count: loaded.length, plugins: loaded }, 'plugins: loaded');
  return { sources, registry };
}
