/**
 * The HTTP listener of the server: the app (and its WebSocket upgrades) on host:port, with the
 * slow-client timeouts and the header limit docs/API.md states, and how it is closed.
 *
 * The port is bound before the app exists and before the HTTP adapter (`@hono/node-server`) is
 * loaded (issue #20): the server builds its engine, recovers and builds its routes after
 * `listening` is announced; importing the adapter reads the global `Request`/`Response`, which
 * loads Node's undici (≈ 36 ms of start-up), and `ws` (which loads node:https and node:tls)
 * comes with it. `attach(fetch)` loads both and serves the app; a request or upgrade that
 * arrives before waits for it (parked, then handled in arrival order). The GET routes whose
 * answers are JSON are answered on node's own request and response (`plain`, http/plain.ts,
 * given to `attach` with the app); every other request goes to the app.
 *
 * @example
 * const l = await listen(config, onServer);
 * console.log(l.url); await l.attach(app.fetch); await l.close();
 */
import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { answerClientErrors, MAX_HEADER_BYTES } from '../http/client-errors.js';
import { withUpgradeAnswers } from '../http/upgrade.js';
import type { ServeConfig } from './config.js';

export interface Listener {
  url: string;
  port: number;
  /** Loads the HTTP adapter and serves `fetch` (the first call's); requests that arrived before are answered then. */
  attach(fetch: Fetch, plain?: Plain): Promise<void>;
  /** Stops listening and drops every open connection (keep-alive, streams). */
  close(): Promise<void>;
}

type Fetch = (req: Request, env?: unknown) => Response | Promise<Response>;
/** Answers the requests it takes on node's objects (http/plain.ts): true when it took one. */
type Plain = (req: IncomingMessage, res: ServerResponse) => boolean;

/**
 * Binds `config.host:config.port` and resolves once the port is bound; `attach(fetch)` then
 * serves `fetch` there. `onServer` gets the close function before the port is bound, so that a failed
 * start-up can close it.
 */
export async function listen(config: Pick<ServeConfig, 'host' | 'port' | 'headersTimeoutMs' | 'requestTimeoutMs'>, onServer: (close: () => Promise<void>) => void): Promise<Listener> {
  // Slow clients (slowloris): Node checks these timeouts every connectionsCheckingInterval
  // (default 30 s, which would let a 10 s limit stretch to 40 s), so check often enough.
  const serverOptions = {
    headersTimeout: config.headersTimeoutMs,
    requestTimeout: config.requestTimeoutMs,
    connectionsCheckingInterval: Math.min(1000, config.headersTimeoutMs / 4),
    // Set, not inherited (NODE_OPTIONS could change it): the limit docs/API.md states.
    maxHeaderSize: MAX_HEADER_BYTES,
  };
  const server = createServer(serverOptions);
  const parked = parkEarlyArrivals(server);
  answerClientErrors(server, { maxHeaderSize: MAX_HEADER_BYTES });
  const close = () => closeListener(server);
  onServer(close);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
    server.listen(config.port, config.host);
  });
  const port = (server.address() as AddressInfo).port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  let attached: Promise<void> | undefined;
  const attach = (fetch: Fetch, plain?: Plain) =>
    (attached ??= Promise.all([import('@hono/node-server'), import('ws')]).then(([{ createAdaptorServer }, { WebSocketServer }]) => {
      // WebSocket upgrades go through the same app (and so the same auth, tenant and scope rules).
      const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
      // The adapter's request and upgrade handlers go on the server already bound.
      // The plain JSON answers first (http/plain.ts); every other request to the app.
      const onto = ((_options: unknown, onRequest: RequestListener) =>
        server.on('request', plain === undefined ? onRequest : (req, res) => plain(req, res) || onRequest(req, res))) as typeof createServer;
      createAdaptorServer({ fetch: withUpgradeAnswers(fetch), hostname: config.host, serverOptions, websocket: { server: wss }, createServer: onto });
      parked.release();
    }));
  return { url: `http://${host}:${port}`, port, attach, close };
}

/** Holds the requests and upgrades that arrive before the adapter's handlers are on `server`. */
function parkEarlyArrivals(server: Server): { release(): void } {
  const waiting: Array<[event: 'request' | 'upgrade', args: unknown[]]> = [];
  const onRequest = (...args: unknown[]) => waiting.push(['request', args]);
  const onUpgrade = (...args: unknown[]) => waiting.push(['upgrade', args]);
  server.on('request', onRequest).on('upgrade', onUpgrade);
  return {
    release() {
      server.off('request', onRequest).off('upgrade', onUpgrade);
      for (const [event, args] of waiting.splice(0)) server.emit(event, ...args);
    },
  };
}

function closeListener(server: Server): Promise<void> {
  return new Promise<void>((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
    (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
  });
}
