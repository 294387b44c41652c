/**
 * The HTTP listener of the server: the app (and its WebSocket upgrades) on host:port, with the
 * slow-client timeouts and the header limit docs/API.md states, and how it is closed.
 *
 * @example
 * const l = await listen(app.fetch, config);
 * console.log(l.url); await l.close();
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { serve } from '@hono/node-server';
import { WebSocketServer } from 'ws';
import { answerClientErrors, MAX_HEADER_BYTES, withUpgradeAnswers } from '../http/index.js';
import type { ServeConfig } from './config.js';

export interface Listener {
  url: string;
  port: number;
  /** Stops listening and drops every open connection (keep-alive, streams). */
  close(): Promise<void>;
}

/**
 * Serves `fetch` on `config.host:config.port` and resolves once the port is bound. `onServer`
 * gets the server before it is bound, so that a failed start-up can close it.
 */
export async function listen(
  fetch: (req: Request, env?: unknown) => Response | Promise<Response>,
  config: Pick<ServeConfig, 'host' | 'port' | 'headersTimeoutMs' | 'requestTimeoutMs'>,
  onServer: (close: () => Promise<void>) => void,
): Promise<Listener> {
  // WebSocket upgrades go through the same app (and so the same auth, tenant and scope rules).
  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  // Slow clients (slowloris): Node checks these timeouts every connectionsCheckingInterval
  // (default 30 s, which would let a 10 s limit stretch to 40 s), so check often enough.
  const serverOptions = {
    headersTimeout: config.headersTimeoutMs,
    requestTimeout: config.requestTimeoutMs,
    connectionsCheckingInterval: Math.min(1000, config.headersTimeoutMs / 4),
    // Set, not inherited (NODE_OPTIONS could change it): the limit docs/API.md states.
    maxHeaderSize: MAX_HEADER_BYTES,
  };
  const server = serve({ fetch: withUpgradeAnswers(fetch), hostname: config.host, port: config.port, serverOptions, websocket: { server: wss } }) as Server;
  answerClientErrors(server, { maxHeaderSize: MAX_HEADER_BYTES });
  const close = () => closeListener(server);
  onServer(close);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const port = (server.address() as AddressInfo).port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  return { url: `http://${host}:${port}`, port, close };
}

function closeListener(server: Server): Promise<void> {
  return new Promise<void>((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
    (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
  });
}
