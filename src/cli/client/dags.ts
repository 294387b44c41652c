/**
 * `orchestrator dags list|get|publish|disable`: DAG versions on the server. (`dag sign` and
 * `dag check`, singular, work on local files without a server.)
 *
 * `dags get DAG` without a version shows the newest active version (by SemVer), or the newest
 * version when none is active. `dags publish FILE` says `published` (201) or `unchanged`
 * (200: the same canonical definition was already stored) on stderr.
 */
import type { DagVersionView } from '../../dags/service.js';
import { EXIT } from '../commands.js';
import { args, clientCommand, dagIdFilter, readJsonArg, reasonBody, type ClientContext } from './command.js';
import { LIST_FLAGS, printList } from './list.js';
import { formatDuration, formatTime } from './output.js';

interface StepDef {
  id: string;
  plugin: string;
  trigger?: string;
  retries?: { max?: number };
  timeoutMs?: number;
}

/** A stored version (`GET /dags/{dagId}/{version}`) or its summary (`GET /dags`). */
interface DagVersion extends DagVersionView {
  description?: string | null;
  stepCount?: number;
  metadata?: { description?: string };
  steps?: StepDef[];
  edges?: Array<{ from: string; to: string }>;
}

const versionPath = (dagId: string, version: string): string => `/dags/${encodeURIComponent(dagId)}/${encodeURIComponent(version)}`;

function printVersion(ctx: ClientContext, v: DagVersion): void {
  const { out } = ctx;
  if (out.format !== 'table') return out.json(v);
  out.fields([
    ['dag', `${v.dagId}@${v.version}`],
    ['active', v.active ? 'yes' : out.paint('yellow', `no (disabled ${formatTime(v.disabledUtc)})`)],
    ['description', v.metadata?.description ?? v.description ?? '-'],
    ['hash', v.hash],
    ['created', formatTime(v.createdUtc)],
    ['signed by', v.signedBy.length ? v.signedBy.join(', ') : 'unsigned'],
  ]);
  if (!v.steps?.length) return;
  const after = new Map<string, string[]>();
  for (const e of v.edges ?? []) after.set(e.to, [...(after.get(e.to) ?? []), e.from]);
  out.line();
  out.table(
    v.steps.map((s) => ({
      step: s.id,
      plugin: s.plugin,
      after: (after.get(s.id) ?? []).join(',') || '-',
      trigger: s.trigger ?? 'all_success',
      retries: String(s.retries?.max ?? 0),
      timeout: s.timeoutMs === undefined ? 'default' : formatDuration(s.timeoutMs),
    })),
    [
      { key: 'step', title: 'STEP' },
      { key: 'plugin', title: 'PLUGIN' },
      { key: 'after', title: 'AFTER' },
      { key: 'trigger', title: 'TRIGGER' },
      { key: 'retries', title: 'RETRIES' },
      { key: 'timeout', title: 'TIMEOUT' },
    ],
  );
}

export const dagsList = clientCommand({
  name: 'dags list',
  summary: 'List DAG versions (dagId, then newest version first).',
  examples: ['orchestrator dags list', 'orchestrator dags list --dag-id hello --active true --output json'],
  flags: [
    dagIdFilter('versions'),
    { name: 'active', kind: 'string', env: false, values: ['true', 'false'], help: 'only active (true) or disabled (false) versions' },
    ...LIST_FLAGS,
  ],
  async run(ctx, positional) {
    args(positional, 0, 0, 'dags list [flags]');
    await printList<DagVersion, Record<string, string>>(ctx, {
      path: '/dags',
      query: { dagId: ctx.flags['dag-id'] as string | undefined, active: ctx.flags.active as string | undefined },
      noun: 'DAG versions',
      columns: [
        { key: 'dag', title: 'DAG' },
        { key: 'version', title: 'VERSION' },
        { key: 'active', title: 'ACTIVE' },
        { key: 'steps', title: 'STEPS' },
        { key: 'created', title: 'CREATED' },
        { key: 'description', title: 'DESCRIPTION' },
      ],
      row: (v) => ({
        dag: v.dagId,
        version: v.version,
        active: v.active ? 'yes' : 'no',
        steps: String(v.stepCount ?? ''),
        created: formatTime(v.createdUtc),
        description: v.description ?? '',
      }),
    });
    return EXIT.OK;
  },
});

export const dagsGet = clientCommand({
  name: 'dags get',
  summary: 'Show a DAG version with its steps (default: the newest active version).',
  args: 'DAG [VERSION]',
  examples: ['orchestrator dags get hello', 'orchestrator dags get image-scan 1.0.0 --output json'],
  flags: [],
  async run(ctx, positional) {
    const [dagId, given] = args(positional, 1, 2, 'dags get DAG [VERSION]');
    let version = given;
    if (version === undefined) {
      for (const active of ['true', undefined]) {
        const { body } = await ctx.api.json<{ items: DagVersion[] }>('GET', '/dags', { query: { dagId, active, page_size: 1 } });
        version = body.items[0]?.version;
        if (version) break;
      }
      if (!version) {
        ctx.out.stderr.write(`orchestrator dags get: NOT_FOUND: no version of DAG ${dagId}\n`);
        return EXIT.FAILED;
      }
    }
    printVersion(ctx, (await ctx.api.json<DagVersion>('GET', versionPath(dagId!, version))).body);
    return EXIT.OK;
  },
});

export const dagsPublish = clientCommand({
  name: 'dags publish',
  summary: 'Publish a DAG document (signed unless the server allows unsigned DAGs).',
  args: 'FILE',
  examples: ['orchestrator dags publish fixtures/dags/demo/hello.json', 'orchestrator dag sign nightly.json --key fixtures/keys/dev-signing.key | orchestrator dags publish -'],
  flags: [],
  async run(ctx, positional) {
    const [file] = args(positional, 1, 1, 'dags publish FILE (- for stdin)');
    const { status, body } = await ctx.api.json<DagVersion>('POST', '/dags', { body: readJsonArg(file!, file!) });
    ctx.out.note(`${status === 201 ? 'published' : 'unchanged'} ${body.dagId}@${body.version}`);
    printVersion(ctx, body);
    return EXIT.OK;
  },
});

export const dagsDisable = clientCommand({
  name: 'dags disable',
  summary: 'Disable a DAG version: no new runs of it (running ones go on).',
  args: 'DAG VERSION',
  examples: ['orchestrator dags disable nightly 1.0.0 --reason "superseded by 1.1.0"'],
  flags: [{ name: 'reason', kind: 'string', env: false, arg: 'TEXT', help: 'why' }],
  async run(ctx, positional) {
    const [dagId, version] = args(positional, 2, 2, 'dags disable DAG VERSION');
    const { body } = await ctx.api.json<DagVersion>('POST', `${versionPath(dagId!, version!)}:disable`, { body: reasonBody(ctx.flags) });
    printVersion(ctx, body);
    return EXIT.OK;
  },
});
