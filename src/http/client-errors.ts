/**
 * Requests that node:http refuses before any route sees them get the same envelope as every
 * other error, with `traceparent` and the security headers, instead of Node's bare status line:
 * request headers over the server's limit (431 `HEADERS_TOO_LARGE`, `details.limitBytes`), a
 * request not complete within `--headers-timeout`/`--request-timeout` (408 `REQUEST_TIMEOUT`),
 * and a request that is not HTTP (400 `VALIDATION_FAILED`). The connection is then closed.
 *
 * @example
 * answerClientErrors(server, { maxHeaderSize: 16384 });
 */
import type { Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { ApiError } from '../core/index.js';
import { writeRawAnswer } from './upgrade.js';

/** Node's default request header limit (`--max-http-header-size`), which the server sets explicitly. */
export const MAX_HEADER_BYTES = 16 * 1024;

function refusal(err: NodeJS.ErrnoException, maxHeaderSize: number): ApiError | undefined {
  if (err.code === 'HPE_HEADER_OVERFLOW') {
    return new ApiError('HEADERS_TOO_LARGE', `the request line and headers exceed ${maxHeaderSize} bytes`, { limitBytes: maxHeaderSize });
  }
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') return new ApiError('REQUEST_TIMEOUT', 'the request did not arrive in time');
  if (err.code?.startsWith('HPE_')) return new ApiError('VALIDATION_FAILED', 'malformed HTTP request', { field: 'request' });
  return undefined;
}

export function answerClientErrors(server: Server, opts: { maxHeaderSize: number }): void {
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    // Nothing to answer on a connection that is gone or already carries a response.
    const inResponse = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent;
    const error = socket.writable && !inResponse ? refusal(err, opts.maxHeaderSize) : undefined;
    if (!error) {
      socket.destroy();
      return;
    }
    // The app module (hono, the middleware) is imported on the first refusal: the listener that
    // installs this handler is bound before the app exists (src/cli/listener.ts, issue #20).
    void import('./app.js')
      .then(({ envelopeAnswer }) => envelopeAnswer(error))
      .then((res) => writeRawAnswer(socket, res), () => socket.destroy());
  });
}
