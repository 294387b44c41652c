/**
 * The web console (CONTRACT §13): a browser app (src/console/app/, Preact) served at
 * `/console/` by the same server, with assets embedded in the single executable. It reads
 * everything through the public API with the user's own token. See docs/CONSOLE.md.
 *
 * @example
 * mountConsole(app, { host: '127.0.0.1' });
 */
export { mountConsole, CONSOLE_CSP, CONSOLE_ROUTES, DEV_TOKEN_PATH, type ConsoleOptions } from './serve.js';
export { loadConsoleAssets, type ConsoleAssets } from './assets.js';
