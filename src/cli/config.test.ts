/** serve flags of the plugin sandbox (docs/SECURITY.md) and of a node (docs/SCALE-OUT.md): defaults and refusals. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseFlags, UsageError } from './args.js';
import { SERVE_FLAGS, schedulerNode, serveConfig } from './config.js';

const config = (argv: string[]) => serveConfig(parseFlags(argv, SERVE_FLAGS, {}).flags);

test('sandbox defaults: plugin user nobody, work folder beside the data folder, nothing passed or allowed', () => {
  const c = config(['--data-dir', '/srv/data']);
  assert.deepEqual(
    { user: c.pluginUser, work: c.workDir, env: c.pluginEnv, net: c.pluginNetwork, execEnv: c.execEnvAllow, hosts: c.maxHosts, idle: c.hostIdleMs },
    { user: 'nobody', work: '/srv/data-work', env: [], net: [], execEnv: [], hosts: 16, idle: 60_000 },
  );
  const d = config(['--data-dir', '/srv/data', '--work-dir', '/var/work', '--plugin-env', 'DATABASE_URL', '--exec-env-allow', 'GREETING', '--plugin-network', 'fetcher', '--max-hosts', '4', '--host-idle-timeout', '5']);
  assert.deepEqual([d.workDir, d.pluginEnv, d.execEnvAllow, d.pluginNetwork, d.maxHosts, d.hostIdleMs], ['/var/work', ['DATABASE_URL'], ['GREETING'], ['fetcher'], 4, 5000]);
});

test('a work folder inside (or around) the data folder, a refused variable name, or a bad count stop start-up', () => {
  for (const argv of [
    ['--data-dir', '/srv/data', '--work-dir', '/srv/data/work'],
    ['--data-dir', '/srv/data', '--work-dir', '/srv/data'],
    ['--data-dir', '/srv/data', '--work-dir', '/srv'],
    ['--exec-env-allow', 'LD_PRELOAD'],
    ['--exec-env-allow', 'bash_env'],
    ['--exec-env-allow', 'NOT-A-NAME'],
    ['--plugin-env', 'NODE_OPTIONS'],
    ['--max-hosts', '0'],
  ]) {
    assert.throws(() => config(argv), UsageError, argv.join(' '));
  }
  assert.doesNotThrow(() => config(['--data-dir', '/srv/data', '--work-dir', '/srv/data-work']));
});

test('node flags: a node id of its own by default, the lease and a heartbeat every third of it; a bad id or lease stops start-up', () => {
  const a = config([]);
  const b = config([]);
  assert.match(a.nodeId, /^\S+-\d+-[0-9a-f]{8}$/);
  assert.notEqual(a.nodeId, b.nodeId, 'two servers started alike are two nodes');
  assert.deepEqual(schedulerNode(a), { id: a.nodeId, leaseMs: 10_000, heartbeatMs: 3333 });
  assert.deepEqual(schedulerNode(config(['--node-id', 'db-1', '--lease-timeout', '30'])), { id: 'db-1', leaseMs: 30_000, heartbeatMs: 10_000 });
  for (const argv of [['--node-id', 'has space'], ['--node-id', ''], ['--node-id', 'x'.repeat(201)], ['--lease-timeout', '0'], ['--lease-timeout', '2.5']]) {
    assert.throws(() => config(argv), UsageError, argv.join(' '));
  }
});

test('store flags: SQLite in the data folder by default; --store takes a PostgreSQL URL only, --artifacts-dir needs it and keeps plugin hosts out', () => {
  const d = config(['--data-dir', '/srv/data']);
  assert.deepEqual([d.store, d.artifactsDir], [undefined, '/srv/data/artifacts']);
  const p = config(['--data-dir', '/srv/data', '--store', 'postgres://orch@db:5432/orch', '--artifacts-dir', '/mnt/nfs/artifacts']);
  assert.deepEqual([p.store, p.artifactsDir], ['postgres://orch@db:5432/orch', '/mnt/nfs/artifacts']);
  assert.equal(config(['--store', 'postgresql://db/orch']).store, 'postgresql://db/orch');
  for (const argv of [
    ['--store', 'mysql://db/orch'],
    ['--store', '/srv/data/orchestrator.db'],
    ['--artifacts-dir', '/mnt/nfs/artifacts'], // without --store: the artifacts belong with the SQLite folder's backups
    ['--store', 'postgres://db/orch', '--artifacts-dir', '/mnt/nfs', '--work-dir', '/mnt/nfs/work'],
    ['--store', 'postgres://db/orch', '--artifacts-dir', '/mnt/nfs/artifacts', '--work-dir', '/mnt/nfs'],
  ]) {
    assert.throws(() => config(argv), UsageError, argv.join(' '));
  }
});
