/**
 * Refused WebSocket upgrades get the whole answer. An `Upgrade: websocket` request reaches the
 * app through @hono/node-server's 'upgrade' handler, which answers anything the app did not
 * upgrade with its status and headers only (`Content-Length: 0`): the error envelope (401,
 * 403, 429 QUOTA_EXCEEDED, …) would be lost. {@link withUpgradeAnswers} writes such answers
 * whole (status, headers, body) and closes the connection; a route that does upgrade marks it
 * with {@link markUpgradeAccepted} so the handshake goes on as usual.
 *
 * @example
 * serve({ fetch: withUpgradeAnswers(app.fetch), websocket: { server: wss } });
 */
import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Context } from 'hono';

const ACCEPTED = 'stellaUpgradeAccepted';
const HOP_BY_HOP = new Set(['connection', 'content-length', 'keep-alive', 'transfer-encoding', 'upgrade']);

/** Called by a route that handed the request to `upgradeWebSocket`. */
export function markUpgradeAccepted(c: Context): void {
  if (c.env && typeof c.env === 'object') (c.env as Record<string, unknown>)[ACCEPTED] = true;
}

type Fetch = (req: Request, env?: unknown) => Response | Promise<Response>;

export function withUpgradeAnswers(fetch: Fetch): (req: Request, env?: unknown) => Promise<Response> {
  return async (req, env) => {
    const res = await fetch(req, env);
    const e = env as { incoming?: IncomingMessage; outgoing?: unknown; [ACCEPTED]?: boolean } | undefined;
    // Plain requests have `outgoing` (a ServerResponse); upgrade requests do not.
    if (!e?.incoming || e.outgoing !== undefined || e[ACCEPTED]) return res;
    const socket = e.incoming.socket;
    if (socket.destroyed) return res;
    await writeRawAnswer(socket, res);
    return res;
  };
}

/**
 * Writes `res` whole (status, headers, body, `Connection: close`) on a socket that no HTTP
 * response object owns, then destroys the socket.
 */
export async function writeRawAnswer(socket: Duplex, res: Response): Promise<void> {
  const body = Buffer.from(await res.arrayBuffer());
  const lines = [`HTTP/1.1 ${res.status} ${STATUS_CODES[res.status] ?? ''}`, 'Connection: close', `Content-Length: ${body.byteLength}`];
  res.headers.forEach((v, k) => {
    if (!HOP_BY_HOP.has(k.toLowerCase())) lines.push(`${k}: ${v}`);
  });
  await new Promise<void>((resolve) => {
    socket.once('close', () => resolve());
    socket.once('error', () => resolve());
    socket.end(Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), body]), () => resolve());
  });
  // Destroyed: @hono/node-server sees the answer was given and leaves the socket alone.
  socket.destroy();
}
