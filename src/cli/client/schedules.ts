/**
 * `orchestrator schedules list|get|create|replace|pause|resume|trigger|delete|export`: the
 * schedules of docs/SCHEDULES.md on a running server.
 *
 * `create [ID]` and `replace ID` build the document from `--file FILE` (JSON, `-` for stdin)
 * and the field flags, flags winning; `replace` without `--file` starts from the schedule as
 * stored, so `replace nightly --cron '0 4 * * *'` changes the cron and keeps the rest.
 * `create` says `created` (201) or `unchanged` (200: the same normal form was already stored)
 * on stderr; another document under the same id is 409 `SCHEDULE_EXISTS` (exit 1).
 * `trigger ID --wait|--follow` waits for the run it starts exactly as `runs start --wait`
 * (exit 0 completed, 4 failed or cancelled).
 */
import { createWriteStream, renameSync, rmSync } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { CATCHUP_POLICIES, OVERLAP_POLICIES } from '../../schedules/policies.js';
import type { ScheduleView } from '../../schedules/service.js';
import { UsageError, type FlagSpec, type Flags } from '../args.js';
import { EXIT } from '../commands.js';
import { args, clientCommand, dagIdFilter, readJsonArg, type ClientContext } from './command.js';
import { LIST_FLAGS, printList } from './list.js';
import { formatTime, type Output } from './output.js';
import { followFormat, START_FLAGS, startRun } from './runs.js';
import { isObject, parseInputs } from './runs-start.js';
import type { RunView } from './watch.js';

const schedulePath = (id: string): string => `/schedules/${encodeURIComponent(id)}`;

const dagOf = (s: ScheduleView): string => (s.version ? `${s.dagId}@${s.version}` : s.dagId);
const lastFireOf = (s: ScheduleView): string => (s.lastFire ? `${formatTime(s.lastFire.fireUtc)} ${s.lastFire.status}` : '-');

/** A schedule for people: its fields, then its upcoming fires (UTC and local). */
function printSchedule(out: Output, s: ScheduleView): void {
  if (out.format !== 'table') return out.json(s);
  const last = s.lastFire;
  out.fields([
    ['schedule', s.scheduleId],
    ['dag', s.version ? dagOf(s) : `${s.dagId} (newest active version at each fire)`],
    ['cron', s.cron],
    ['timezone', s.timezone],
    ['paused', s.paused ? out.paint('yellow', 'yes') : 'no'],
    ['overlap', s.overlap],
    ['catchup', `${s.catchup.policy} within ${s.catchup.window}`],
    ...(s.startUtc || s.endUtc ? ([['active', `${formatTime(s.startUtc)} .. ${formatTime(s.endUtc)}`]] as Array<[string, string]>) : []),
    ['inputs', JSON.stringify(s.inputs)],
    ['description', s.description ?? '-'],
    ['next fire', formatTime(s.nextFireUtc)],
    ['last fire', last ? `${lastFireOf(s)}${last.runId ? ` run ${last.runId}` : ''}${last.error ? ` (${last.error})` : ''}` : '-'],
    ['missed', s.missed.count ? `${s.missed.count} (newest ${formatTime(s.missed.lastUtc)})` : '0'],
    ...(s.bufferedFireUtc ? ([['buffered', formatTime(s.bufferedFireUtc)]] as Array<[string, string]>) : []),
    ['created', formatTime(s.createdUtc)],
    ['updated', formatTime(s.updatedUtc)],
  ]);
  if (!s.upcoming?.length) return;
  out.line();
  out.table(
    s.upcoming.map((f) => ({ utc: formatTime(f.utc), local: f.local.replace(/\.\d{3}(?=[+-])/, '') })),
    [
      { key: 'utc', title: 'UPCOMING (UTC)' },
      { key: 'local', title: `LOCAL (${s.timezone})` },
    ],
  );
}

/** The field flags of `create` and `replace`. */
const FIELD_FLAGS: FlagSpec[] = [
  { name: 'file', short: 'f', kind: 'string', env: false, arg: 'FILE', help: 'the schedule document, JSON ("-" reads stdin); the flags below override its fields' },
  { name: 'dag-id', kind: 'string', env: false, arg: 'DAG', help: 'DAG to start' },
  { name: 'version', kind: 'string', env: false, arg: 'SEMVER', help: 'DAG version (default: the newest active one at each fire)' },
  { name: 'cron', kind: 'string', env: false, arg: 'EXPR', help: 'five cron fields, or @hourly @daily @weekly @monthly @yearly' },
  { name: 'timezone', kind: 'string', env: false, arg: 'ZONE', help: 'IANA time zone of the cron (default UTC)' },
  { name: 'overlap', kind: 'string', env: false, values: OVERLAP_POLICIES, help: 'what a fire does while a run of the schedule is active (default skip)' },
  { name: 'catchup-policy', kind: 'string', env: false, values: CATCHUP_POLICIES, help: 'fires missed while the server was down (default latest)' },
  { name: 'catchup-window', kind: 'string', env: false, arg: 'DURATION', help: 'how far back missed fires count, ISO-8601 (default PT1H)' },
  { name: 'inputs', kind: 'string', env: false, arg: 'JSON', help: 'run inputs, a JSON object (replaces the document\'s)' },
  { name: 'input', kind: 'list', env: false, arg: 'KEY=VALUE|KEY:=JSON', help: 'one run input, set over --inputs' },
  { name: 'description', kind: 'string', env: false, arg: 'TEXT', help: 'what the schedule is for' },
  { name: 'paused', kind: 'boolean', env: false, help: 'stored paused (--paused=false: active)' },
];

function readDocument(file: string): Record<string, unknown> {
  const doc = readJsonArg(file, `--file ${file}`);
  if (!isObject(doc)) throw new UsageError(`--file ${file} must hold a JSON object`);
  return doc;
}

/** `base` with the field flags set over it (the server checks the result). */
function applyFlags(base: Record<string, unknown>, f: Flags): Record<string, unknown> {
  const doc = { ...base };
  const set = (flag: string, field: string) => void (f[flag] !== undefined && (doc[field] = f[flag]));
  set('dag-id', 'dagId');
  for (const name of ['version', 'cron', 'timezone', 'overlap', 'description', 'paused']) set(name, name);
  if (f['catchup-policy'] !== undefined || f['catchup-window'] !== undefined) {
    const catchup = { ...(doc.catchup as Record<string, unknown> | undefined) };
    if (f['catchup-policy'] !== undefined) catchup.policy = f['catchup-policy'];
    if (f['catchup-window'] !== undefined) catchup.window = f['catchup-window'];
    doc.catchup = catchup;
  }
  let inputs = doc.inputs as Record<string, unknown> | undefined;
  if (f.inputs !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(f.inputs as string);
    } catch (e) {
      throw new UsageError(`--inputs: ${(e as Error).message}`);
    }
    if (!isObject(parsed)) throw new UsageError('--inputs must be a JSON object');
    inputs = parsed;
  }
  const pairs = (f.input as string[] | undefined) ?? [];
  if (pairs.length) inputs = { ...inputs, ...parseInputs(undefined, pairs) };
  if (inputs !== undefined) doc.inputs = inputs;
  return doc;
}

/**
 * The fields a client writes (the document schema's; the rest of a view is the server's), out
 * of a stored schedule. The schema (zod) loads here, not when the CLI starts.
 */
async function documentOf(s: ScheduleView): Promise<Record<string, unknown>> {
  const fields = Object.keys((await import('../../schedules/model.js')).scheduleDocumentSchema.shape);
  return Object.fromEntries(Object.entries(s).filter(([k]) => fields.includes(k)));
}

/** The filters of `list` and `export`, and their query. */
const FILTER_FLAGS: FlagSpec[] = [
  dagIdFilter('schedules'),
  { name: 'paused', kind: 'string', env: false, values: ['true', 'false'], help: 'only paused (true) or active (false) schedules' },
];
const filterQuery = (f: Flags) => ({ dagId: f['dag-id'] as string | undefined, paused: f.paused as string | undefined });

export const schedulesList = clientCommand({
  name: 'schedules list',
  summary: 'List schedules (scheduleId order) with their next fire and last outcome.',
  examples: ['orchestrator schedules list --paused false --output json'],
  flags: [
    ...FILTER_FLAGS,
    ...LIST_FLAGS,
  ],
  async run(ctx, positional) {
    args(positional, 0, 0, 'schedules list [flags]');
    await printList<ScheduleView, Record<string, string>>(ctx, {
      path: '/schedules',
      query: filterQuery(ctx.flags),
      noun: 'schedules',
      columns: [
        { key: 'id', title: 'SCHEDULE' },
        { key: 'dag', title: 'DAG' },
        { key: 'cron', title: 'CRON' },
        { key: 'zone', title: 'ZONE' },
        { key: 'paused', title: 'PAUSED' },
        { key: 'next', title: 'NEXT FIRE' },
        { key: 'last', title: 'LAST FIRE' },
      ],
      row: (s) => ({ id: s.scheduleId, dag: dagOf(s), cron: s.cron, zone: s.timezone, paused: s.paused ? 'yes' : 'no', next: formatTime(s.nextFireUtc), last: lastFireOf(s) }),
    });
    return EXIT.OK;
  },
});

export const schedulesGet = clientCommand({
  name: 'schedules get',
  summary: 'Show a schedule and its next 5 fires (UTC and local time).',
  args: 'SCHEDULE',
  examples: ['orchestrator schedules get hello-nightly'],
  flags: [],
  async run(ctx, positional) {
    const [id] = args(positional, 1, 1, 'schedules get SCHEDULE');
    printSchedule(ctx.out, (await ctx.api.json<ScheduleView>('GET', schedulePath(id!))).body);
    return EXIT.OK;
  },
});

export const schedulesCreate = clientCommand({
  name: 'schedules create',
  summary: 'Create a schedule (an identical one again is "unchanged"; another body under its id: SCHEDULE_EXISTS).',
  args: '[SCHEDULE]',
  examples: ["orchestrator schedules create hello-nightly --dag-id hello --cron '30 2 * * *' --timezone Europe/Berlin --input name=night"],
  flags: FIELD_FLAGS,
  async run(ctx, positional) {
    const [id] = args(positional, 0, 1, 'schedules create [SCHEDULE] [--file FILE] [--dag-id DAG --cron EXPR …]');
    const doc = applyFlags(ctx.flags.file !== undefined ? readDocument(ctx.flags.file as string) : {}, ctx.flags);
    if (id !== undefined) {
      if (doc.scheduleId !== undefined && doc.scheduleId !== id) throw new UsageError(`SCHEDULE ${id} differs from the file's scheduleId ${String(doc.scheduleId)}`);
      doc.scheduleId = id;
    }
    if (doc.scheduleId === undefined) throw new UsageError('no schedule id: give SCHEDULE or a scheduleId in --file');
    const { status, body } = await ctx.api.json<ScheduleView>('POST', '/schedules', { body: doc });
    ctx.out.note(`${status === 201 ? 'created' : 'unchanged'} ${body.scheduleId}`);
    printSchedule(ctx.out, body);
    return EXIT.OK;
  },
});

export const schedulesReplace = clientCommand({
  name: 'schedules replace',
  summary: 'Replace a schedule: --file is the whole new document; without it the flags change the stored one.',
  args: 'SCHEDULE',
  examples: ["orchestrator schedules replace hello-nightly --cron '0 3 * * 1-5'"],
  flags: FIELD_FLAGS,
  async run(ctx, positional) {
    const [id] = args(positional, 1, 1, 'schedules replace SCHEDULE [--file FILE] [--cron EXPR …]');
    const base = ctx.flags.file !== undefined ? readDocument(ctx.flags.file as string) : await documentOf((await ctx.api.json<ScheduleView>('GET', schedulePath(id!))).body);
    const { body } = await ctx.api.json<ScheduleView>('PUT', schedulePath(id!), { body: applyFlags(base, ctx.flags) });
    printSchedule(ctx.out, body);
    return EXIT.OK;
  },
});

/** `pause` and `resume`: idempotent, they print the schedule as it now is. */
const verb = (name: 'pause' | 'resume', summary: string, example: string) =>
  clientCommand({
    name: `schedules ${name}`,
    summary,
    args: 'SCHEDULE',
    examples: [example],
    flags: [],
    async run(ctx, positional) {
      const [id] = args(positional, 1, 1, `schedules ${name} SCHEDULE`);
      printSchedule(ctx.out, (await ctx.api.json<ScheduleView>('POST', `${schedulePath(id!)}:${name}`, { body: {} })).body);
      return EXIT.OK;
    },
  });

export const schedulesPause = verb('pause', 'Pause a schedule: no fire until resumed.', 'orchestrator schedules pause hello-nightly');
export const schedulesResume = verb('resume', 'Resume a schedule: the next fire is the first after now (none caught up).', 'orchestrator schedules resume hello-nightly');

export const schedulesTrigger = clientCommand({
  name: 'schedules trigger',
  summary: 'Start one run of the schedule now, outside its cron (also while paused).',
  args: 'SCHEDULE',
  examples: ['orchestrator schedules trigger hello-nightly --wait'],
  flags: START_FLAGS,
  pipedFormat: followFormat,
  async run(ctx: ClientContext, positional) {
    const [id] = args(positional, 1, 1, 'schedules trigger SCHEDULE [--wait|--follow]');
    const f = ctx.flags;
    if (f.quiet && f.follow) throw new UsageError('--quiet and --follow exclude each other');
    return startRun(
      ctx,
      async () => (await ctx.api.json<RunView>('POST', `${schedulePath(id!)}:trigger`, { body: {} })).body,
      async () => (await ctx.api.json<ScheduleView>('GET', schedulePath(id!))).body.dagId,
    );
  },
});

export const schedulesDelete = clientCommand({
  name: 'schedules delete',
  summary: 'Delete a schedule (the runs it started stay).',
  args: 'SCHEDULE',
  examples: ['orchestrator schedules delete hello-nightly'],
  flags: [],
  async run(ctx, positional) {
    const [id] = args(positional, 1, 1, 'schedules delete SCHEDULE');
    await ctx.api.send('DELETE', schedulePath(id!));
    ctx.out.note(`deleted ${id}`);
    return EXIT.OK;
  },
});

export const schedulesExport = clientCommand({
  name: 'schedules export',
  summary: 'Export schedules as NDJSON (scheduleId order, then a manifest line with count and SHA-256).',
  examples: ['orchestrator schedules export --out schedules.ndjson'],
  flags: [
    ...FILTER_FLAGS,
    { name: 'out', short: 'o', kind: 'string', env: false, arg: 'FILE', help: 'write to FILE (default stdout); written whole or not at all' },
  ],
  async run(ctx, positional) {
    args(positional, 0, 0, 'schedules export [--out FILE]');
    const res = await ctx.api.send('GET', '/schedules:export', { query: filterQuery(ctx.flags) });
    const file = ctx.flags.out as string | undefined;
    const source = Readable.fromWeb(res.body! as WebReadableStream<Uint8Array>);
    if (file === undefined || file === '-') {
      await pipeline(source, ctx.out.stdout, { end: false });
      return EXIT.OK;
    }
    const part = `${file}.part`;
    try {
      await pipeline(source, createWriteStream(part, { mode: 0o644 }));
    } catch (e) {
      rmSync(part, { force: true });
      throw e;
    }
    renameSync(part, file);
    ctx.out.note(`${file}: schedules exported`);
    return EXIT.OK;
  },
});

export const SCHEDULE_COMMANDS = [
  schedulesList, schedulesGet, schedulesCreate, schedulesReplace,
  schedulesPause, schedulesResume, schedulesTrigger, schedulesDelete, schedulesExport,
];
