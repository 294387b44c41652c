/** Helpers shared by the engine's tests (real worker threads, a real artifact store). */
import { chmodSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ArtifactStore } from '../../artifacts/index.js';
import { uuidv7 } from '../../core/ids.js';
import { loadPlugins } from '../plugins/plugins.js';
import { WorkerPool } from './pool.js';
import { ABORT_GRACE_MS, type ArtifactIO, type StepTask, type WorkerPoolOptions } from './pool-types.js';
import { DEFAULT_MAX_OUTPUT_BYTES } from './outputs.js';

export const GOOD_FIXTURES = fileURLToPath(new URL('../../../test/fixtures/plugins/good', import.meta.url));
export const SAMPLE_PLUGINS = fileURLToPath(new URL('../../../plugins', import.meta.url));

export function tempDir(prefix = 'stella-engine-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/**
 * A work root for a pool: a temp folder the plugin user can traverse (0711) — when the tests
 * run as root, hosts run as `nobody` and must reach their work folders.
 */
export function workRoot(): string {
  const dir = tempDir('stella-work-');
  chmodSync(dir, 0o711);
  return join(dir, 'work');
}

/** An ArtifactIO over a real store that records which tenant owns what (as the DB layer will). */
export function tenantArtifacts(store: ArtifactStore): ArtifactIO & { owners: Map<string, Set<string>>; types: Map<string, string> } {
  const owners = new Map<string, Set<string>>();
  const types = new Map<string, string>();
  return {
    owners,
    types,
    async write(task, bytes, mediaType) {
      const { hash } = await store.put(bytes);
      (owners.get(hash) ?? owners.set(hash, new Set()).get(hash)!).add(task.tenant);
      types.set(hash, mediaType);
      return hash;
    },
    async read(task, hash) {
      return owners.get(hash)?.has(task.tenant) ? store.get(hash) : null;
    },
    async openWrite(task) {
      const w = await store.writer();
      return {
        write: (bytes) => w.write(bytes),
        async commit(mediaType) {
          const { hash } = await w.commit();
          (owners.get(hash) ?? owners.set(hash, new Set()).get(hash)!).add(task.tenant);
          types.set(hash, mediaType);
          return hash;
        },
        abort: () => w.abort(),
      };
    },
  };
}

let seq = 0;
/** A task with fresh ids. */
export function task(plugin: StepTask['plugin'], inputs: Record<string, unknown> = {}, extra: Partial<StepTask> = {}): StepTask {
  seq++;
  return { plugin, inputs, tenant: 'demo', runId: uuidv7(), stepId: `s${seq}`, attempt: 1, timeoutMs: 30_000, ...extra };
}

/**
 * The settings the engine's own tests run pools with: the server's defaults are made in
 * `cli/config.ts` (`workerPoolSettings`), which engine code, tests beside it included, may not
 * import (the layer rule). Plain values a test reads here, not a second set of defaults: a test
 * that depends on one (the 4 MiB log cap of pool.test.ts) depends on this object.
 */
export function testPoolSettings(): Omit<WorkerPoolOptions, 'registry' | 'artifacts'> {
  return {
    size: 1,
    perWorkerConcurrency: 8,
    workDir: workRoot(),
    pluginUser: 'nobody',
    maxHosts: 16,
    hostIdleMs: 60_000,
    abortGraceMs: ABORT_GRACE_MS,
    maxOutputBytes: DEFAULT_MAX_OUTPUT_BYTES,
    maxLogBytes: 4 * 1024 * 1024,
  };
}

export interface TestPool {
  pool: WorkerPool;
  store: ArtifactStore;
  io: ReturnType<typeof tenantArtifacts>;
  output: string[];
  workDir: string;
}

/** A started pool over the fixture plugins and the sample plugins. Close it with `pool.close()`. */
export async function startPool(options: Partial<WorkerPoolOptions> = {}): Promise<TestPool> {
  const dir = tempDir();
  const store = new ArtifactStore(join(dir, 'artifacts'));
  const io = tenantArtifacts(store);
  const output: string[] = [];
  const settings = testPoolSettings();
  const pool = new WorkerPool({
    ...settings,
    registry: loadPlugins([GOOD_FIXTURES, SAMPLE_PLUGINS]),
    artifacts: io,
    abortGraceMs: 500,
    workerOutput: (chunk) => void output.push(chunk),
    ...options,
  });
  await pool.start();
  return { pool, store, io, output, workDir: options.workDir ?? settings.workDir };
}

/** Parses an NDJSON log. */
export function logLines(logs: string): Array<Record<string, unknown>> {
  return logs
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/**
 * Pids of `sleep N.<tag>` processes, seen from this (the outermost) PID namespace: tests mark
 * the processes a step starts with unique sleep durations and look for them in /proc.
 */
export function sleepers(tag: string): number[] {
  const pids: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const argv = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0');
      if (argv[0]?.endsWith('sleep') && argv[1]?.endsWith(`.${tag}`)) pids.push(Number(d));
    } catch {
      /* gone */
    }
  }
  return pids;
}
