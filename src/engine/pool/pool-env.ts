/**
 * What every plugin host of a pool shares, prepared once: the sandbox found on this machine
 * (`sandbox.ts`), the pool's own folder in the work root (0711: plugin copies and, from source,
 * the host bundle; removed on close), the host runtime, and the read-only plugin copies
 * (`plugin-stage.ts`). When hosts switch user, every path they need is checked to be reachable
 * by that user first, so a folder that blocks is named at start-up rather than as a host crash.
 *
 * @example
 * const env = new HostEnv(settings);
 * const { runtime, sandbox } = await env.prepare();
 * await env.stage(plugin); env.refFor(plugin); // what a worker imports
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync } from 'node:fs';
import { chown, mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { hostRuntime, type HostRuntime } from '../../core/runtime.js';
import { PluginStage } from '../plugins/stage.js';
import type { PluginRef } from './protocol.js';
import type { PoolSettings } from './pool-types.js';
import type { ResolvedPlugin } from '../plugins/plugins.js';
import { detectSandbox, resolveUser, unreachableReason, type Sandbox } from './sandbox.js';

export interface Prepared {
  runtime: HostRuntime;
  sandbox: Sandbox;
  stage: PluginStage;
}

/** Host folders and pool folders a killed server left behind (its successor removes them). */
const LEFTOVER = /^(\.pool-[0-9a-f]{16}|h\d+-[0-9a-f]{12})$/;

async function sweep(workDir: string): Promise<void> {
  const names = await readdir(workDir).catch(() => [] as string[]);
  await Promise.all(names.filter((n) => LEFTOVER.test(n)).map((n) => rm(join(workDir, n), { recursive: true, force: true }).catch(() => undefined)));
}

export class HostEnv {
  private ready: Promise<Prepared> | null = null;
  private readonly staged = new Map<string, { dir: string; ref: PluginRef }>();
  private ownDir: string | null = null;

  constructor(private readonly o: PoolSettings) {}

  /** Once (again after a failure): the sandbox probe, the folders, the runtime. */
  prepare(): Promise<Prepared> {
    this.ready ??= this.doPrepare();
    this.ready.catch(() => (this.ready = null));
    return this.ready;
  }

  private async doPrepare(): Promise<Prepared> {
    const env: Record<string, string> = {};
    for (const n of this.o.pluginEnv) if (process.env[n] !== undefined) env[n] = process.env[n]!;
    const sandbox = detectSandbox({ user: resolveUser(this.o.pluginUser), env });
    if (sandbox.isolation === 'none') {
      this.o.warn('plugin hosts run without namespaces (unshare unavailable or refused): network:false is not enforced and exec programs are contained by process groups only (docs/SECURITY.md)');
    }
    if (!sandbox.user) {
      this.o.warn("plugin hosts run as the server's own user (the server is not root): only Node's permission model keeps plugins out of the data folder, and exec programs are not under it (docs/SECURITY.md)");
    }
    if (this.o.ownsWorkDir) await sweep(this.o.workDir);
    const own = join(this.o.workDir, `.pool-${randomBytes(8).toString('hex')}`);
    mkdirSync(own, { recursive: true, mode: 0o711 });
    chmodSync(this.o.workDir, 0o711);
    chmodSync(own, 0o711);
    this.ownDir = own;
    const runtime = await hostRuntime(join(own, 'runtime'));
    if (sandbox.user) {
      const needs: Array<[string, 'r' | 'x']> = [[runtime.command, 'x'], ...runtime.readPaths.map((r): [string, 'r'] => [r, 'r']), [this.o.workDir, 'x']];
      for (const [p, need] of needs) {
        const why = unreachableReason(p, sandbox.user, need);
        if (why) throw new Error(`plugin hosts run as ${sandbox.user.name}, who cannot reach ${p}: ${why}`);
      }
    }
    return { runtime, sandbox, stage: new PluginStage(join(own, 'plugins'), (m) => this.o.warn(m)) };
  }

  /** Whether a folder plugin's read-only copy is ready (built-ins need none). */
  isStaged(p: ResolvedPlugin): boolean {
    return p.builtin || this.staged.has(p.hash);
  }

  /** Prepares a folder plugin's copy; rejects (StepError PLUGIN_LOAD_FAILED) when it cannot be. */
  async stage(p: ResolvedPlugin): Promise<void> {
    const { stage } = await this.prepare();
    const s = await stage.prepare(p)!;
    this.staged.set(p.hash, { dir: s.dir, ref: s.workerRef });
  }

  /** Stages each plugin; returns those that could be (one that cannot is reported and left out: its own steps fail with the reason). */
  async stageAll(plugins: ResolvedPlugin[]): Promise<ResolvedPlugin[]> {
    const ok: ResolvedPlugin[] = [];
    for (const p of plugins) {
      try {
        await this.stage(p);
        ok.push(p);
      } catch (err) {
        this.o.warn('a plugin could not be copied for plugin hosts', { plugin: p.ref, error: (err as Error).message });
      }
    }
    return ok;
  }

  /** A fresh work folder for host `id`: random name, 0700, owned by the plugin user. */
  async hostFolder(id: number): Promise<string> {
    const { sandbox } = await this.prepare();
    const dir = join(this.o.workDir, `h${id}-${randomBytes(6).toString('hex')}`);
    await mkdir(dir, { mode: 0o700 });
    if (sandbox.user) await chown(dir, sandbox.user.uid, sandbox.user.gid);
    return dir;
  }

  /** The copy's folder (a host's read grant) of a staged folder plugin. */
  dirOf(p: ResolvedPlugin): string {
    return this.staged.get(p.hash)!.dir;
  }

  /** What a worker runs for this plugin (the staged copy for folder plugins). */
  refFor(p: ResolvedPlugin): PluginRef {
    return p.builtin ? p.workerRef : this.staged.get(p.hash)!.ref;
  }

  /** Removes the pool's own folder (its hosts are gone). */
  async cleanup(): Promise<void> {
    if (this.ownDir) await rm(this.ownDir, { recursive: true, force: true }).catch(() => undefined);
  }
}
