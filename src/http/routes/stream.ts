import { z } from 'zod';
import { ApiError, UUID_V7_RE } from '../../core/index.js';
import { NdjsonSink, WebSocketSink, type EventHub, type Stream } from '../../events/index.js';
import { defineRoute, type RouteCtx } from '../route.js';
import { markUpgradeAccepted } from '../upgrade.js';
import { Id } from './common.js';

declare module '../deps.js' {
  interface Services {
    stream: { hub: EventHub; heartbeatMs: number };
  }
}

export const EVENT_STATUSES = [
  'pending', 'queued', 'running', 'retrying', 'cancelling', 'completed', 'failed', 'skipped', 'cancelled',
] as const;

const StreamQuery = z
  .object({
    dagId: Id.optional(),
    runId: z.string().regex(UUID_V7_RE, 'must be a run id (lowercase UUIDv7)').optional(),
    status: z.enum(EVENT_STATUSES).optional(),
    since: z.coerce.number().int().min(0).optional(),
  })
  .strict();

type Query = z.infer<typeof StreamQuery>;

const StreamHeaders = z.object({
  'Last-Event-ID': z
    .string()
    .regex(/^\d{1,15}$/, 'must be an event seq')
    .optional()
    .meta({ description: 'Resume after this seq (as `since`; `since` wins when both are given)' }),
});

/** `since`, else Last-Event-ID (validated by the pipeline against StreamHeaders). */
function sinceOf(ctx: RouteCtx<unknown, Query, unknown>): number | undefined {
  if (ctx.query.since !== undefined) return ctx.query.since;
  const last = ctx.hono.req.header('last-event-id');
  return last === undefined ? undefined : Number(last);
}

/** Closes the stream when the caller's token expires. */
function expireAt(stream: Stream, expiresAtMs: number | undefined): NodeJS.Timeout | undefined {
  if (expiresAtMs === undefined) return undefined;
  const t = setTimeout(() => stream.close('TOKEN_EXPIRED', 'the token expired; reconnect with a fresh token'), Math.max(0, expiresAtMs - Date.now()));
  t.unref();
  return t;
}

export const streamRuns = defineRoute({
  method: 'GET',
  path: '/runs/stream',
  operationId: 'streamRunEvents',
  summary: 'Live run and step events: WebSocket (one JSON event per text frame) or NDJSON over HTTP',
  scope: 'orchestrator:read',
  tenant: true,
  query: StreamQuery,
  headers: StreamHeaders,
  errors: ['QUOTA_EXCEEDED'],
  responses: {
    200: { mediaType: 'application/x-ndjson', description: 'one event per line (an Event, a heartbeat {type, timestamp} every 15 s, or a last {type: "error", code, message, timestamp})', headers: ['Last-Event-ID'] },
    101: { mediaType: 'websocket', description: 'with `Upgrade: websocket`: one JSON event per text frame' },
  },
  async handler(ctx) {
    const { hub, heartbeatMs } = ctx.deps.services.stream;
    // Without since: the tenant's last event now (the stream replays anything committed after it).
    const since = sinceOf(ctx) ?? (await hub.head(ctx.tenant));
    const filter = { dagId: ctx.query.dagId, status: ctx.query.status, runId: ctx.query.runId };
    const expires = ctx.principal?.expiresAt;

    if (ctx.hono.req.header('upgrade')?.toLowerCase() === 'websocket') {
      hub.assertCapacity(ctx.tenant); // 429 before the upgrade, not after
      let stream: Stream | undefined;
      let sink: WebSocketSink | undefined;
      let timer: NodeJS.Timeout | undefined;
      // Loaded here, not at start-up: the adapter is loaded after `listening` (src/cli/listener.ts).
      const { upgradeWebSocket } = await import('@hono/node-server');
      const res = await upgradeWebSocket(() => ({
        onOpen(_e, ws) {
          sink = new WebSocketSink(ws.raw as never, heartbeatMs);
          try {
            stream = hub.open(ctx.tenant, filter, since, sink);
          } catch {
            ws.close(4029, 'QUOTA_EXCEEDED');
            return;
          }
          timer = expireAt(stream, expires);
          void hub.replay(stream);
        },
        onClose() {
          clearTimeout(timer);
          sink?.stop();
          stream?.detach();
        },
      }))(ctx.hono, async () => {});
      if (res && res.status < 300) markUpgradeAccepted(ctx.hono);
      return res ?? new Response(null, { status: 400 });
    }

    const sink = new NdjsonSink(heartbeatMs);
    const stream = hub.open(ctx.tenant, filter, since, sink);
    // Where this stream starts: a client that loses the connection before its first event
    // resumes with since=<this> (the replay below moves stream.lastSeq on).
    const position = String(stream.lastSeq);
    const timer = expireAt(stream, expires);
    sink.onCancel = () => {
      clearTimeout(timer);
      stream.detach();
    };
    void hub.replay(stream);
    return new Response(sink.body, {
      status: 200,
      headers: {
        'content-type': 'application/x-ndjson; charset=utf-8',
        'cache-control': 'no-store',
        'x-accel-buffering': 'no',
        'last-event-id': position,
      },
    });
  },
});

