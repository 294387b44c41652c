/**
 * A TCP proxy in front of a real server that breaks event-stream connections on purpose:
 * a real dropped connection, as a flaky network or a restarting load balancer makes one.
 * Other requests pass untouched. For the n-th stream connection (0-based), `plan(n)` says
 * what happens to it:
 * - `{ cutAfterEvents: k }`: relay the response until k event lines went through, then a few
 *   more bytes (cutting the next line in half when it is there), then destroy the connection;
 * - `{ cutAfterHeaders: true }`: relay the response headers only, then destroy;
 * - `{ holdUntil: promise }`: do not let the request reach the server before `promise`;
 * - `'pass'`: relay everything.
 */
import { connect, createServer, type Socket } from 'node:net';

export type Plan = { cutAfterEvents: number } | { cutAfterHeaders: true } | { holdUntil: Promise<void> } | 'pass';

export interface DropProxy {
  url: string;
  /** Stream connections seen so far. */
  streams(): number;
  close(): Promise<void>;
}

const STREAM_REQUEST = Buffer.from('GET /api/v1/orchestrator/runs/stream');
const HEADERS_END = Buffer.from('\r\n\r\n');
/** The end of an event line inside the chunked body. */
const EVENT_END = Buffer.from('}\n');

export async function dropProxy(target: string, plan: (n: number) => Plan): Promise<DropProxy> {
  const { hostname, port } = new URL(target);
  let streams = 0;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    let upstream: Socket | undefined;
    let chain: Promise<void> = Promise.resolve();
    let rule: Plan = 'pass';
    let stream = false;
    let headersDone = false;
    let events = 0;
    const kill = () => {
      client.destroy();
      upstream?.destroy();
    };
    const open = () => {
      upstream = connect(Number(port), hostname);
      sockets.add(upstream);
      upstream.on('close', () => (sockets.delete(upstream!), client.destroy()));
      upstream.on('error', kill);
      upstream.on('data', (chunk: Buffer) => {
        if (!stream || rule === 'pass' || 'holdUntil' in rule) return void client.write(chunk);
        let from = 0;
        if (!headersDone) {
          const end = chunk.indexOf(HEADERS_END);
          if (end === -1) return void client.write(chunk);
          headersDone = true;
          from = end + HEADERS_END.length;
          if ('cutAfterHeaders' in rule) return void client.write(chunk.subarray(0, from), kill);
        }
        if (!('cutAfterEvents' in rule)) return void client.write(chunk);
        for (let i = chunk.indexOf(EVENT_END, from); i !== -1; i = chunk.indexOf(EVENT_END, i + 1)) {
          if (++events === rule.cutAfterEvents) return void client.write(chunk.subarray(0, Math.min(chunk.length, i + 2 + 25)), kill);
        }
        client.write(chunk);
      });
    };
    client.on('error', kill);
    client.on('data', (chunk: Buffer) => {
      if (!stream && chunk.indexOf(STREAM_REQUEST) !== -1) {
        stream = true;
        rule = plan(streams++);
      }
      const hold = typeof rule === 'object' && 'holdUntil' in rule ? rule.holdUntil : undefined;
      chain = chain.then(async () => {
        if (hold) await hold;
        if (!upstream) open();
        upstream!.write(chunk);
      });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${addr.port}`,
    streams: () => streams,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}
