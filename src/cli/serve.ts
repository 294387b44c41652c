/**
 * `orchestrator serve`: starts the server and runs it until SIGTERM or SIGINT (SIGHUP reloads).
 * Loaded lazily by the `serve` command of src/cli/index.ts, which holds its name, flags and help.
 */
import { mintToken } from '../auth/index.js';
import { API_BASE, coerceError } from '../core/index.js';
import { VERSION } from '../core/runtime.js';
import type { Flags } from './args.js';
import { serveConfig } from './config.js';
import { EXIT } from './commands.js';
import { createLogger, startServer, StartupAborted } from './server.js';

/**
 * What start-up checks between its steps (StartOptions.signal). Not an AbortController: its
 * first use loads Node's EventTarget internals, ≈ 5–7 ms of CPU before `listening` (issue #20).
 */
class StopFlag {
  aborted = false;
  throwIfAborted(): void {
    if (this.aborted) throw new StartupAborted('start-up interrupted by a stop signal');
  }
}

export async function serve(flags: Flags): Promise<number> {
  const config = serveConfig(flags);
  const logger = createLogger(config.logLevel);
  // Signals are caught from the very start: a SIGTERM during start-up stops it at its next
  // step (closing what it opened); after start-up it drains.
  const stopping = new StopFlag();
  const stopSignal = new Promise<string>((resolve) => {
    const on = (sig: string) => () => {
      stopping.aborted = true;
      resolve(sig);
    };
    process.once('SIGTERM', on('SIGTERM'));
    process.once('SIGINT', on('SIGINT'));
  });
  // SIGHUP (the usual "reload") re-reads the JWKS, trust folders and scrape token; it never
  // stops the server (Node's default for SIGHUP would end the process without a word).
  let server: Awaited<ReturnType<typeof startServer>> | undefined;
  const onHangup = () => {
    if (server) server.reload();
    else logger.warn('SIGHUP during start-up: nothing to reload yet (the configuration is being read now)');
  };
  process.on('SIGHUP', onHangup);
  try {
    server = await startServer(config, logger, {
      onListening: (url) => process.stdout.write(`listening on ${url}\n`),
      signal: stopping,
    });
  } catch (e) {
    // Everything start-up opened is closed again (listener, workers, lock); should some
    // handle still hold the process, it exits anyway.
    exitSoon();
    if (e instanceof StartupAborted) {
      logger.info({ signal: await stopSignal }, 'start-up interrupted; stopped');
      return EXIT.OK;
    }
    const reason = coerceError(e).message;
    logger.fatal({ err: e }, 'start-up failed');
    process.stderr.write(`orchestrator serve: start-up failed: ${reason}\n`);
    return EXIT.FAILED;
  }
  logger.info({ version: VERSION, url: server.url, dataDir: config.dataDir, dev: config.dev }, 'orchestrator started');
  if (config.dev && server.devKeys) {
    const k = server.devKeys;
    const token = await mintToken({
      privateKeyPem: k.privateKeyPem,
      kid: k.kid,
      tenants: ['demo'],
      scopes: ['orchestrator:admin'],
      ttlSec: 12 * 3600,
      issuer: k.issuer,
      audience: k.audience,
      subject: 'dev-admin',
    });
    const base = `${server.url}${API_BASE}`;
    process.stderr.write(
      [
        '',
        '  *** DEV MODE: tokens come from a key generated in the data folder. Never use --dev in production. ***',
        '',
        `  web console: ${server.url}/console/ (one-click dev sign-in)`,
        '',
        `  admin token for tenant "demo" (12 h):`,
        `  export TOKEN=${token}`,
        '',
        '  try:',
        `  curl -s -H "Authorization: Bearer $TOKEN" -H "X-Stella-Tenant: demo" ${base}/dags`,
        `  curl -s -X POST -H "Authorization: Bearer $TOKEN" -H "X-Stella-Tenant: demo" -H "Content-Type: application/json" \\`,
        `       -d '{"dagId":"hello","inputs":{"name":"world"}}' ${base}/runs`,
        `  curl -s -H "Authorization: Bearer $TOKEN" -H "X-Stella-Tenant: demo" "${base}/runs?page_size=5"`,
        `  curl -sN -H "Authorization: Bearer $TOKEN" -H "X-Stella-Tenant: demo" "${base}/runs/stream?since=0"`,
        '',
      ].join('\n'),
    );
  }
  const signal = await stopSignal;
  logger.info({ signal }, 'draining');
  process.off('SIGHUP', onHangup);
  try {
    await server.close();
  } catch (e) {
    logger.error({ err: e }, 'error while draining');
  }
  logger.info('stopped');
  return EXIT.OK;
}

/** A last resort after a failed or interrupted start-up: exit within 5 s even if a handle leaked. */
function exitSoon(): void {
  setTimeout(() => process.exit(process.exitCode ?? EXIT.FAILED), 5000).unref();
}
