/** serve flags of the plugin sandbox (docs/SECURITY.md): defaults and refusals. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseFlags, UsageError } from './args.js';
import { SERVE_FLAGS, serveConfig } from './config.js';

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
