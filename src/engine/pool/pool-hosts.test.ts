/**
 * Plugin hosts (src/engine/pool-hosts.ts): which process a step runs in, as which user, and the
 * hosts' life cycle — per-tenant separation, profiles, the cap, idle retirement, a host that is
 * killed from outside, a plugin changed on disk since it was loaded.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPlugins } from '../plugins/plugins.js';
import { until } from '../../../test/helpers/wait.js';
import { GOOD_FIXTURES, startPool, task } from './test-support.js';
import type { StepResult } from './pool-types.js';

const root = process.getuid?.() === 0;

function outputs(r: StepResult): Record<string, any> {
  assert.equal(r.status, 'completed', JSON.stringify(r));
  return (r as Extract<StepResult, { status: 'completed' }>).outputs;
}

const whoami = (tenant: string) => task('misbehave', { mode: 'whoami' }, { tenant });

test('each tenant gets its own host process; a tenant\'s steps share theirs; hosts run as the plugin user with an empty environment', async () => {
  const { pool } = await startPool({ size: 1, pluginEnv: ['STELLA_PASSED'] });
  process.env.STELLA_PASSED = 'yes'; // read when the sandbox is prepared: start() did that already
  try {
    const a1 = outputs(await pool.run(whoami('a')));
    const a2 = outputs(await pool.run(whoami('a')));
    const b = outputs(await pool.run(whoami('b')));
    assert.equal(a1.host, a2.host, 'one host for tenant a');
    assert.notEqual(a1.host, b.host, 'tenants never share a process');
    assert.notEqual(a1.pid, process.pid);
    if (root) {
      assert.equal(a1.uid, 65534, 'the plugin user (nobody), not root');
      assert.equal(a1.pid, 1, 'PID 1 of its own PID namespace');
    }
    assert.deepEqual(a1.envNames, ['HOME', 'NODE_OPTIONS', 'TMPDIR'], 'nothing of the server\'s environment');
    assert.equal(pool.stats().hosts, 3, 'a, b and a fresh spare');
  } finally {
    delete process.env.STELLA_PASSED;
    await pool.close(1000);
  }
});

test('--plugin-env names reach the hosts; nothing else does', async () => {
  process.env.STELLA_PASSED = 'yes';
  process.env.STELLA_NOT_PASSED = 'no';
  const { pool } = await startPool({ size: 1, pluginEnv: ['STELLA_PASSED'] });
  try {
    assert.deepEqual(outputs(await pool.run(whoami('a'))).envNames, ['HOME', 'NODE_OPTIONS', 'STELLA_PASSED', 'TMPDIR']);
  } finally {
    delete process.env.STELLA_PASSED;
    delete process.env.STELLA_NOT_PASSED;
    await pool.close(1000);
  }
});

test('at most maxHosts processes: an idle host makes room; every step of every tenant completes', async () => {
  const { pool } = await startPool({ size: 1, maxHosts: 2 });
  try {
    for (const tenant of ['t1', 't2', 't3', 't4', 't1']) {
      outputs(await pool.run(task('echo', { tenant }, { tenant })));
      assert.ok(pool.stats().hosts <= 2, `hosts: ${pool.stats().hosts}`);
    }
    const burst = await Promise.all(['t5', 't6', 't7'].map((tenant) => pool.run(task('sleep', { ms: 50 }, { tenant }))));
    for (const r of burst) outputs(r);
  } finally {
    await pool.close(1000);
  }
});

test('an idle host is retired after hostIdleMs', async () => {
  const { pool } = await startPool({ size: 1, hostIdleMs: 300 });
  try {
    outputs(await pool.run(task('echo', {}, { tenant: 'idle' })));
    // The step took the spare and a new spare is started meanwhile: the count right after the
    // step may or may not include it yet, so look for the tenant's host and the spare themselves.
    const hosts = (pool as unknown as { hosts: { hosts: Set<{ tenant: string | null }> } }).hosts.hosts;
    assert.ok([...hosts].some((h) => h.tenant === 'idle'), 'the tenant has a host');
    await until(() => ![...hosts].some((h) => h.tenant === 'idle'), 'the idle tenant host went away', 10_000);
    await until(() => hosts.size === 1 && [...hosts][0]!.tenant === null, 'the spare stays', 10_000);
  } finally {
    await pool.close(1000);
  }
});

test('a host killed from outside fails its steps WORKER_LOST; the tenant\'s next step gets a new host', async () => {
  const { pool } = await startPool({ size: 1 });
  try {
    const host = outputs(await pool.run(whoami('k')));
    const running = pool.run(task('sleep', { ms: 30_000 }, { tenant: 'k' }));
    await until(() => pool.stats().running === 1, 'the step runs', 10_000);
    const h = [...(pool as unknown as { hosts: { hosts: Set<{ tenant: string | null; kill(): void }> } }).hosts.hosts].find((x) => x.tenant === 'k')!;
    h.kill();
    const r = await running;
    assert.equal(r.status, 'failed');
    assert.equal(r.status === 'failed' && r.error.code, 'WORKER_LOST');
    const again = outputs(await pool.run(whoami('k')));
    assert.notEqual(again.host, host.host, 'a new host');
  } finally {
    await pool.close(1000);
  }
});

test('a plugin changed on disk since it was loaded is refused, not run', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'stella-changed-'));
  cpSync(join(GOOD_FIXTURES, 'misbehave'), join(dir, 'misbehave'), { recursive: true });
  const registry = loadPlugins([dir]);
  writeFileSync(join(dir, 'misbehave', 'index.mjs'), 'export default async () => ({ tampered: true });\n');
  const { pool } = await startPool({ size: 1, registry, sharedPlugins: () => [] });
  try {
    const r = await pool.run(whoami('c'));
    assert.equal(r.status, 'failed', JSON.stringify(r));
    assert.equal(r.status === 'failed' && r.error.code, 'PLUGIN_LOAD_FAILED');
    assert.match(r.status === 'failed' ? r.error.message : '', /changed on disk/);
  } finally {
    await pool.close(1000);
  }
});

test('a tenant\'s own plugin is copied only for that tenant\'s hosts: another tenant\'s host cannot read it', async () => {
  const data = mkdtempSync(join(tmpdir(), 'stella-own-'));
  const own = join(data, 'tenant-plugins', 'a', 'secret-a@1.0.0');
  mkdirSync(own, { recursive: true });
  writeFileSync(join(own, 'plugin.json'), JSON.stringify({ name: 'secret-a', version: '1.0.0', entry: 'index.mjs' }));
  writeFileSync(join(own, 'index.mjs'), 'export default async () => ({ secret: "only for a" });\n');
  const registry = loadPlugins({ operator: [GOOD_FIXTURES], tenantRoot: join(data, 'tenant-plugins') });
  const secret = registry.resolveFor('a', 'secret-a')!;
  assert.ok(secret && secret.owner === 'a');
  const { pool, workDir } = await startPool({ size: 1, registry });
  try {
    assert.deepEqual(outputs(await pool.run(task(secret, {}, { tenant: 'a' }))), { secret: 'only for a' });
    const copies = readdirSync(workDir, { recursive: true, withFileTypes: true })
      .filter((d) => d.isDirectory() && d.name === secret.hash)
      .map((d) => join(d.parentPath, d.name, 'index.mjs'));
    assert.ok(copies.length > 0, 'the server copied the plugin for a\'s host');
    for (const path of copies) {
      assert.deepEqual(outputs(await pool.run(task('misbehave', { mode: 'read-file', path }, { tenant: 'b' }))), { refused: 'ERR_ACCESS_DENIED' }, path);
    }
  } finally {
    await pool.close(1000);
  }
});
