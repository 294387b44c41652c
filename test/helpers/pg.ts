/**
 * A throwaway PostgreSQL for tests: one cluster per test run, shared by the files of the run,
 * and a fresh database per test file (`CREATE DATABASE … TEMPLATE template0`), dropped at the end.
 *
 * - The cluster lives in a temp folder keyed by the run: the runner's pid (scripts/test.mjs
 *   runs each file as its child process), or `STELLA_TEST_RUN` when set. The first file to need it
 *   starts it under a lock (a `mkdir`) with its keeper, a detached process that stops it by the
 *   postmaster's pid and removes the folder once the run's process has exited, or when no test
 *   file has used it for 30 s (a file run alone from a shell). Files register as users while they
 *   hold a database.
 * - Debian's `postgresql` (`/usr/lib/postgresql/<major>/bin`): `initdb` refuses root, so as root
 *   the cluster is created and run as the `postgres` user (`runuser`). It listens on 127.0.0.1
 *   only, on a free port picked here, with `fsync=off` (tests only: never a durability claim).
 * - Without PostgreSQL installed the test is skipped visibly, except in CI (`CI=1`: .ci/run
 *   installs it), where it fails (test/helpers/tools.ts).
 *
 * @example
 * const db = await testDatabase(ctx); if (!db) return; // skipped: no PostgreSQL here
 * const store = await PgStore.open({ url: db.url });
 * after(() => db.drop());
 */
import { spawn, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, type TestContext } from 'node:test';
import pg from 'pg';
import { PgStore } from '../../src/store/pg/index.js';
import { processAlive as alive } from '../../src/store/db.js';
import { skipOutsideCi } from './tools.js';

/** The bin folder of Debian's newest installed PostgreSQL, or null. */
export function pgBinDir(): string | null {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return null;
  const majors = readdirSync(root).filter((m) => existsSync(join(root, m, 'bin', 'initdb'))).sort((a, b) => Number(b) - Number(a));
  return majors[0] ? join(root, majors[0], 'bin') : null;
}

const RUN = process.env.STELLA_TEST_RUN ?? `ppid${process.ppid}`;
const HOME = join(tmpdir(), `stella-test-pg-${RUN}`);
const LOCK = `${HOME}.lock`;
const asRoot = process.getuid?.() === 0;

function pgUid(): { uid: number; gid: number } {
  const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('postgres:'));
  if (!line) throw new Error('no "postgres" user: install Debian\'s postgresql package');
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

/** Runs a PostgreSQL tool, as the `postgres` user when we are root. */
function pgTool(bin: string, tool: string, args: string[]): void {
  const [cmd, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', join(bin, tool), ...args]] : [join(bin, tool), args];
  const r = spawnSync(cmd, argv, { encoding: 'utf8', cwd: tmpdir() });
  if (r.status !== 0) throw new Error(`${tool} failed (${r.status}): ${r.stderr || r.stdout}`);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function withLock<T>(fn: () => Promise<T>): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      mkdirSync(LOCK);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      if (i > 1200) throw new Error(`${LOCK} held for over a minute: remove it if no test run is using it`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}

const postmasterPid = (): number => Number(readFileSync(join(HOME, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);

/** Starts the run's cluster unless it is running; returns its port. Call under the lock. */
async function ensureCluster(bin: string): Promise<number> {
  if (existsSync(join(HOME, 'port')) && existsSync(join(HOME, 'data', 'postmaster.pid')) && alive(postmasterPid())) {
    return Number(readFileSync(join(HOME, 'port'), 'utf8'));
  }
  rmSync(HOME, { recursive: true, force: true });
  mkdirSync(join(HOME, 'users'), { recursive: true });
  if (asRoot) {
    const { uid, gid } = pgUid();
    chownSync(HOME, uid, gid);
  }
  const data = join(HOME, 'data');
  pgTool(bin, 'initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--locale=C', '-N']);
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    // Benchmarks that compare with SQLite's durability set STELLA_PG_DURABLE=1 (in a run of their
    // own, STELLA_TEST_RUN): fsync, synchronous commit and full-page writes stay on.
    const durable = process.env.STELLA_PG_DURABLE === '1' ? '' : ' -c fsync=off -c synchronous_commit=off -c full_page_writes=off';
    const opts = `-p ${port} -k ${HOME} -c listen_addresses=127.0.0.1${durable} -c max_connections=100`;
    try {
      pgTool(bin, 'pg_ctl', ['-D', data, '-o', opts, '-l', join(HOME, 'log'), '-w', '-t', '60', 'start']);
      writeFileSync(join(HOME, 'port'), String(port));
      startKeeper();
      return port;
    } catch (e) {
      if (attempt >= 2) throw new Error(`${(e as Error).message}\n${existsSync(join(HOME, 'log')) ? readFileSync(join(HOME, 'log'), 'utf8') : ''}`);
    }
  }
}

/** How long the cluster outlives its last user while the run goes on (the next file may need it). */
const IDLE_MS = 30_000;

/**
 * The cluster's keeper, a detached process (plain JavaScript, so it outlives a test file killed
 * by the runner's timeout): every half second it looks at the run's process and the registered
 * users; once the run has ended, or no live user has been there for {@link IDLE_MS}, it takes the
 * lock, looks again, stops the postmaster by its pid (fast shutdown), waits for it to exit and
 * removes the cluster's folder.
 */
const KEEPER = `
const { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } = require('node:fs');
const [home, lock, parent, idleMs] = process.argv.slice(1);
const alive = (pid) => { try { process.kill(pid, 0); return true; } catch (e) { return e.code === 'EPERM'; } };
const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
const users = () => (existsSync(home + '/users') ? readdirSync(home + '/users') : []).filter((u) => alive(Number(u)));
let seen = Date.now();
const done = () => !alive(Number(parent)) || Date.now() - seen >= Number(idleMs);
const tick = () => {
  if (users().length > 0) seen = Date.now();
  if (!done()) return setTimeout(tick, 500);
  try { mkdirSync(lock); } catch { return setTimeout(tick, 100); }
  try {
    if (users().length > 0) { seen = Date.now(); return setTimeout(tick, 500); }
    let pid = 0;
    try { pid = Number(readFileSync(home + '/data/postmaster.pid', 'utf8').split('\\n')[0]); } catch {}
    if (pid && alive(pid)) { process.kill(pid, 'SIGINT'); for (let i = 0; alive(pid) && i < 600; i++) sleep(50); }
    rmSync(home, { recursive: true, force: true });
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
};
tick();
`;

/** Starts the keeper of a cluster just started (see {@link KEEPER}). */
function startKeeper(): void {
  spawn(process.execPath, ['-e', KEEPER, HOME, LOCK, String(process.ppid), String(IDLE_MS)], { detached: true, stdio: 'ignore' }).unref();
}

let dbCount = 0;
/** Databases of this process not dropped yet: it leaves the cluster when the last one goes. */
let held = 0;

/** A fresh database in the run's cluster: its URL, and `drop()` (which also leaves the cluster). */
export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

/**
 * A new, empty database for this test file, or null when PostgreSQL is not installed here (the
 * test is then skipped, visibly; in CI that fails the test instead).
 */
export async function testDatabase(ctx: TestContext): Promise<TestDatabase | null>;
/** Without a test context (a `before` hook): throws when PostgreSQL is not installed. */
export async function testDatabase(): Promise<TestDatabase>;
export async function testDatabase(ctx?: TestContext): Promise<TestDatabase | null> {
  const bin = pgBinDir();
  if (!bin) {
    if (!ctx) throw new Error('PostgreSQL not installed: install Debian package "postgresql" (.ci/run does); TEST_STORE=postgres needs it');
    skipOutsideCi(ctx, 'PostgreSQL not installed: install Debian package "postgresql" (.ci/run does) to run the PostgreSQL half');
    return null;
  }
  const me = join(HOME, 'users', String(process.pid));
  const port = await withLock(async () => {
    const p = await ensureCluster(bin);
    writeFileSync(me, '');
    return p;
  });
  const name = `t_${process.pid}_${++dbCount}`;
  held++;
  const admin = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const c = new pg.Client({ connectionString: admin });
  await c.connect();
  try {
    // A linguistic default collation (ICU en-US), as production databases have: the store must not depend on byte order by default.
    await c.query(`create database ${name} template template0 locale_provider icu icu_locale 'en-US' locale 'C'`);
  } finally {
    await c.end();
  }
  return {
    url: `postgres://postgres@127.0.0.1:${port}/${name}`,
    async drop() {
      const a = new pg.Client({ connectionString: admin });
      await a.connect();
      try {
        await a.query(`drop database if exists ${name} with (force)`);
      } finally {
        await a.end();
      }
      // This process stays a user of the cluster while it holds any other database (a file
      // whose first test server stopped still runs the next one on its own database).
      if (--held === 0) leave(me);
    },
  };
}

/** Unregisters this process (the keeper stops the cluster once the run ends or nobody uses it). */
function leave(me: string): void {
  try {
    unlinkSync(me);
  } catch {
    /* already gone */
  }
}

/**
 * Two "nodes": two PostgreSQL stores on one fresh database (closed and dropped when the file
 * ends), or null when PostgreSQL is not installed here (skipped as {@link testDatabase} says).
 *
 * @example
 * const n = await twoNodes(ctx); if (!n) return; await n.b.commitBatch(batch); // wakes n.a's watch
 */
export async function twoNodes(ctx: TestContext): Promise<{ url: string; a: PgStore; b: PgStore } | null> {
  const db = await testDatabase(ctx);
  if (!db) return null;
  const a = await PgStore.open({ url: db.url });
  const b = await PgStore.open({ url: db.url });
  after(async () => {
    await a.close();
    await b.close();
    await db.drop();
  });
  return { url: db.url, a, b };
}
