/**
 * The layer rule of `src/` (docs/ARCHITECTURE.md, "Folders and arrows"), checked by
 * `layers.test.ts` on every `npm test`. A rule is written by top-level folder under `src/`
 * (`src/engine/pool/x.ts` belongs to `engine`), so folders may grow subfolders freely.
 *
 * - ARROWS: which folders each folder may import (type-only imports count: a type is a
 *   dependency too). Arrows are not transitive: `http` may reach `runs`, and `runs` may reach
 *   `store`, but `http` may not reach `store`. The allowed graph itself has no loop (checked).
 * - DRIVER_PACKAGES: only `store/` imports the database driver and the query builder.
 * - HANDLE_RE: only `store/` touches the raw database handles (`store.db.sqlite`,
 *   `store.db.orm`): everything else goes through the store's query objects.
 * - HTTP_EDGE: only `http/` and `console/` build HTTP answers (`new Response`, `new Headers`).
 * There are no exceptions: any break fails the test. Fix the arrow (a service, or a port in a
 * lower folder, as `core/idempotency.ts` and `artifacts/tenant.ts` are) instead of allowing it.
 *
 * @example
 * // a new arrow from engine/ up to http/ fails npm test:
 * //   src/engine/pool/x.ts imports http (../../http/route.js): engine may import artifacts, core, dags, events, store
 */

/** Every top-level folder of `src/`; `main` is `src/main.ts`, the executable's entry point. */
export const FOLDERS = [
  'main', 'cli', 'console', 'http', 'lifecycle', 'ops', 'bundles', 'schedules', 'runs',
  'engine', 'dags', 'events', 'artifacts', 'auth', 'store', 'core',
] as const;
export type Folder = (typeof FOLDERS)[number];

const BELOW_ENGINE: Folder[] = ['dags', 'events', 'artifacts', 'store', 'core'];

/**
 * The allowed arrows, top (edge) to bottom (shared kernel):
 *
 *   main → cli (composition root) → console → http → domain → engine → dags → events → store → core
 *
 * - `cli` wires the server from every part (opens the store, builds the services, starts the
 *   scheduler) and holds the CLI client: it may import every folder; nothing imports it but main.
 * - `http` reaches the domain services, `auth` (the principal), `events` (the stream and
 *   export of the event log) and the ports it needs from the bottom (`core/idempotency.ts`,
 *   `artifacts/tenant.ts`); never `store` or `engine`: routes reach data through services.
 * - the domain, top down: `lifecycle` (retention, backup, restore: uses bundles' tar code and
 *   the disk metrics of ops) → `ops` (health, metrics, limits, warm-up) and `bundles` →
 *   `schedules` (fires runs through the run service) → `runs` (the run service: starts, cancels,
 *   views) → `engine` (scheduler, worker pool, plugins).
 * - `engine` runs the plans of `dags` (the DAG model, validation, plans: pure code plus the DAG
 *   service) and writes `events` through `store`; `artifacts` is the content-addressed store on
 *   disk beside the database.
 * - shared bottom: `core` (errors, ids, hashing, time, JSON, runtime) imports no folder;
 *   `store` (the only code that knows SQL) imports only core; `auth` (JWT verification) and
 *   `artifacts` import only core.
 */
export const ARROWS: Record<Folder, readonly Folder[]> = {
  main: ['cli', 'engine'],
  cli: FOLDERS.filter((f) => f !== 'main' && f !== 'cli'),
  console: ['http', 'core'],
  http: ['lifecycle', 'ops', 'bundles', 'schedules', 'runs', 'dags', 'events', 'artifacts', 'auth', 'core'],
  lifecycle: ['ops', 'bundles', 'schedules', 'runs', 'engine', ...BELOW_ENGINE],
  ops: ['schedules', 'runs', 'engine', ...BELOW_ENGINE],
  bundles: ['schedules', 'runs', 'engine', ...BELOW_ENGINE],
  schedules: ['runs', 'engine', ...BELOW_ENGINE],
  runs: ['engine', ...BELOW_ENGINE],
  engine: BELOW_ENGINE,
  dags: ['events', 'artifacts', 'store', 'core'],
  events: ['store', 'core'],
  artifacts: ['core'],
  auth: ['core'],
  store: ['core'],
  core: [],
};

/** Packages only `store/` may import (any subpath too: `drizzle-orm/sqlite-core`). */
export const DRIVER_PACKAGES = ['better-sqlite3', 'drizzle-orm', 'pg'] as const;

/** A reach into the store's raw database handles (`store.db.sqlite`, `opts.store.db.orm`). */
export const HANDLE_RE = /\.db\.(sqlite|orm)\b/g;

/**
 * Folders that make HTTP answers (`new Response`, `new Headers`): the edge only. Below it, code
 * returns what happened and `http/` chooses statuses, headers and bodies.
 */
export const HTTP_EDGE: readonly Folder[] = ['http', 'console'];
