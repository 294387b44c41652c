/**
 * `orchestrator runs logs RUN [STEP] [--follow]`: the NDJSON logs of a run's step attempts
 * (each attempt's log is an artifact, `logsRef`, readable once the attempt has ended), in
 * step order then attempt order. For people: `STEP#ATTEMPT  TIME  LEVEL  message  {fields}`;
 * for scripts (`--output json|ndjson`, the default when piped): one object per line, each log
 * record with `stepId` and `attempt` in front. `--follow` prints each attempt's log as it
 * ends, until the run ends (exit 0 completed, 4 failed or cancelled).
 */
import { EXIT } from '../commands.js';
import { args, clientCommand, type ClientContext } from './command.js';
import type { Output } from './output.js';
import { runExit } from './runs.js';
import { watchRun, type RunView, type StepView } from './watch.js';

const LEVEL_STYLE = { error: 'red', warn: 'yellow', debug: 'dim', info: 'reset' } as const;
const ENDED_STEP = new Set(['completed', 'failed', 'retrying', 'cancelled']);

/** Prints one attempt's log records. */
function printLog(out: Output, stepId: string, attempt: number, text: string): void {
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    let rec: Record<string, unknown>;
    try {
      rec = JSON.parse(line) as Record<string, unknown>;
    } catch {
      rec = { msg: line };
    }
    if (out.format !== 'table') {
      out.line(JSON.stringify({ stepId, attempt, ...rec }));
      continue;
    }
    const { ts, level, msg, ...fields } = rec;
    const lvl = String(level ?? 'info');
    const style = LEVEL_STYLE[lvl as keyof typeof LEVEL_STYLE] ?? 'reset';
    const extra = Object.keys(fields).length ? `  ${out.paint('dim', JSON.stringify(fields))}` : '';
    out.line(`${out.paint('bold', `${stepId}#${attempt}`)}  ${String(ts ?? '')}  ${out.paint(style, lvl.padEnd(5))}  ${String(msg ?? '')}${extra}`);
  }
}

/** Prints the logs of the ended attempts of `steps` not printed yet. */
class LogPrinter {
  private readonly done = new Set<string>();
  printed = 0;

  constructor(private readonly ctx: ClientContext) {}

  async steps(steps: readonly StepView[]): Promise<void> {
    for (const s of steps) {
      for (const a of s.attempts) {
        const key = `${s.stepId}#${a.attempt}`;
        if (a.endedUtc === null || this.done.has(key)) continue;
        this.done.add(key);
        if (!a.logsRef) continue;
        const res = await this.ctx.api.send('GET', `/artifacts/${a.logsRef}`);
        printLog(this.ctx.out, s.stepId, a.attempt, await res.text());
        this.printed++;
      }
    }
  }
}

export const runsLogs = clientCommand({
  name: 'runs logs',
  summary: "Print a run's step logs (one step with STEP); --follow until the run ends.",
  args: 'RUN [STEP]',
  examples: ['orchestrator runs logs $RUN', 'orchestrator runs logs $RUN greet --output ndjson', 'orchestrator runs logs $RUN --follow'],
  flags: [{ name: 'follow', kind: 'boolean', env: false, help: 'print each attempt log as it ends, until the run ends' }],
  pipedFormat: 'ndjson',
  async run(ctx, positional) {
    const [runId, stepId] = args(positional, 1, 2, 'runs logs RUN [STEP] [--follow]');
    const runPath = `/runs/${encodeURIComponent(runId!)}`;
    const stepPath = (id: string) => `${runPath}/steps/${encodeURIComponent(id)}`;
    let exit: number = EXIT.OK;
    const printer = new LogPrinter(ctx);
    const only = (steps: readonly StepView[] = []) => (stepId === undefined ? steps : steps.filter((s) => s.stepId === stepId));
    if (!ctx.flags.follow) {
      await printer.steps(
        stepId !== undefined ? [(await ctx.api.json<StepView>('GET', stepPath(stepId))).body] : (await ctx.api.json<RunView>('GET', runPath)).body.steps ?? [],
      );
    } else {
      if (stepId !== undefined) await ctx.api.json('GET', stepPath(stepId)); // an unknown step is 404, before any waiting
      const final = await watchRun(ctx.api, { runId }, {
        signal: ctx.signal,
        onStart: (m) => printer.steps(only(m.run.steps)),
        onReconnect: (why) => ctx.out.note(`stream interrupted (${why}); resuming`),
        async onEvent(e) {
          if (!e.stepId || !ENDED_STEP.has(e.status) || (stepId !== undefined && e.stepId !== stepId)) return;
          await printer.steps([(await ctx.api.json<StepView>('GET', stepPath(e.stepId))).body]);
        },
      });
      await printer.steps(only(final.steps));
      exit = runExit(final);
    }
    if (printer.printed === 0 && ctx.out.format === 'table') ctx.out.note('no logs');
    return exit;
  },
});
