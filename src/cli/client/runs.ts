/**
 * `orchestrator runs list|get|cancel` and what `runs start` shares with them: printing a run,
 * and waiting for or following one to its end (exit 0 completed, 4 failed or cancelled).
 *
 * `runs cancel` exits 3 when the cancellation is rejected: the run had already ended
 * `completed` or `failed`, so there is nothing left to cancel. A run already `cancelling` or
 * `cancelled` is what was asked for: exit 0 (cancel is idempotent).
 */
import { isRunTerminal, RUN_STATUSES } from '../../runs/states.js';
import type { FlagSpec, Flags } from '../args.js';
import { EXIT } from '../commands.js';
import { args, clientCommand, dagIdFilter, reasonBody, type ClientContext } from './command.js';
import { LIST_FLAGS, printList } from './list.js';
import { formatDuration, formatTime, type Format, type Output } from './output.js';
import { followView } from './view.js';
import { watchRun, type RunView, type WatchTarget } from './watch.js';

const runPath = (runId: string): string => `/runs/${encodeURIComponent(runId)}`;

/** A run for people: its fields, then one line per step. */
export function printRun(out: Output, run: RunView): void {
  if (out.format !== 'table') return out.json(run);
  out.fields([
    ['run', run.runId],
    ['dag', `${run.dagId}@${run.dagVersion}`],
    ['status', out.status(run.status)],
    ['started', formatTime(run.startedUtc)],
    ['ended', formatTime(run.endedUtc)],
    ['duration', formatDuration(run.durationMs)],
    ...(run.runToken ? ([['runToken', run.runToken]] as Array<[string, string]>) : []),
    ['trace', run.traceId],
  ]);
  if (!run.steps?.length) return;
  out.line();
  out.table(
    run.steps.map((s) => ({
      step: s.stepId,
      status: s.status,
      attempt: String(s.attempt),
      duration: formatDuration(s.durationMs),
      error: s.errorCode ? `${s.errorCode}: ${s.errorMessage ?? ''}` : '',
    })),
    [
      { key: 'step', title: 'STEP' },
      { key: 'status', title: 'STATUS', status: true },
      { key: 'attempt', title: 'ATTEMPT' },
      { key: 'duration', title: 'DURATION' },
      { key: 'error', title: 'ERROR' },
    ],
  );
}

/** Exit code of an awaited run: 0 completed, 4 failed or cancelled. */
export const runExit = (run: RunView): number => (run.status === 'completed' ? EXIT.OK : EXIT.RUN_FAILED);

/**
 * Waits for (`follow` false) or follows a run to its end and prints it; returns the exit code.
 * `quiet` prints nothing (the caller printed the run id).
 */
export async function awaitRun(ctx: ClientContext, target: WatchTarget, o: { follow: boolean; quiet?: boolean }): Promise<number> {
  const view = o.follow ? followView(ctx.out) : undefined;
  let final: RunView | undefined;
  try {
    final = await watchRun(ctx.api, target, {
      signal: ctx.signal,
      onStart: (m) => view?.start(m),
      onEvent: (e, m, changed) => view?.event(e, m, changed),
      onReconnect: (why) => (view ? view.reconnect(why) : ctx.out.note(`stream interrupted (${why}); resuming`)),
    });
  } finally {
    view?.end(final);
  }
  if (!view && !o.quiet) printRun(ctx.out, final);
  return runExit(final);
}

export const WAIT_FLAGS: FlagSpec[] = [
  { name: 'wait', kind: 'boolean', env: false, help: 'return when the run ends: exit 0 completed, 4 failed or cancelled' },
  { name: 'follow', kind: 'boolean', env: false, help: 'show each step as it changes until the run ends (implies --wait)' },
];

/** The flags of a command that starts a run (`runs start`, `schedules trigger`): {@link WAIT_FLAGS} and `--quiet`. */
export const START_FLAGS: FlagSpec[] = [...WAIT_FLAGS, { name: 'quiet', short: 'q', kind: 'boolean', env: false, help: 'print only the run id' }];

/**
 * Starts a run with `post` and shows it as `runs start` does: printed, or only its id
 * (`--quiet`), or waited for / followed to its end (`--wait`, `--follow`: the event stream,
 * narrowed to `dagId()`, is attached before the run starts). Returns the exit code.
 */
export async function startRun(ctx: ClientContext, post: () => Promise<RunView>, dagId: () => string | Promise<string>): Promise<number> {
  const f = ctx.flags;
  const start = async (): Promise<RunView> => {
    const run = await post();
    if (f.quiet) ctx.out.line(run.runId);
    return run;
  };
  if (f.wait || f.follow) return awaitRun(ctx, { start, dagId: await dagId() }, { follow: f.follow === true, quiet: f.quiet === true });
  const run = await start();
  if (!f.quiet) printRun(ctx.out, run);
  return EXIT.OK;
}

/** `--follow` draws for people even when piped (plain lines); otherwise JSON when piped. */
export const followFormat = (f: Flags): Format => (f.follow ? 'table' : 'json');

export const runsList = clientCommand({
  name: 'runs list',
  summary: 'List runs, newest first (startedUtc DESC, then runId).',
  examples: ['orchestrator runs list --status failed --limit 20', 'orchestrator runs list --dag-id hello --all --output ndjson'],
  flags: [
    dagIdFilter('runs'),
    { name: 'status', kind: 'string', env: false, values: RUN_STATUSES, help: 'only runs in this status' },
    { name: 'from', kind: 'string', env: false, arg: 'TIME', help: 'started at or after this ISO-8601 time' },
    { name: 'to', kind: 'string', env: false, arg: 'TIME', help: 'started before this ISO-8601 time' },
    ...LIST_FLAGS,
  ],
  async run(ctx, positional) {
    args(positional, 0, 0, 'runs list [flags]');
    const f = ctx.flags;
    await printList<RunView, Record<string, string>>(ctx, {
      path: '/runs',
      query: { dagId: f['dag-id'] as string, status: f.status as string, from: f.from as string, to: f.to as string },
      noun: 'runs',
      columns: [
        { key: 'runId', title: 'RUN' },
        { key: 'dag', title: 'DAG' },
        { key: 'status', title: 'STATUS', status: true },
        { key: 'started', title: 'STARTED' },
        { key: 'duration', title: 'DURATION' },
      ],
      row: (r) => ({
        runId: r.runId,
        dag: `${r.dagId}@${r.dagVersion}`,
        status: r.status,
        started: formatTime(r.startedUtc),
        duration: formatDuration(r.durationMs),
      }),
    });
    return EXIT.OK;
  },
});

export const runsGet = clientCommand({
  name: 'runs get',
  summary: 'Show a run with its steps; --wait or --follow until it ends.',
  args: 'RUN',
  examples: ['orchestrator runs get $RUN', 'orchestrator runs get $RUN --output json', 'orchestrator runs get $RUN --follow'],
  flags: [...WAIT_FLAGS],
  pipedFormat: followFormat,
  async run(ctx, positional) {
    const [runId] = args(positional, 1, 1, 'runs get RUN [--wait|--follow]');
    if (ctx.flags.wait || ctx.flags.follow) return awaitRun(ctx, { runId }, { follow: ctx.flags.follow === true });
    printRun(ctx.out, (await ctx.api.json<RunView>('GET', runPath(runId!))).body);
    return EXIT.OK;
  },
});

export const runsCancel = clientCommand({
  name: 'runs cancel',
  summary: 'Cancel a run (exit 3 when it had already ended completed or failed).',
  args: 'RUN',
  examples: ['orchestrator runs cancel $RUN --reason "maintenance window" --wait'],
  flags: [
    { name: 'reason', kind: 'string', env: false, arg: 'TEXT', help: 'why (stored with the run)' },
    { name: 'wait', kind: 'boolean', env: false, help: 'return when the run has ended' },
  ],
  async run(ctx, positional) {
    const [runId] = args(positional, 1, 1, 'runs cancel RUN [--reason TEXT] [--wait]');
    const { status, body: run } = await ctx.api.json<RunView>('POST', `${runPath(runId!)}:cancel`, { body: reasonBody(ctx.flags) });
    if (status === 200 && (run.status === 'completed' || run.status === 'failed')) {
      ctx.out.stderr.write(`orchestrator runs cancel: run ${run.runId} had already ended ${run.status}; nothing to cancel\n`);
      printRun(ctx.out, run);
      return EXIT.CANCEL_REJECTED;
    }
    if (status === 200) ctx.out.note(`run ${run.runId} was already ${run.status}`);
    if (ctx.flags.wait && !isRunTerminal(run.status)) {
      await awaitRun(ctx, { runId: run.runId }, { follow: false });
      return EXIT.OK;
    }
    printRun(ctx.out, run);
    return EXIT.OK;
  },
});
