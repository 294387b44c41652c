/**
 * `orchestrator events tail`: the tenant's live event stream, resumed after dropped
 * connections without a gap or a duplicate. `--since N` first replays every event after seq N
 * (`--since 0`: the whole retained log); `--limit N` stops after N events (else it runs until
 * interrupted). For people: `SEQ  TIME  TYPE  DAG  RUN  [STEP]  STATUS`; for scripts (default
 * when piped, also `--output json`): one event per line, as the server sent it.
 */
import { RUN_STATUSES, STEP_STATUSES } from '../../runs/states.js';
import { EXIT } from '../commands.js';
import { args, clientCommand, dagIdFilter, intFlag } from './command.js';
import { EventFollower } from './follow.js';

const EVENT_STATUSES = [...new Set([...RUN_STATUSES, ...STEP_STATUSES])];

export const eventsTail = clientCommand({
  name: 'events tail',
  summary: 'Print run and step events as they happen (--since N replays after seq N first).',
  examples: ['orchestrator events tail --dag-id image-scan --since 0 --limit 10', 'orchestrator events tail --since 0 --limit 5 --output ndjson'],
  flags: [
    dagIdFilter('events'),
    { name: 'status', kind: 'string', env: false, values: EVENT_STATUSES, help: 'only events with this status' },
    { name: 'since', kind: 'string', env: false, arg: 'SEQ', help: 'first replay the events after this seq' },
    { name: 'limit', kind: 'string', env: false, arg: 'N', help: 'stop after N events' },
  ],
  pipedFormat: 'ndjson',
  async run(ctx, positional) {
    args(positional, 0, 0, 'events tail [flags]');
    const { out, flags } = ctx;
    const since = intFlag(flags, 'since', 0);
    let left = intFlag(flags, 'limit', 1) ?? Infinity;
    const filter = { dagId: flags['dag-id'] as string | undefined, status: flags.status as string | undefined };
    const follower = new EventFollower(ctx.api, filter, since, ctx.signal, (why) => out.note(`stream interrupted (${why}); resuming`));
    for await (const e of follower.events()) {
      if (out.format !== 'table') out.line(JSON.stringify(e));
      else {
        const step = e.stepId ? `  ${e.stepId}` : '';
        out.line(`${String(e.seq).padStart(6)}  ${e.timestamp}  ${e.type.padEnd(13)}  ${e.dagId}  ${e.runId}${step}  ${out.status(e.status)}`);
      }
      if (--left === 0) break;
    }
    return EXIT.OK;
  },
});
