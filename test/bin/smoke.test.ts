/**
 * Smoke test of the single executable (`npm run test:bin`): the binary alone, copied into an
 * empty folder outside the checkout, serves the API, runs a DAG through a worker thread and
 * drains on SIGTERM. Prints the executable's size and its start-up time.
 *
 * Uses `ORCH_BIN` when set (a built executable), else `dist/orchestrator` when it is newer than
 * every build input, else builds it with `node bundle/build.mjs`. The general `npm test` leaves
 * test/bin/ out (scripts/test.mjs: it builds a 90 MB binary); `npm run test:bin` runs it.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { endianness, tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BASE, childClient } from '../helpers/base.js';
import { testDatabase } from '../helpers/pg.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const TENANT = 'demo';
const ARTIFACT_TEXT = 'hello from the single executable\n';
const START_SAMPLES = 5;

/** Newest modification time among the build's inputs. */
function newestInput(): number {
  let newest = 0;
  const walk = (p: string): void => {
    const st = statSync(p);
    if (st.isDirectory()) for (const n of readdirSync(p)) walk(join(p, n));
    else newest = Math.max(newest, st.mtimeMs);
  };
  for (const p of ['src', 'bundle', 'package.json', 'package-lock.json']) if (existsSync(join(ROOT, p))) walk(join(ROOT, p));
  return newest;
}

function executable(): string {
  if (process.env.ORCH_BIN) {
    const bin = resolve(process.env.ORCH_BIN);
    assert.ok(existsSync(bin), `ORCH_BIN=${bin} does not exist`);
    return bin;
  }
  const bin = join(ROOT, 'dist', 'orchestrator');
  if (existsSync(bin) && statSync(bin).mtimeMs > newestInput()) return bin;
  const r = spawnSync(process.execPath, [join(ROOT, 'bundle', 'build.mjs')], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(r.status, 0, `build failed:\n${r.stdout}\n${r.stderr}`);
  return bin;
}

/** The child's environment: ours without ORCH_* settings and without NODE_OPTIONS (tsx loaders). */
function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('ORCH_') && k !== 'NODE_OPTIONS') env[k] = v;
  return env;
}

interface Server {
  child: ChildProcess;
  url: string;
  startMs: number;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startServer(bin: string, cwd: string, dataDir: string, extra: string[] = []): Promise<Server> {
  const t0 = process.hrtime.bigint();
  const child = spawn(bin, ['serve', '--dev', '--port', '0', '--data-dir', dataDir, ...extra], { cwd, env: childEnv() });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8');
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (c: string) => (err += c));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) =>
    child.once('exit', (code, signal) => res({ code, signal })),
  );
  return new Promise((resolveStart, rejectStart) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      rejectStart(new Error(`no "listening on" line within 20 s\nstdout:\n${out}\nstderr:\n${err}`));
    }, 20_000);
    child.stdout!.on('data', (c: string) => {
      const had = out;
      out += c;
      if (had.includes('listening on ')) return;
      const m = /^listening on (http:\/\/\S+)$/m.exec(out);
      if (m) {
        clearTimeout(timer);
        const startMs = Number(process.hrtime.bigint() - t0) / 1e6;
        resolveStart({ child, url: m[1]!, startMs, stdout: () => out, stderr: () => err, exited });
      }
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      rejectStart(new Error(`exited (code ${code}, signal ${signal}) before listening\nstdout:\n${out}\nstderr:\n${err}`));
    });
  });
}

/** Polls the health probe until the server is ready: `listening on` comes before the engine, the routes and preloading. */
async function untilReady(s: Server): Promise<void> {
  for (let health: { ready?: boolean; status?: string } = {}; !health.ready; ) {
    health = (await (await fetch(`${s.url}${BASE}/admin/health`)).json()) as typeof health;
    assert.notEqual(health.status, 'down', JSON.stringify(health));
    if (!health.ready) await new Promise((res) => setTimeout(res, 20));
  }
}

async function stopServer(s: Server, timeoutMs = 35_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  s.child.kill('SIGTERM');
  const t = setTimeout(() => s.child.kill('SIGKILL'), timeoutMs);
  try {
    return await s.exited;
  } finally {
    clearTimeout(t);
  }
}

function run(bin: string, args: string[], cwd: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(bin, args, { cwd, env: childEnv(), encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** Polls `probe` every 50 ms until it returns a value (20 s at most, then fails with `what`). */
async function waitFor<T>(probe: () => T | undefined, what: string): Promise<T> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    assert.ok(Date.now() < deadline, `no ${what} within 20 s`);
    await new Promise((res) => setTimeout(res, 50));
  }
}

describe('single executable', () => {
  let bin = '';
  let dir = '';
  let dataDir = '';
  let server: Server | undefined;
  let token = '';
  let stopped = false;

  async function api(method: string, path: string, body?: unknown): Promise<{ status: number; headers: Headers; text: string; json: any }> {
    assert.ok(server, 'server not running');
    const answer = await childClient(server.url, token)(method, path, body, TENANT);
    return { ...answer, json: answer.body };
  }

  /** Writes, signs (with the dev server's DAG key) and publishes a DAG; returns the publish response. */
  async function publish(doc: Record<string, unknown>) {
    const file = join(dir, `${doc.dagId as string}.json`);
    const signedFile = join(dir, `${doc.dagId as string}.signed.json`);
    writeFileSync(file, JSON.stringify(doc, null, 2));
    const s = run(bin, ['dag', 'sign', file, '--key', join(dataDir, 'dev', 'dag-signing.key'), '--out', signedFile], dir);
    assert.equal(s.status, 0, `dag sign failed: ${s.stderr}`);
    return api('POST', '/dags', JSON.parse(readFileSync(signedFile, 'utf8')));
  }

  /**
   * The executable as the client of the running server. Asynchronous (not spawnSync): a
   * blocked event loop would leave this process's kept-alive HTTP connections to go stale
   * while the server closes them.
   */
  const client = (args: string[]) =>
    new Promise<{ status: number | null; stdout: string; stderr: string }>((resolveRun, rejectRun) => {
      const child = spawn(bin, args, { cwd: dir, env: { ...childEnv(), ORCH_SERVER: server!.url, ORCH_TOKEN: token } });
      let stdout = '';
      let stderr = '';
      child.stdout!.setEncoding('utf8').on('data', (c: string) => (stdout += c));
      child.stderr!.setEncoding('utf8').on('data', (c: string) => (stderr += c));
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      child.on('error', rejectRun);
      child.on('close', (status) => (clearTimeout(timer), resolveRun({ status, stdout, stderr })));
    });

  /** Starts a run and polls it until it ends (30 s at most). */
  async function runToEnd(dagId: string, inputs?: Record<string, unknown>): Promise<any> {
    const created = await api('POST', '/runs', inputs ? { dagId, inputs } : { dagId });
    assert.equal(created.status, 201, `POST /runs: ${created.status} ${created.text}`);
    const runId = created.json.runId as string;
    assert.match(runId, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.ok(created.headers.get('location')?.endsWith(`/runs/${runId}`), 'Location header');
    const deadline = Date.now() + 30_000;
    for (;;) {
      const r = await api('GET', `/runs/${runId}`);
      assert.equal(r.status, 200, `GET /runs/${runId}: ${r.status} ${r.text}`);
      if (['completed', 'failed', 'cancelled'].includes(r.json.status)) return r.json;
      assert.ok(Date.now() < deadline, `run still ${r.json.status} after 30 s`);
      await new Promise((res) => setTimeout(res, 50));
    }
  }

  before(() => {
    bin = executable();
    dir = mkdtempSync(join(tmpdir(), 'orch-bin-'));
    assert.ok(relative(ROOT, dir).startsWith('..'), 'the temp folder must be outside the checkout');
    copyFileSync(bin, join(dir, 'orchestrator'));
    // As an operator would install it: plugin hosts re-execute it as an unprivileged user.
    spawnSync('chmod', ['755', dir, join(dir, 'orchestrator')]);
    bin = join(dir, 'orchestrator');
    dataDir = join(dir, 'data');
    console.log(`executable: ${(statSync(bin).size / 1048576).toFixed(1)} MiB (${statSync(bin).size} bytes)`);
  });

  after(async () => {
    if (server && !stopped) await stopServer(server, 5000);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('--version prints package.json version', () => {
    const r = run(bin, ['--version'], dir);
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, pkg.version + '\n');
  });

  test('V8 accepts the embedded code cache of the start (bundle/sea-main.cjs; a rejected cache only compiles, so it is checked here)', () => {
    const r = spawnSync(bin, ['--version'], { cwd: dir, encoding: 'utf8', env: { ...childEnv(), ORCH_DEBUG_CODE_CACHE: '1' } });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, 'code cache accepted\n');
  });

  test('--help and serve --help', () => {
    const h = run(bin, ['--help'], dir);
    assert.equal(h.status, 0, h.stderr);
    assert.match(h.stdout, /commands:/);
    for (const c of ['serve', 'token', 'dag sign']) assert.ok(h.stdout.includes(c), `--help lists ${c}`);
    const s = run(bin, ['serve', '--help'], dir);
    assert.equal(s.status, 0, s.stderr);
    for (const f of ['--port', '--data-dir', '--dev', '--plugins-dir']) assert.ok(s.stdout.includes(f), `serve --help lists ${f}`);
    assert.equal(readdirSync(dir).join(','), 'orchestrator', 'help commands leave no files behind');
  });

  test('serve --dev starts from the empty folder and logs JSON to stdout', async () => {
    mkdirSync(join(dir, 'plugins', 'greeter'), { recursive: true });
    writeFileSync(
      join(dir, 'plugins', 'greeter', 'plugin.json'),
      JSON.stringify({ name: 'greeter', version: '1.0.0', entry: 'index.mjs', description: 'smoke test plugin', capabilities: { network: false, exec: [] } }),
    );
    writeFileSync(
      join(dir, 'plugins', 'greeter', 'index.mjs'),
      'import { basename } from "node:path";\n' +
        'export default async (ctx) => { ctx.log("greeting", { who: ctx.inputs.name }); return { greeting: `hello ${ctx.inputs.name}`, hash: await ctx.writeArtifact(basename("/x/greeter")) }; };\n',
    );
    server = await startServer(bin, dir, dataDir, ['--plugins-dir', join(dir, 'plugins'), '--workers', '2']);
    console.log(`first start (fresh data folder): ${server.startMs.toFixed(0)} ms to "listening on"`);
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    await untilReady(server);
    // One plain "listening on" line (start-up logs, such as the plugins loaded, come after it:
    // the engine is built once the port is bound); every other line is a pino JSON line.
    const all = server.stdout().split('\n').filter(Boolean);
    assert.equal(all.filter((l) => l.startsWith('listening on ')).length, 1, all.join('\n'));
    const lines = all.filter((l) => !l.startsWith('listening on '));
    assert.ok(lines.length > 0, 'pino logs on stdout');
    for (const l of lines) assert.doesNotThrow(() => JSON.parse(l), `stdout line is JSON: ${l}`);
    assert.ok(existsSync(join(dataDir, 'dev', 'dag-signing.key')), 'dev DAG signing key in the data folder');
    const cached = readdirSync(join(dataDir, '.cache'));
    assert.ok(cached.some((f) => /^better_sqlite3-[0-9a-f]{64}\.node$/.test(f)), `addon extracted into DATA/.cache: ${cached}`);
    const openapi = await fetch(`${server.url}${BASE}/openapi.json`);
    assert.equal(openapi.status, 200);
  });

  test('token mints a dev admin token', async () => {
    const r = run(bin, ['token', '--tenant', TENANT, '--scopes', 'orchestrator:admin', '--data-dir', dataDir], dir);
    assert.equal(r.status, 0, r.stderr);
    token = r.stdout.trim();
    assert.match(token, /^[\w-]+\.[\w-]+\.[\w-]+$/);
    const list = await api('GET', '/dags');
    assert.equal(list.status, 200, list.text);
  });

  test('publish a signed DAG', async () => {
    const r = await publish({
      dagId: 'smoke',
      version: '1.0.0',
      metadata: { description: 'single-executable smoke test' },
      steps: [
        { id: 'store', plugin: 'artifact', with: { content: ARTIFACT_TEXT, mediaType: 'text/plain' }, timeoutMs: 20_000 },
        { id: 'show', plugin: 'echo', with: { hash: '${{ steps.store.outputs.hash }}' }, timeoutMs: 20_000 },
      ],
      edges: [{ from: 'store', to: 'show' }],
    });
    assert.equal(r.status, 201, `POST /dags: ${r.status} ${r.text}`);
    assert.equal(r.json.dagId, 'smoke');
    assert.ok(r.json.signedBy.length === 1, 'signed by the dev key');
  });

  let artifactHash = '';
  test('run the DAG: artifact plugin in a worker thread', async () => {
    const runView = await runToEnd('smoke');
    assert.equal(runView.status, 'completed', JSON.stringify(runView));
    const store = runView.steps.find((s: { stepId: string }) => s.stepId === 'store');
    const show = runView.steps.find((s: { stepId: string }) => s.stepId === 'show');
    assert.equal(store.status, 'completed');
    assert.equal(store.outputs.size, Buffer.byteLength(ARTIFACT_TEXT));
    assert.match(store.outputs.hash, /^[0-9a-f]{64}$/);
    assert.deepEqual(show.outputs, { hash: store.outputs.hash });
    artifactHash = store.outputs.hash;
  });

  test('read the artifact back', async () => {
    assert.ok(artifactHash, 'needs the run to have completed');
    const r = await api('GET', `/artifacts/${artifactHash}`);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.text, ARTIFACT_TEXT);
    assert.match(r.headers.get('content-type') ?? '', /^text\/plain/);
    assert.equal(r.headers.get('etag'), `"${artifactHash}"`);
  });

  test('the background WAL checkpointer runs in the executable (log line; the WAL is copied back while idle)', async () => {
    assert.ok(server, 'server not running');
    // Its thread starts on demand, once a few dozen transactions committed (src/store/checkpointer.ts):
    // ten more runs of the smoke DAG, one after another, commit more than that (the start, each step's states, the end).
    for (let i = 0; i < 10; i++) assert.equal((await runToEnd('smoke')).status, 'completed');
    // It says so once its first checkpoint ran, or warns that it could not start.
    const said = await waitFor(() => server!.stdout().split('\n').find((l) => /"msg":"(WAL checkpoints on a background thread|background WAL checkpointer [^"]*)"/.test(l)), 'a checkpointer log line');
    assert.match(said, /"msg":"WAL checkpoints on a background thread"/, said);
    // Its effect: the runs above left frames in the WAL; the thread copies them all back into
    // the database while the server is idle. Without it SQLite's automatic checkpoint waits for
    // 1,000 pages, so they would stay there. The wal-index (the -shm file, sqlite.org/walformat.html)
    // holds mxFrame (u32 at byte 16) and nBackfill (u32 at byte 96), native byte order.
    const shm = join(dataDir, 'orchestrator.db-shm');
    await waitFor(() => {
      const b = readFileSync(shm);
      const u32 = (at: number) => (endianness() === 'LE' ? b.readUInt32LE(at) : b.readUInt32BE(at));
      const [mxFrame, nBackfill] = [u32(16), u32(96)];
      return mxFrame > 0 && nBackfill === mxFrame ? true : undefined;
    }, 'every WAL frame checkpointed');
  });

  test('serves the web console embedded in the executable (GET /, /console/, a hashed asset)', async () => {
    assert.ok(server, 'server not running');
    const root = await fetch(`${server.url}/`, { redirect: 'manual' });
    assert.equal(root.status, 302);
    assert.equal(root.headers.get('location'), '/console/');
    const index = await fetch(`${server.url}/console/`);
    assert.equal(index.status, 200);
    assert.match(index.headers.get('content-security-policy') ?? '', /^default-src 'self'/);
    assert.equal(index.headers.get('cache-control'), 'no-store');
    const html = await index.text();
    assert.match(html, /<meta name="stella-dev-signin"/, 'dev sign-in under --dev');
    assert.ok(server.stderr().includes(`web console: ${server.url}/console/`), 'the dev banner names the console');
    const script = /src="(assets\/main-[0-9a-f]{16}\.js)"/.exec(html)?.[1];
    assert.ok(script, `index.html names the script: ${html}`);
    const asset = await fetch(`${server.url}/console/${script}`);
    assert.equal(asset.status, 200);
    assert.match(asset.headers.get('content-type') ?? '', /^text\/javascript/);
    assert.equal(asset.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    assert.ok((await asset.text()).length > 1000, 'the bundled app');
  });

  test('a plugin from --plugins-dir runs in the embedded worker (dynamic import)', async () => {
    const p = await publish({ dagId: 'smoke-plugin', version: '1.0.0', steps: [{ id: 'greet', plugin: 'greeter', with: { name: '${{ inputs.name }}' } }], edges: [] });
    assert.equal(p.status, 201, `POST /dags: ${p.status} ${p.text}`);
    const runView = await runToEnd('smoke-plugin', { name: 'sea' });
    assert.equal(runView.status, 'completed', JSON.stringify(runView));
    const greet = runView.steps[0];
    assert.equal(greet.outputs.greeting, 'hello sea');
    const a = await api('GET', `/artifacts/${greet.outputs.hash}`);
    assert.equal(a.text, 'greeter');
  });

  test('the executable is also the client: runs start --wait|--follow, logs, artifacts get, list, events tail', async () => {
    assert.ok(server && token, 'needs the server and a token');
    const ok = await client(['runs', 'start', 'smoke', '--wait']);
    assert.equal(ok.status, 0, ok.stderr);
    const run = JSON.parse(ok.stdout);
    assert.equal(run.status, 'completed');
    const hash = run.steps.find((s: { stepId: string }) => s.stepId === 'store').outputs.hash as string;
    const got = await client(['artifacts', 'get', hash, '-o', join(dir, 'artifact.txt')]);
    assert.equal(got.status, 0, got.stderr);
    assert.equal(readFileSync(join(dir, 'artifact.txt'), 'utf8'), ARTIFACT_TEXT);

    const p = await publish({ dagId: 'smoke-fail', version: '1.0.0', steps: [{ id: 'boom', plugin: 'fail', with: { code: 'SMOKE_FAILED', message: 'as planned' } }], edges: [] });
    assert.equal(p.status, 201, p.text);
    const failed = await client(['runs', 'start', 'smoke-fail', '--follow']);
    assert.equal(failed.status, 4, failed.stderr);
    assert.match(failed.stdout, /^step boom failed: SMOKE_FAILED: as planned$/m);

    const greet = await client(['runs', 'start', 'smoke-plugin', '--input', 'name=client', '--wait', '--quiet']);
    assert.equal(greet.status, 0, greet.stderr);
    const logs = await client(['runs', 'logs', greet.stdout.trim(), 'greet']);
    assert.equal(logs.status, 0, logs.stderr);
    const record = JSON.parse(logs.stdout.trim().split('\n')[0]!);
    assert.deepEqual([record.stepId, record.attempt, record.msg, record.who], ['greet', 1, 'greeting', 'client']);

    const list = await client(['runs', 'list', '--limit', '2', '--page-size', '1']);
    assert.equal(list.status, 0, list.stderr);
    assert.equal(JSON.parse(list.stdout)[0].runId, greet.stdout.trim(), 'newest first, over two pages');
    const events = await client(['events', 'tail', '--since', '0', '--limit', '3']);
    assert.equal(events.status, 0, events.stderr);
    assert.deepEqual(events.stdout.trim().split('\n').map((l) => JSON.parse(l).seq), [1, 2, 3]);
    const denied = await client(['runs', 'list', '--token', 'not.a.token', '--tenant', TENANT]);
    assert.equal(denied.status, 2);
    assert.match(denied.stderr, /UNAUTHENTICATED: .* \(trace_id [0-9a-f]{32}\)/);
  });

  test('the client manages schedules: create, then get shows its upcoming fires in the local zone', async () => {
    assert.ok(server && token, 'needs the server and a token');
    const created = await client(['schedules', 'create', 'smoke-nightly', '--dag-id', 'smoke', '--cron', '30 2 * * *', '--timezone', 'America/New_York']);
    assert.equal(created.status, 0, created.stderr);
    assert.match(created.stderr, /^created smoke-nightly$/m);
    const got = await client(['schedules', 'get', 'smoke-nightly']);
    assert.equal(got.status, 0, got.stderr);
    const schedule = JSON.parse(got.stdout);
    assert.deepEqual([schedule.scheduleId, schedule.dagId, schedule.timezone, schedule.createdUtc], ['smoke-nightly', 'smoke', 'America/New_York', JSON.parse(created.stdout).createdUtc]);
    assert.equal(schedule.upcoming.length, 5);
    for (const f of schedule.upcoming) assert.match(f.local, /T02:30:00\.000-0[45]:00$/);
  });

  let drainedRunId = '';
  test('SIGTERM drains: new runs are refused (503), the step in flight finishes, exit 0', async () => {
    assert.ok(server, 'server not running');
    const p = await publish({ dagId: 'drain', version: '1.0.0', steps: [{ id: 'nap', plugin: 'sleep', with: { ms: 3000 }, timeoutMs: 60_000 }], edges: [] });
    assert.equal(p.status, 201, `POST /dags: ${p.status} ${p.text}`);
    const created = await api('POST', '/runs', { dagId: 'drain' });
    assert.equal(created.status, 201, created.text);
    drainedRunId = created.json.runId;
    for (;;) {
      const r = await api('GET', `/runs/${drainedRunId}`);
      if (r.json.steps[0].status === 'running') break;
      assert.equal(r.json.steps[0].status === 'completed', false, 'the step must still be running at SIGTERM');
      await new Promise((res) => setTimeout(res, 20));
    }
    const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${server.child.pid}/status`, 'utf8'));
    if (rss) console.log(`server RSS before SIGTERM: ${(Number(rss[1]) / 1024).toFixed(0)} MiB`);
    const s = server;
    s.child.kill('SIGTERM');
    // Draining: still answering, but no new work.
    for (;;) {
      const r = await api('POST', '/runs', { dagId: 'drain' });
      if (r.status === 503) {
        assert.equal(r.json.error.code, 'UNAVAILABLE');
        break;
      }
      assert.equal(r.status, 201, `POST /runs while draining: ${r.status} ${r.text}`);
      await api('POST', `/runs/${r.json.runId}:cancel`, {}); // raced the signal: not the run under test
    }
    // Exits by itself once the step is done (a second SIGTERM would not wait).
    const kill = setTimeout(() => s.child.kill('SIGKILL'), 35_000);
    const { code, signal } = await s.exited;
    clearTimeout(kill);
    stopped = true;
    assert.equal(signal, null, `killed by ${signal}\nstderr:\n${s.stderr()}`);
    assert.equal(code, 0, `exit code ${code}\nstderr:\n${s.stderr()}`);
    assert.match(s.stdout(), /"msg":"stopped"/);

    // The drain let the step finish: after a restart the run is completed by its one attempt,
    // not recovered (a recovered step would be a second attempt).
    server = await startServer(bin, dir, dataDir);
    stopped = false;
    const run = (await api('GET', `/runs/${drainedRunId}`)).json;
    assert.equal(run.status, 'completed', JSON.stringify(run));
    assert.equal(run.steps[0].attempts.length, 1, JSON.stringify(run.steps[0]));
    assert.deepEqual(run.steps[0].outputs, { sleptMs: 3000 });
    const { code: code2 } = await stopServer(server);
    stopped = true;
    assert.equal(code2, 0);
  });

  test('SIGTERM right after the "listening on" line still drains and exits 0', async () => {
    const s = await startServer(bin, dir, dataDir);
    const { code, signal } = await stopServer(s);
    assert.equal(signal, null, `killed by ${signal}: the SIGTERM handler is installed after "listening on" is printed`);
    assert.equal(code, 0, s.stderr());
  });

  test(`restarts keep the data folder's runs, a new folder starts ready (start-up time: median of ${START_SAMPLES})`, async () => {
    const existing: number[] = [];
    const fresh: number[] = [];
    for (let i = 0; i < START_SAMPLES; i++) {
      for (const [samples, data] of [
        [existing, dataDir],
        [fresh, join(mkdtempSync(join(dir, 'start-')), 'data')],
      ] as const) {
        const s = await startServer(bin, dir, data);
        samples.push(s.startMs);
        await untilReady(s);
        if (data === dataDir) {
          const r = await fetch(`${s.url}${BASE}/runs/${drainedRunId}`, { headers: { authorization: `Bearer ${token}`, 'x-stella-tenant': TENANT } });
          assert.equal(((await r.json()) as { status: string }).status, 'completed', 'the existing folder keeps its runs');
        }
        const { code, signal } = await stopServer(s);
        assert.equal(code, 0, `exit ${code} ${signal}: ${s.stderr()}`);
      }
    }
    const fmt = (xs: number[]) => `${median(xs).toFixed(0)} ms (${xs.map((x) => x.toFixed(0)).join(', ')})`;
    console.log(`spawn → "listening on", existing data folder: median ${fmt(existing)}`);
    console.log(`spawn → "listening on", new data folder: median ${fmt(fresh)}`);
  });
  test('the PostgreSQL store is in the executable: migrate --store, then serve --store runs a DAG on PostgreSQL', async (ctx) => {
    const db = await testDatabase(ctx);
    if (!db) return;
    try {
      const m = run(bin, ['migrate', '--store', db.url], dir);
      assert.equal(m.status, 0, m.stderr);
      assert.equal(JSON.parse(m.stdout).changed, true);
      const pgData = join(dir, 'pg-node');
      const node = await startServer(bin, dir, pgData, ['--store', db.url, '--allow-unsigned', '--node-id', 'bin-node']);
      try {
        const minted = run(bin, ['token', '--tenant', TENANT, '--scopes', 'orchestrator:admin', '--data-dir', pgData], dir);
        assert.equal(minted.status, 0, minted.stderr);
        const headers = { authorization: `Bearer ${minted.stdout.trim()}`, 'x-stella-tenant': TENANT, 'content-type': 'application/json' };
        const call = async (method: string, path: string, body?: unknown) => {
          const res = await fetch(node.url + BASE + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
          return { status: res.status, json: (await res.json()) as any };
        };
        const dag = await call('POST', '/dags', { dagId: 'on-pg', version: '1.0.0', steps: [{ id: 'say', plugin: 'echo', with: { where: 'postgres' } }] });
        assert.equal(dag.status, 201, JSON.stringify(dag.json));
        const started = await call('POST', '/runs', { dagId: 'on-pg' });
        assert.equal(started.status, 201, JSON.stringify(started.json));
        const deadline = Date.now() + 30_000;
        let r = await call('GET', `/runs/${started.json.runId}`);
        while (r.json.status !== 'completed' && Date.now() < deadline) {
          await new Promise((res) => setTimeout(res, 100));
          r = await call('GET', `/runs/${started.json.runId}`);
        }
        assert.equal(r.json.status, 'completed', JSON.stringify(r.json));
        assert.deepEqual(r.json.steps[0].outputs, { where: 'postgres' });
        assert.match(node.stdout(), /"msg":"store: PostgreSQL"/);
        assert.ok(!existsSync(join(pgData, 'orchestrator.db')), 'no SQLite database in the node folder');
      } finally {
        await stopServer(node, 10_000);
      }
    } finally {
      await db.drop();
    }
  });
});
