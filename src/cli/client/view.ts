/**
 * The three ways `--follow` shows a run as it changes:
 * - {@link LiveView} on a terminal: a compact block redrawn in place (run status and counts, one
 *   line per step, the busiest first when the terminal is too short), with elapsed times;
 * - {@link LineView} when piped: one plain line per change, `TIME  run|step ID  STATUS`;
 * - {@link EventView} with `--output json|ndjson`: each event of the run, verbatim, one per line.
 *
 * @example
 * const view = followView(out);
 * await watchRun(api, target, { onStart: (m) => view.start(m), onEvent: (e, m, changed) => view.event(e, m, changed) });
 * view.end(final);
 */
import { stripVTControlCharacters } from 'node:util';
import type { StreamEvent } from './follow.js';
import { formatDuration, type Output } from './output.js';
import type { RunModel, RunView, StepState } from './watch.js';

export interface FollowView {
  start(model: RunModel): void;
  event(e: StreamEvent, model: RunModel, changed: boolean): void;
  reconnect(why: string): void;
  /** The run ended (or the command stops): last drawing, the failures. */
  end(final: RunView | undefined): void;
}

const ICON: Record<string, string> = {
  completed: '✓',
  failed: '✗',
  cancelled: '⊘',
  cancelling: '…',
  skipped: '-',
  running: '▶',
  retrying: '↻',
  queued: '·',
  pending: ' ',
};
/** Order in which steps are shown when not all fit: the ones a person is waiting for first. */
const URGENCY = ['failed', 'running', 'retrying', 'cancelling', 'queued', 'cancelled', 'pending', 'completed', 'skipped'];

function title(run: RunView): string {
  return `run ${run.runId}  ${run.dagId}@${run.dagVersion}`;
}

/** Failed steps' error codes and messages, for the last lines of a follow. */
function failures(out: Output, final: RunView | undefined): void {
  for (const s of final?.steps ?? []) {
    if (s.status === 'failed' && s.errorCode) out.line(`${out.paint('red', `step ${s.stepId} failed`)}: ${s.errorCode}: ${s.errorMessage ?? ''}`);
  }
}

export class LineView implements FollowView {
  private width = 0;

  constructor(private readonly out: Output) {}

  start(m: RunModel): void {
    this.width = Math.min(45, Math.max(3, ...[...m.steps.keys()].map((id) => id.length + 5)));
    this.out.line(`${title(m.run)}  ${this.out.status(m.status)}`);
  }

  event(e: StreamEvent, _m: RunModel, changed: boolean): void {
    if (!changed) return;
    const what = e.stepId ? `step ${e.stepId}` : 'run';
    this.out.line(`${e.timestamp}  ${what.padEnd(this.width)}  ${this.out.status(e.status)}`);
  }

  reconnect(why: string): void {
    this.out.note(`stream interrupted (${why}); resuming`);
  }

  end(final: RunView | undefined): void {
    if (!final) return;
    failures(this.out, final);
    this.out.line(`run ${final.runId} ${this.out.status(final.status)} in ${formatDuration(final.durationMs)}`);
  }
}

export class EventView implements FollowView {
  constructor(private readonly out: Output) {}
  start(): void {}
  event(e: StreamEvent): void {
    this.out.line(JSON.stringify(e));
  }
  reconnect(why: string): void {
    this.out.note(`stream interrupted (${why}); resuming`);
  }
  end(): void {}
}

export class LiveView implements FollowView {
  private drawn = 0;
  private model: RunModel | undefined;
  private readonly timer: NodeJS.Timeout;
  private note = '';

  private readonly showCursor = (): void => void this.out.stdout.write('\x1b[?25h');

  constructor(private readonly out: Output) {
    this.timer = setInterval(() => this.draw(), 250);
    this.timer.unref();
    out.stdout.write('\x1b[?25l'); // hide the cursor while redrawing; shown again however the process ends
    process.once('exit', this.showCursor);
  }

  start(m: RunModel): void {
    this.model = m;
    this.draw();
  }

  event(_e: StreamEvent, m: RunModel, changed: boolean): void {
    this.model = m;
    this.note = '';
    if (changed) this.draw();
  }

  reconnect(why: string): void {
    this.note = `stream interrupted (${why}); resuming`;
    this.draw();
  }

  end(final: RunView | undefined): void {
    clearInterval(this.timer);
    this.note = '';
    this.draw();
    this.showCursor();
    process.off('exit', this.showCursor);
    failures(this.out, final);
  }

  private stepLine(s: StepState, width: number, now: number): string {
    const took = s.startedMs === null ? '' : formatDuration((s.endedMs ?? now) - s.startedMs);
    return `  ${this.out.status(s.status, ICON[s.status] ?? '?')} ${s.stepId.padEnd(width)}  ${this.out.status(s.status, s.status.padEnd(10))} ${took}`;
  }

  private draw(): void {
    const m = this.model;
    if (!m) return;
    const now = Date.now();
    const steps = [...m.steps.values()];
    const counts = new Map<string, number>();
    for (const s of steps) counts.set(s.status, (counts.get(s.status) ?? 0) + 1);
    const summary = [...counts].map(([k, n]) => `${n} ${k}`).join(', ');
    const elapsed = formatDuration((m.endedMs ?? now) - m.startedMs);
    const lines = [`${title(m.run)}  ${this.out.status(m.status)}  ${elapsed}  (${summary})`];
    const room = Math.max(3, (this.out.stdout.rows || 24) - 3);
    let shown = steps;
    if (steps.length > room) {
      shown = [...steps].sort((a, b) => URGENCY.indexOf(a.status) - URGENCY.indexOf(b.status)).slice(0, room - 1);
    }
    const width = Math.min(40, Math.max(...shown.map((s) => s.stepId.length), 4));
    for (const s of shown) lines.push(this.stepLine(s, width, now));
    if (shown.length < steps.length) lines.push(this.out.paint('dim', `  … ${steps.length - shown.length} more steps`));
    if (this.note) lines.push(this.out.paint('yellow', this.note));
    const cols = this.out.stdout.columns || 80;
    const up = this.drawn > 0 ? `\x1b[${this.drawn}A` : '';
    this.out.stdout.write(`${up}\r\x1b[J${lines.join('\n')}\n`);
    // Lines wider than the terminal wrap: count the rows they take, to move back over them.
    this.drawn = lines.reduce((n, l) => n + Math.max(1, Math.ceil(stripVTControlCharacters(l).length / cols)), 0);
  }
}

/** The view `--follow` uses: events for json/ndjson, else live on a terminal, lines when piped. */
export function followView(out: Output): FollowView {
  if (out.format !== 'table') return new EventView(out);
  return out.tty ? new LiveView(out) : new LineView(out);
}
