/**
 * How client commands print: aligned tables for people, JSON or NDJSON for scripts.
 * `--output` picks the format; without it a terminal gets `table` and a pipe gets `json`
 * (`ndjson` for the streaming commands). Colour only when the stream written to is a terminal
 * and `NO_COLOR` is unset or empty (no-color.org).
 *
 * @example
 * const out = new Output(resolveFormat(undefined, 'json'));
 * out.table([{ runId: 'x', status: 'completed' }], [{ key: 'runId', title: 'RUN' }, { key: 'status', title: 'STATUS', status: true }]);
 */
import { styleText } from 'node:util';

export const FORMATS = ['table', 'json', 'ndjson'] as const;
export type Format = (typeof FORMATS)[number];
type Style = Parameters<typeof styleText>[0];

/** The format asked for, else `table` on a terminal and `pipedDefault` elsewhere. */
export function resolveFormat(flag: string | undefined, pipedDefault: Format, stdout: NodeJS.WriteStream = process.stdout): Format {
  if (flag !== undefined) return flag as Format;
  return stdout.isTTY ? 'table' : pipedDefault;
}

/** Whether colour may be written to `stream`. */
export function colourFor(stream: NodeJS.WriteStream, env: NodeJS.ProcessEnv = process.env): boolean {
  return stream.isTTY === true && !env.NO_COLOR;
}

const STATUS_STYLE: Record<string, Style> = {
  completed: 'green',
  failed: 'red',
  cancelled: 'yellow',
  cancelling: 'yellow',
  skipped: 'gray',
  running: 'cyan',
  retrying: 'magenta',
  queued: 'blue',
  pending: 'gray',
};

export interface Column<T> {
  key: keyof T & string;
  title: string;
  /** Colour the cell as a status word. */
  status?: boolean;
}

/** `1234` → `1.23s`, `65000` → `1m05s`; `-` for null. */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '-';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(2)}s`;
  const s = Math.floor(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** An ISO time without its milliseconds, `-` for null. */
export function formatTime(iso: string | null | undefined): string {
  return iso ? iso.replace(/\.\d{3}Z$/, 'Z') : '-';
}

export class Output {
  readonly colour: boolean;
  readonly errColour: boolean;

  constructor(
    readonly format: Format,
    readonly stdout: NodeJS.WriteStream = process.stdout,
    readonly stderr: NodeJS.WriteStream = process.stderr,
  ) {
    this.colour = format === 'table' && colourFor(stdout);
    this.errColour = colourFor(stderr);
  }

  get tty(): boolean {
    return this.stdout.isTTY === true;
  }

  paint(style: Style, text: string, onStderr = false): string {
    return (onStderr ? this.errColour : this.colour) ? styleText(style, text, { validateStream: false }) : text;
  }

  /** `text` (default the status itself) in the colour of a run or step status. */
  status(s: string, text = s): string {
    return this.paint(STATUS_STYLE[s] ?? 'reset', text);
  }

  line(text = ''): void {
    this.stdout.write(text + '\n');
  }

  /** A note for people (stderr), never mixed into what scripts parse. */
  note(text: string): void {
    this.stderr.write(this.paint('dim', text, true) + '\n');
  }

  /** One JSON document (`json`) or one line (`ndjson`). */
  json(value: unknown): void {
    this.line(this.format === 'ndjson' ? JSON.stringify(value) : JSON.stringify(value, null, 2));
  }

  /** Aligned columns, two spaces apart; the header dim when coloured. */
  table<T extends Record<string, string>>(rows: T[], columns: Column<T>[]): void {
    const widths = columns.map((c) => Math.max(c.title.length, ...rows.map((r) => (r[c.key] ?? '').length)));
    const render = (cells: string[], colour: (i: number, s: string) => string) =>
      cells
        .map((s, i) => colour(i, i === cells.length - 1 ? s : s.padEnd(widths[i]!)))
        .join('  ')
        .trimEnd();
    this.line(render(columns.map((c) => c.title), (_i, s) => this.paint('dim', s)));
    for (const r of rows) this.line(render(columns.map((c) => r[c.key] ?? ''), (i, s) => (columns[i]!.status ? this.status(s.trim(), s) : s)));
  }

  /** `key  value` lines for one object. */
  fields(pairs: Array<[string, string]>): void {
    const w = Math.max(...pairs.map(([k]) => k.length));
    for (const [k, v] of pairs) this.line(`${this.paint('dim', k.padEnd(w))}  ${v}`);
  }
}
